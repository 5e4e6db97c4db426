"""Normalization and validation of customer fields, shared by the services and the CSV import.

Every function here is pure (no database): uniqueness of the email is checked by the callers,
set-based for imports and per row for the services, with the database constraint as last word.
Errors are ``django.core.exceptions.ValidationError`` keyed by field, each message carrying a
``CustomerErrorCode`` value as its ``code``.
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import cache
from typing import Any

from babel import Locale
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _
from stdnum.exceptions import ValidationError as StdnumValidationError

from customers.error_codes import CustomerErrorCode as Code

# Fields a customer service accepts, with their maximum length (None: unbounded text).
CUSTOMER_FIELDS: dict[str, int | None] = {
    "name": 200,
    "email": 254,
    "phone": 32,
    "country": 60,  # a code or a name; normalized to the ISO code
    "tax_id": 32,
    "address_line1": 200,
    "address_line2": 200,
    "city": 100,
    "region": 100,
    "postal_code": 20,
    "locale": 10,
    "notes": 5000,
}

LOCALES = ("es-419", "en")
METADATA_MAX_KEYS = 50
METADATA_MAX_KEY_LENGTH = 40
METADATA_MAX_BYTES = 8000


def _error(field: str, message, code: Code, params: dict | None = None) -> ValidationError:
    return ValidationError({field: [ValidationError(message, code=code.value, params=params)]})


@cache
def _territories() -> dict[str, dict[str, str]]:
    """ISO 3166 alpha-2 codes -> names per language (babel's CLDR data)."""
    return {
        lang: {
            code: name
            for code, name in Locale.parse(lang).territories.items()
            if len(code) == 2 and code.isalpha() and code not in ("ZZ", "EU", "EZ", "UN", "QO")
        }
        for lang in ("es", "en")
    }


def _fold(text: str) -> str:
    """Case- and accent-insensitive form of a name (``México`` -> ``mexico``)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@cache
def _country_lookup() -> dict[str, str]:
    """Folded code or name (Spanish or English) -> ISO code."""
    lookup: dict[str, str] = {}
    for names in _territories().values():
        for code, name in names.items():
            lookup[code.casefold()] = code
            lookup[_fold(name)] = code
    lookup.update({"eeuu": "US", "ee.uu.": "US", "usa": "US", "uk": "GB"})
    return lookup


def country_choices(language: str = "es") -> list[tuple[str, str]]:
    lang = "en" if language.startswith("en") else "es"
    names = _territories()[lang]
    return sorted(names.items(), key=lambda item: item[1])


def country_name(code: str, language: str = "es") -> str:
    lang = "en" if language.startswith("en") else "es"
    return _territories()[lang].get(code, code)


def normalize_country(value: str) -> str:
    """An ISO 3166 alpha-2 code from a code or a country name in Spanish or English."""
    raw = (value or "").strip()
    lookup = _country_lookup()
    code = lookup.get(_fold(raw))
    if not code:
        raise _error(
            "country",
            _("“%(value)s” is not a country. Use a two-letter code such as CL, AR or MX."),
            Code.INVALID_COUNTRY,
            {"value": raw},
        )
    return code


def normalize_email(value: str) -> str:
    email = (value or "").strip().lower()
    if not email:
        raise _error("email", _("Enter an email address."), Code.REQUIRED)
    try:
        validate_email(email)
    except ValidationError:
        raise _error(
            "email",
            _("“%(value)s” is not a valid email address."),
            Code.INVALID_EMAIL,
            {"value": email},
        ) from None
    return email


def _tax_module(country: str):
    if country == "CL":
        from stdnum.cl import rut

        return rut, _("RUT")
    if country == "AR":
        from stdnum.ar import cuit

        return cuit, _("CUIT")
    if country == "MX":
        from stdnum.mx import rfc

        return rfc, _("RFC")
    return None, None


def normalize_tax_id(value: str, country: str) -> str:
    """Chile's RUT, Argentina's CUIT and Mexico's RFC are checked (check digit included where
    the scheme has one) and stored formatted (``12.345.678-5``, ``20-26756539-3``,
    ``GODE561231GR8``); other countries' tax ids are free text."""
    raw = (value or "").strip()
    if not raw:
        return ""
    module, label = _tax_module(country)
    if module is None:
        return re.sub(r"\s+", " ", raw)
    try:
        compact = module.validate(raw)
    except StdnumValidationError:
        raise _error(
            "tax_id",
            _("“%(value)s” is not a valid %(kind)s."),
            Code.INVALID_TAX_ID,
            {"value": raw, "kind": label},
        ) from None
    # Chile and Argentina write them formatted; Mexico's RFC is written compact.
    return compact if country == "MX" else module.format(compact)


_PHONE_SEPARATORS = re.compile(r"[\s\-().\u00a0/]")


