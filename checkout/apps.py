from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CheckoutConfig(AppConfig):
    name = "checkout"
    verbose_name = _("Checkout")

    def ready(self) -> None:
        from checkout import demo, handlers  # noqa: F401 - registers the seeder and handlers
        from cobro.navigation import nav_register

        nav_register(
            key="checkout",
            label=_("Sign-up pages"),
            url_name="checkout:links",
            permission="view",
            order=55,
            icon="link",
        )
