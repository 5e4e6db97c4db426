"""Gateway credentials of an organization (stored encrypted; shown back only masked)."""

from __future__ import annotations

import json

from django.db import transaction

from billing.payments.models import GatewayAccount

#: The credential fields each gateway takes, and which of them are secrets.
GATEWAY_FIELDS: dict[str, tuple[tuple[str, bool], ...]] = {
    "stripe": (("secret_key", True), ("publishable_key", False)),
    "mercadopago": (("access_token", True), ("public_key", False)),
    "manual": (
        ("bank_name", False),
        ("account_holder", False),
        ("tax_id", False),
        ("account_type", False),
        ("account_number", False),
        ("email", False),
    ),
}
WEBHOOK_GATEWAYS = ("stripe", "mercadopago")


def mask_secret(value: str) -> str:
    """``sk_live_abc...wxyz`` -> ``••••wxyz``: enough to recognise a key, never to use it."""
    if not value:
        return ""
    return "••••" + value[-4:] if len(value) > 8 else "••••"


def gateway_account_credentials(account: GatewayAccount | None) -> dict[str, str]:
    if account is None or not account.credentials:
        return {}
    try:
        data = json.loads(account.credentials)
    except ValueError:
        return {}
    return {k: str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def gateway_account_display(account: GatewayAccount | None, gateway: str) -> dict[str, str]:
    """Credentials as the settings page may show them: secrets masked."""
    creds = gateway_account_credentials(account)
    shown = {}
    for field, secret in GATEWAY_FIELDS[gateway]:
        value = creds.get(field, "")
        shown[field] = mask_secret(value) if secret else value
    if gateway in WEBHOOK_GATEWAYS:
        shown["webhook_secret"] = mask_secret(account.webhook_secret if account else "")
    return shown


@transaction.atomic
def gateway_account_update(
    *,
    organization,
    gateway: str,
    values: dict[str, str],
    enabled: bool = True,
    is_default: bool | None = None,
) -> GatewayAccount:
    """Save ``gateway``'s credentials. A blank secret keeps the stored one (the page never
    receives it back); a blank plain field clears it."""
    if gateway not in GATEWAY_FIELDS:
        raise ValueError(gateway)
    account = (
        GatewayAccount.unscoped.select_for_update()
        .filter(organization=organization, gateway=gateway)
        .first()
    ) or GatewayAccount(organization=organization, gateway=gateway)
    creds = gateway_account_credentials(account)
    for field, secret in GATEWAY_FIELDS[gateway]:
        value = (values.get(field) or "").strip()
        if value or not secret:
            creds[field] = value
    account.credentials = json.dumps(creds)
    secret_value = (values.get("webhook_secret") or "").strip()
    if gateway in WEBHOOK_GATEWAYS and secret_value:
        account.webhook_secret = secret_value
    account.enabled = enabled
    if is_default is not None and gateway != "manual":
        if is_default:
            GatewayAccount.unscoped.filter(organization=organization).exclude(
                gateway=gateway
            ).update(is_default=False)
        account.is_default = is_default
    account.save()
    return account
