"""The end customer of an organization."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from cobro.fields import EncryptedTextField
from cobro.models import TenantModel


class Customer(TenantModel):
    """Someone an organization bills. Personal data beyond name and email is encrypted."""

    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("email"))
    phone = EncryptedTextField(_("phone"), blank=True)
    country = models.CharField(_("country"), max_length=2, default="CL")
    tax_id = EncryptedTextField(_("tax id"), blank=True)
    address_line1 = EncryptedTextField(_("address"), blank=True)
    address_line2 = EncryptedTextField(_("address (line 2)"), blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    region = models.CharField(_("region"), max_length=100, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    locale = models.CharField(_("language"), max_length=10, default="es-419")
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    notes = EncryptedTextField(_("notes"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                "organization", Lower("email"), name="customer_unique_email_per_org"
            )
        ]
        indexes = [
            models.Index(fields=["organization", "created_at"], name="customer_org_created"),
            models.Index(fields=["organization", "name", "id"], name="customer_org_name"),
            # The list's country filter offers the countries in use: a skip scan of this index.
            models.Index(fields=["organization", "country"], name="customer_org_country"),
            # Trigram indexes for the substring search live in migration 0003 (raw SQL).
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"
