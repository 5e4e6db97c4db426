"""The portal session: one organization and one customer, kept in the Django session under
``SESSION_KEY`` (next to, and independent of, a staff sign-in)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import translation

SESSION_KEY = "cobro_portal"


@dataclass(frozen=True)
class PortalBinding:
    organization_id: int
    customer_id: int


def portal_session_get(request) -> PortalBinding | None:
    data = request.session.get(SESSION_KEY)
    if not isinstance(data, dict):
        return None
    try:
        return PortalBinding(int(data["org"]), int(data["customer"]))
    except (KeyError, TypeError, ValueError):
        return None


def portal_session_start(request, *, customer) -> None:
    """Bind this browser to ``customer`` (new session key: no fixation)."""
    request.session.cycle_key()
    request.session[SESSION_KEY] = {"org": customer.organization_id, "customer": customer.pk}
    if customer.locale in ("es-419", "en"):
        translation.activate(customer.locale)


def portal_session_end(request) -> None:
    request.session.pop(SESSION_KEY, None)
    request.session.pop("cobro_portal_pending", None)
    request.session.cycle_key()
