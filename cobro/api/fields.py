"""Strict input fields and the base input serializer of the API."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from cobro.api.error_codes import ApiErrorCode

# Same ceiling as the database check constraints on amounts (minor units).
MAX_AMOUNT_MINOR = 10**15


class StrictIntegerField(serializers.IntegerField):
    """An integer given as a JSON number without a fraction; "12", 12.0 and true are refused."""

    default_error_messages = {ApiErrorCode.NOT_INTEGER.value: _("Must be an integer.")}
    error_code = ApiErrorCode.NOT_INTEGER.value

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail(self.error_code)
        return super().to_internal_value(data)


class MinorUnitsField(StrictIntegerField):
    """An amount in the currency's minor unit (CLP 0 decimals, USD 2, KWD 3): an integer.
    Floats ("19.99") and strings are refused with ``amount_not_integer``."""

    default_error_messages = {
        ApiErrorCode.AMOUNT_NOT_INTEGER.value: _(
            "Amounts are integers in the currency's minor unit (e.g. 1990 for USD 19.90)."
        )
    }
    error_code = ApiErrorCode.AMOUNT_NOT_INTEGER.value

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", MAX_AMOUNT_MINOR)
        super().__init__(**kwargs)


class StrictBooleanField(serializers.BooleanField):
    """A JSON true/false only."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class CurrencyField(serializers.RegexField):
    def __init__(self, **kwargs):
        super().__init__(r"^[A-Za-z]{3}$", max_length=3, **kwargs)

    def to_internal_value(self, data):
        return super().to_internal_value(data).upper()


class InputSerializer(serializers.Serializer):
    """Base of every request body: a JSON object whose fields are all known."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {
                        unknown[0]: [
                            serializers.ErrorDetail(
                                str(_("Unknown field.")), code=ApiErrorCode.UNKNOWN_FIELD
                            )
                        ]
                    }
                )
        return super().to_internal_value(data)