def normalize_phone(value: str) -> str:
    """Light normalization: separators removed, ``00`` prefix turned into ``+``, 6 to 15 digits
    (E.164's maximum). The number is not reinterpreted with a country code."""
    raw = (value or "").strip()
    if not raw:
        return ""
    phone = _PHONE_SEPARATORS.sub("", raw)
    if phone.startswith("00"):
        phone = "+" + phone[2:]
    digits = phone[1:] if phone.startswith("+") else phone
    if not digits.isdigit() or not 6 <= len(digits) <= 15:
        raise _error(
            "phone",
            _("“%(value)s” is not a phone number. Use digits, e.g. +56 9 1234 5678."),
            Code.INVALID_PHONE,
            {"value": raw},
        )
    return phone


def normalize_locale(value: str) -> str:
    raw = (value or "").strip()
    if not raw:
        return LOCALES[0]
    lowered = raw.lower().replace("_", "-")
    if lowered.startswith("es") or lowered in ("español", "espanol", "spanish"):
        return "es-419"
    if lowered.startswith("en") or lowered in ("english", "inglés", "ingles"):
        return "en"
    raise _error(
        "locale",
        _("“%(value)s” is not a supported language. Use es-419 or en."),
        Code.INVALID_LOCALE,
        {"value": raw},
    )


def normalize_metadata(value: Any) -> dict[str, Any]:
    """A JSON object with string keys (at most 50 keys of 40 characters, 8 kB in all)."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise _error(
                "metadata", _("Metadata must be valid JSON."), Code.INVALID_METADATA
            ) from None
    if not isinstance(value, dict):
        raise _error(
            "metadata",
            _('Metadata must be a JSON object, like {"plan": "gold"}.'),
            Code.INVALID_METADATA,
        )
    for key in value:
        if not isinstance(key, str) or not key.strip():
            raise _error(
                "metadata", _("Metadata keys must be non-empty text."), Code.INVALID_METADATA
            )
        if len(key) > METADATA_MAX_KEY_LENGTH:
            raise _error(
                "metadata",
                _("Metadata keys can have at most %(limit)d characters."),
                Code.INVALID_METADATA,
                {"limit": METADATA_MAX_KEY_LENGTH},
            )
    if len(value) > METADATA_MAX_KEYS:
        raise _error(
            "metadata",
            _("Metadata can have at most %(limit)d keys."),
            Code.INVALID_METADATA,
            {"limit": METADATA_MAX_KEYS},
        )
    try:
        encoded = json.dumps(value)
    except (TypeError, ValueError):
        raise _error(
            "metadata", _("Metadata values must be JSON values."), Code.INVALID_METADATA
        ) from None
    if len(encoded.encode()) > METADATA_MAX_BYTES:
        raise _error(
            "metadata",
            _("Metadata is too large (at most %(limit)d bytes)."),
            Code.INVALID_METADATA,
            {"limit": METADATA_MAX_BYTES},
        )
    return value


def customer_clean(values: dict[str, Any], *, default_country: str) -> dict[str, Any]:
    """Normalize and validate every given field; collects all errors into one ValidationError.

    ``values`` may hold any subset of the customer fields plus ``metadata``; the tax id is
    checked against ``values["country"]`` or else ``default_country``.
    """
    errors: dict[str, list[ValidationError]] = {}
    cleaned: dict[str, Any] = {}

    def collect(exc: ValidationError) -> None:
        for field, field_errors in exc.error_dict.items():
            errors.setdefault(field, []).extend(field_errors)

    for field in values:
        if field not in CUSTOMER_FIELDS and field != "metadata":
            raise TypeError(f"unknown customer field {field!r}")

    text_fields = [f for f in CUSTOMER_FIELDS if f in values]
    for field in text_fields:
        raw = values[field]
        text = "" if raw is None else str(raw).strip()
        limit = CUSTOMER_FIELDS[field]
        if limit is not None and len(text) > limit:
            errors.setdefault(field, []).append(
                ValidationError(
                    _("At most %(limit)d characters."),
                    code=Code.TOO_LONG.value,
                    params={"limit": limit},
                )
            )
            continue
        cleaned[field] = text

    if "name" in cleaned and not cleaned["name"]:
        errors.setdefault("name", []).append(
            ValidationError(_("Enter the customer's name."), code=Code.REQUIRED.value)
        )
    normalizers = {
        "email": normalize_email,
        "phone": normalize_phone,
        "locale": normalize_locale,
    }
    for field, normalize in normalizers.items():
        if field in cleaned:
            try:
                cleaned[field] = normalize(cleaned[field])
            except ValidationError as exc:
                collect(exc)

    country = default_country
    if "country" in cleaned:
        if cleaned["country"]:
            try:
                cleaned["country"] = country = normalize_country(cleaned["country"])
            except ValidationError as exc:
                collect(exc)
                country = ""
        else:
            cleaned["country"] = default_country
    if "tax_id" in cleaned and country:
        try:
            cleaned["tax_id"] = normalize_tax_id(cleaned["tax_id"], country)
        except ValidationError as exc:
            collect(exc)
    if "metadata" in values:
        try:
            cleaned["metadata"] = normalize_metadata(values["metadata"])
        except ValidationError as exc:
            collect(exc)

    if errors:
        raise ValidationError(errors)
    return cleaned
