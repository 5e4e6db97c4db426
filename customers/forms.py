"""Dashboard forms. They only parse input; the services validate and normalize."""

from __future__ import annotations

import json

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from customers.create_extensions import customer_create_extensions
from customers.services.imports import MAX_UPLOAD_BYTES
from customers.validation import country_choices, country_name

LOCALE_CHOICES = [("es-419", _("Spanish")), ("en", _("English"))]


class CustomerFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    country = forms.ChoiceField(label=_("Country"), required=False)
    locale = forms.ChoiceField(
        label=_("Language"), required=False, choices=[("", _("All")), *LOCALE_CHOICES]
    )
    ordering = forms.ChoiceField(
        label=_("Order by"),
        required=False,
        choices=[
            ("name", _("Name (A–Z)")),
            ("-name", _("Name (Z–A)")),
            ("email", _("Email")),
            ("-created", _("Newest first")),
            ("created", _("Oldest first")),
            ("-email", _("Email (Z–A)")),
            ("city", _("City")),
            ("-city", _("City (Z–A)")),
        ],
    )

    def __init__(self, *args, countries: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        language = get_language() or "es"
        country_field = self.fields["country"]
        assert isinstance(country_field, forms.ChoiceField)
        country_field.choices = [
            ("", _("All")),
            *[(code, country_name(code, language)) for code in countries],
        ]


class CustomerForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    email = forms.CharField(label=_("Email"), max_length=254, widget=forms.EmailInput)
    phone = forms.CharField(label=_("Phone"), required=False, max_length=32)
    country = forms.ChoiceField(label=_("Country"))
    tax_id = forms.CharField(
        label=_("Tax id"),
        required=False,
        max_length=32,
        help_text=_("RUT in Chile, CUIT in Argentina, RFC in Mexico; checked for those."),
    )
    address_line1 = forms.CharField(
        label=pgettext_lazy("postal address", "Address"), required=False, max_length=200
    )
    address_line2 = forms.CharField(label=_("Address (line 2)"), required=False, max_length=200)
    city = forms.CharField(label=_("City"), required=False, max_length=100)
    region = forms.CharField(label=_("Region"), required=False, max_length=100)
    postal_code = forms.CharField(label=_("Postal code"), required=False, max_length=20)
    locale = forms.ChoiceField(label=_("Language"), choices=LOCALE_CHOICES)
    metadata = forms.CharField(
        label=_("Metadata"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_('A JSON object, e.g. {"segment": "retail"}.'),
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        country_field = self.fields["country"]
        assert isinstance(country_field, forms.ChoiceField)
        country_field.choices = country_choices(get_language() or "es")

    @staticmethod
    def initial_from(customer) -> dict:
        initial = {name: getattr(customer, name) for name in CustomerForm.base_fields}
        initial["metadata"] = (
            json.dumps(customer.metadata, ensure_ascii=False) if customer.metadata else ""
        )
        return initial


class CustomerCreateForm(CustomerForm):
    """The staff "new customer" form plus the fields other apps contribute
    (``customers.create_extensions``, e.g. an optional referral code)."""

    def __init__(self, *args, organization=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization
        self.extensions = customer_create_extensions()
        for extension in self.extensions:
            self.fields[extension.name] = extension.field()

    @property
    def extension_fields(self) -> list:
        return [self[extension.name] for extension in self.extensions]

    def clean(self):
        data = super().clean()
        for extension in self.extensions:
            value = data.get(extension.name)
            if value and self.organization is not None:
                try:
                    extension.validate(self.organization, value, data.get("email") or "")
                except ValidationError as exc:
                    self.add_error(extension.name, exc)
        return data

    def split(self) -> tuple[dict, dict]:
        """(customer_create kwargs, extension values)."""
        data = dict(self.cleaned_data)
        extras = {e.name: data.pop(e.name, None) for e in self.extensions}
        return data, extras


class CustomerImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    update_existing = forms.BooleanField(
        label=_("Update existing customers"),
        required=False,
        help_text=_(
            "Rows whose email matches a customer update that customer (blank cells keep "
            "what is stored). Otherwise such rows are errors."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _(
            "Columns by header: name, email, phone, tax_id, country, address_line1, city, "
            "region, postal_code, locale, notes (or in Spanish: nombre, correo, telefono, rut, "
            "pais, direccion, ciudad...). UTF-8 or Latin-1, at most %(limit)d MB."
        ) % {"limit": MAX_UPLOAD_BYTES // 1024 // 1024}
