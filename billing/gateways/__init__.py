"""Payment gateway adapters behind one interface (``base.Gateway``).

``gateway_for(name, account=None, organization=None)`` builds the adapter for an organization.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from billing.gateways.base import Gateway, GatewayError

if TYPE_CHECKING:
    from cobro.models import Organization


def gateway_class(name: str) -> type[Gateway]:
    if name == "sandbox":
        from billing.gateways.sandbox import SandboxGateway

        return SandboxGateway
    if name == "stripe":
        from billing.gateways.stripe import StripeGateway

        return StripeGateway
    if name == "mercadopago":
        from billing.gateways.mercadopago import MercadoPagoGateway

        return MercadoPagoGateway
    if name == "manual":
        from billing.gateways.manual import ManualGateway

        return ManualGateway
    raise GatewayError(f"unknown gateway {name!r}")


def gateway_for(name: str, *, organization: Organization) -> Gateway:
    """The adapter of gateway ``name`` with ``organization``'s decrypted credentials."""
    from billing.payments.models import GatewayAccount

    account = GatewayAccount.unscoped.filter(organization=organization, gateway=name).first()
    credentials = {}
    if account is not None:
        if not account.enabled:
            raise GatewayError(f"gateway {name} is disabled for this organization")
        credentials = json.loads(account.credentials or "{}")
        if account.webhook_secret:
            credentials.setdefault("webhook_secret", account.webhook_secret)
    elif name not in ("sandbox", "manual"):
        raise GatewayError(f"gateway {name} is not configured for this organization")
    return gateway_class(name)(credentials=credentials, organization=organization)
