from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CobroConfig(AppConfig):
    name = "cobro"
    verbose_name = _("Cobro kernel")

    def ready(self) -> None:
        from cobro import signals  # noqa: F401
        from cobro.api import authentication  # noqa: F401 - API-key cache invalidation
        from cobro.views.nav import register_kernel_nav

        register_kernel_nav()
