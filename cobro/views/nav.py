"""The kernel's own dashboard navigation entries (registered from CobroConfig.ready())."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from cobro.navigation import nav_register


def register_kernel_nav() -> None:
    nav_register(key="home", label=_("Home"), url_name="dashboard:home", order=0, icon="home")
    nav_register(
        key="events", label=_("Events"), url_name="dashboard:event_list", order=85, icon="chart"
    )
    nav_register(
        key="settings_hub",
        label=_("All settings"),
        url_name="dashboard:settings",
        order=0,
        icon="key",
        section="settings",
    )
    nav_register(
        key="api_keys",
        label=_("API keys"),
        url_name="dashboard:api_keys",
        permission="manage",
        order=90,
        icon="key",
        section="settings",
    )
    nav_register(
        key="organization",
        label=_("Organization"),
        url_name="dashboard:organization_settings",
        permission="manage",
        order=10,
        icon="building",
        section="settings",
    )
    nav_register(
        key="members",
        label=_("Members"),
        url_name="dashboard:members",
        order=20,
        icon="users",
        section="settings",
    )
