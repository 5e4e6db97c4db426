from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    """The customer self-service portal: sign-in by emailed code, the portal session, the
    organization's portal settings and cancellation feedback. Pages of other apps subclass
    ``customers.portal.views.base.PortalView``."""

    name = "customers.portal"
    label = "portal"
    verbose_name = _("Customer portal")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from cobro.navigation import nav_register
        from customers.portal.slots import portal_nav_register

        nav_register(
            key="portal_settings",
            label=_("Customer portal"),
            url_name="customers:portal_settings",
            permission="manage",
            order=75,
            icon="users",
            section="settings",
        )

        # The core pages; each shows only while its URL exists.
        portal_nav_register(key="home", label=_("Overview"), url_name="portal:home", order=10)
        portal_nav_register(
            key="invoices", label=_("Invoices"), url_name="portal:invoices", order=20
        )
        portal_nav_register(
            key="payment_methods",
            label=_("Payment methods"),
            url_name="portal:payment_methods",
            order=30,
        )
        portal_nav_register(
            key="preferences", label=_("Preferences"), url_name="portal:preferences", order=90
        )
