from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from cobro.navigation import nav_register
        from customers import demo  # noqa: F401 - registers the demo seeder

        nav_register(
            key="customers",
            label=_("Customers"),
            url_name="customers:list",
            permission="view",
            order=20,
            icon="users",
        )
