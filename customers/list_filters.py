"""Filter form of the staff customer list; its cleaned data feeds both the page and the CSV
export through ``customers.selectors.filtered_customers``."""

from __future__ import annotations

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from cobro.listing import ListFilterForm
from customers.forms import LOCALE_CHOICES
from customers.selectors import CUSTOMER_ORDERINGS
from customers.validation import country_name


class CustomerListFilterForm(ListFilterForm):
    SORTS = CUSTOMER_ORDERINGS

    country = forms.ChoiceField(label=_("Country"), required=False)
    locale = forms.ChoiceField(
        label=_("Language"), required=False, choices=[("", _("All")), *LOCALE_CHOICES]
    )
    FILTER_FIELDS = ("q", "date_from", "date_to", "country", "locale")

    def __init__(self, data=None, *args, organization, countries: list[str], **kwargs):
        if data is not None and "ordering" in data and "sort" not in data:
            # Older links (the import summary) say ?ordering=-created.
            data = data.copy()
            data["sort"] = data["ordering"]
        super().__init__(data, *args, **kwargs)
        self.organization = organization
        language = get_language() or "es"
        self.fields["q"].label = _("Name or email")
        self.fields["date_from"].label = _("Added from")
        self.fields["date_to"].label = _("Added to")
        country = self.fields["country"]
        assert isinstance(country, forms.ChoiceField)
        country.choices = [
            ("", _("All")),
            *[(code, country_name(code, language)) for code in countries],
        ]
