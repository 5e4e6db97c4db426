"""Write side of customers: create and update, with every field normalized and validated.

Errors are one ``django.core.exceptions.ValidationError`` keyed by field (``error_dict``), each
message carrying a ``customers.error_codes.CustomerErrorCode`` value as its ``code``; a form can
hand it to ``form.add_error(None, exc)`` and an API can serialize ``exc.message_dict``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from cobro.events import event_emit
from cobro.models import Organization
from customers.error_codes import CustomerErrorCode as Code
from customers.models import Customer
from customers.validation import CUSTOMER_FIELDS, customer_clean, normalize_email

UNIQUE_EMAIL_CONSTRAINT = "customer_unique_email_per_org"
EDITABLE_FIELDS = frozenset(CUSTOMER_FIELDS) | {"metadata"}


def duplicate_email_error(email: str) -> ValidationError:
    return ValidationError(
        {
            "email": [
                ValidationError(
                    _("A customer with the email %(email)s already exists."),
                    code=Code.DUPLICATE_EMAIL.value,
                    params={"email": email},
                )
            ]
        }
    )


def _email_taken(*, organization: Organization, email: str, exclude_pk: int | None) -> bool:
    qs = Customer.unscoped.filter(organization=organization, email__iexact=email)
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    return qs.exists()


def _clean(
    values: dict[str, Any],
    *,
    organization: Organization,
    default_country: str,
    exclude_pk: int | None,
) -> dict[str, Any]:
    """``customer_clean`` plus the duplicate-email check, all errors reported together."""
    errors: dict[str, list[ValidationError]] = {}
    cleaned: dict[str, Any] = {}
    try:
        cleaned = customer_clean(values, default_country=default_country)
    except ValidationError as exc:
        errors = dict(exc.error_dict)
    if "email" in values and "email" not in errors:
        email = normalize_email(values["email"])
        if _email_taken(organization=organization, email=email, exclude_pk=exclude_pk):
            errors.update(duplicate_email_error(email).error_dict)
    if errors:
        raise ValidationError(errors)
    return cleaned


def _save(customer: Customer, *, organization: Organization, **save_kwargs) -> None:
    """Save inside a savepoint so the unique constraint (the last word on duplicate emails,
    e.g. two requests racing) turns into a field error instead of a broken transaction."""
    try:
        with transaction.atomic():
            customer.save(**save_kwargs)
    except IntegrityError as exc:
        if UNIQUE_EMAIL_CONSTRAINT in str(exc):
            raise duplicate_email_error(customer.email) from None
        raise


@transaction.atomic
def customer_create(
    *,
    organization: Organization,
    name: str,
    email: str,
    phone: str = "",
    country: str = "",
    tax_id: str = "",
    address_line1: str = "",
    address_line2: str = "",
    city: str = "",
    region: str = "",
    postal_code: str = "",
    locale: str = "",
    metadata: dict[str, Any] | str | None = None,
    notes: str = "",
) -> Customer:
    """Create a customer. ``country`` defaults to the organization's; ``locale`` to es-419."""
    values = {
        "name": name,
        "email": email,
        "phone": phone,
        "country": country,
        "tax_id": tax_id,
        "address_line1": address_line1,
        "address_line2": address_line2,
        "city": city,
        "region": region,
        "postal_code": postal_code,
        "locale": locale,
        "metadata": metadata,
        "notes": notes,
    }
    cleaned = _clean(
        values, organization=organization, default_country=organization.country, exclude_pk=None
    )
    customer = Customer(organization=organization, **cleaned)
    _save(customer, organization=organization)
    event_emit(
        organization=organization,
        type="customer.created",
        payload={"customer_id": customer.pk},
        subject=customer,
    )
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, **changes: Any) -> Customer:
    """Change some fields of ``customer`` (any of ``EDITABLE_FIELDS``). When only the country
    changes, the stored tax id is checked again against the new country."""
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise TypeError(f"customer_update() got unknown fields: {', '.join(sorted(unknown))}")
    organization = customer.organization
    values = dict(changes)
    if "country" in values and "tax_id" not in values:
        values["tax_id"] = customer.tax_id
    cleaned = _clean(
        values,
        organization=organization,
        default_country=customer.country or organization.country,
        exclude_pk=customer.pk,
    )
    changed = [field for field, value in cleaned.items() if getattr(customer, field) != value]
    if not changed:
        return customer
    for field in changed:
        setattr(customer, field, cleaned[field])
    _save(customer, organization=organization, update_fields=[*changed, "updated_at"])
    event_emit(
        organization=organization,
        type="customer.updated",
        payload={"customer_id": customer.pk, "changed": sorted(changed)},
        subject=customer,
    )
    return customer
