from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedbackConfig(AppConfig):
    name = "feedback"
    verbose_name = _("Feedback")

    def ready(self) -> None:
        from cobro.navigation import nav_register
        from customers.portal.slots import portal_nav_register
        from feedback import demo, handlers, kinds  # noqa: F401 - registers handlers, kinds, seeder

        nav_register(
            key="feedback",
            label=_("Feedback"),
            url_name="feedback:home",
            permission="view",
            order=65,
            icon="star",
        )
        portal_nav_register(key="surveys", label=_("Surveys"), url_name="portal:surveys", order=60)
