from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SupportConfig(AppConfig):
    name = "support"
    verbose_name = _("Support")

    def ready(self) -> None:
        from cobro.navigation import nav_register
        from customers.portal.slots import portal_nav_register
        from support import demo, notifications  # noqa: F401 - message kind, hook, seeder

        nav_register(
            key="support",
            label=_("Support"),
            url_name="support:inbox",
            permission="view",
            order=55,
            icon="chat",
        )
        nav_register(
            key="support_canned",
            label=_("Canned replies"),
            url_name="support:canned_list",
            permission="view",
            order=75,
            icon="chat",
            section="settings",
        )
        portal_nav_register(key="support", label=_("Help"), url_name="portal:support", order=60)
