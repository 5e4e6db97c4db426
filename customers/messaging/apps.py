from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagingConfig(AppConfig):
    name = "customers.messaging"
    label = "messaging"
    verbose_name = _("Messaging")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from cobro.navigation import nav_register
        from customers.messaging import kinds  # noqa: F401 - registers welcome/announcement

        nav_register(
            key="messaging_templates",
            label=_("Email templates"),
            url_name="messaging:templates",
            permission="manage",
            order=70,
            icon="receipt",
            section="settings",
        )
        nav_register(
            key="messaging_settings",
            label=_("Email sender"),
            url_name="messaging:settings",
            permission="manage",
            order=69,
            icon="chat",
            section="settings",
        )
        nav_register(
            key="messaging_announcements",
            label=_("Announcements"),
            url_name="messaging:announcements",
            permission="bill",
            order=60,
            icon="gift",
        )
