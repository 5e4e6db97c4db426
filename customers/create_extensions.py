"""Extra fields of the staff "new customer" form contributed by higher layers (e.g. loyalty's
referral code) without customers importing them.

An extension names an optional form field, validates its value before anything is written
(raise ``django.core.exceptions.ValidationError`` with a translated message) and applies it
to the new customer inside the same transaction as ``customer_create``; a ``ValidationError``
from ``apply`` rolls the customer back too, so bad input changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms


@dataclass(frozen=True)
class CustomerCreateExtension:
    name: str
    field: Callable[[], forms.Field]
    # (organization, value, email) -> None; raises ValidationError. Only called for a value.
    validate: Callable[[Any, Any, str], None]
    # (customer, value, actor, request) -> None; raises ValidationError. Only for a value.
    apply: Callable[[Any, Any, Any, Any], None]


_extensions: dict[str, CustomerCreateExtension] = {}


def customer_create_extension_register(extension: CustomerCreateExtension) -> None:
    _extensions[extension.name] = extension


def customer_create_extensions() -> list[CustomerCreateExtension]:
    return list(_extensions.values())
