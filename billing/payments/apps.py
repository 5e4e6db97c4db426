from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "billing.payments"
    label = "payments"
    verbose_name = _("Payments")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from billing.payments import demo, handlers  # noqa: F401  (demo seeder, outbox handlers)
        from cobro.navigation import nav_register

        nav_register(
            key="payments",
            label=_("Payments"),
            url_name="payments:list",
            permission="view",
            order=45,
            icon="card",
        )
        nav_register(
            key="dunning",
            label=_("Dunning"),
            url_name="payments:dunning_settings",
            permission="manage",
            order=46,
            icon="repeat",
            section="settings",
        )
        nav_register(
            key="gateways",
            label=_("Payment gateways"),
            url_name="payments:gateway_settings",
            permission="manage",
            order=47,
            icon="key",
            section="settings",
        )
