from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = _("Billing")

    def ready(self) -> None:
        from billing import demo  # noqa: F401 - registers the demo seeder
        from billing.services import invoice_reminders  # noqa: F401 - the reminder email kind
        from cobro.navigation import nav_register

        nav_register(
            key="subscriptions",
            label=_("Subscriptions"),
            url_name="billing:subscription_list",
            permission="view",
            order=30,
            icon="repeat",
        )
        nav_register(
            key="invoices",
            label=_("Invoices"),
            url_name="billing:invoice_list",
            permission="view",
            order=40,
            icon="receipt",
        )
        nav_register(
            key="catalog",
            label=_("Catalog"),
            url_name="billing:catalog",
            permission="view",
            order=50,
            icon="box",
        )
        nav_register(
            key="taxes",
            label=_("Taxes"),
            url_name="billing:tax_list",
            permission="view",
            order=30,
            icon="receipt",
            section="settings",
        )
        nav_register(
            key="billing_settings",
            label=_("Billing settings"),
            url_name="billing:settings",
            permission="manage",
            order=31,
            icon="card",
            section="settings",
        )
