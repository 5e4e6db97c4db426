"""Reply tokens: what a reply-able address carries so an answer maps back.

``c<conversation id>-<mac>`` addresses a conversation (support replies), ``m<message id>-<mac>``
any other email Cobro sent (an invoice, a receipt). The MAC is an HMAC of the id under the
project's secret, lower-case hex so mail servers that fold the local part's case keep it
valid. A forged or altered token matches nothing.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

SALT = "support.reply-token"
MAC_LENGTH = 20
_TOKEN = re.compile(rf"\+([cm])(\d{{1,18}})-([0-9a-f]{{{MAC_LENGTH}}})@", re.IGNORECASE)


def _mac(kind: str, pk: int) -> str:
    return salted_hmac(SALT, f"{kind}:{pk}").hexdigest()[:MAC_LENGTH]


def reply_token(kind: str, pk: int) -> str:
    return f"{kind}{pk}-{_mac(kind, pk)}"


def inbound_configured() -> bool:
    return "@" in (settings.COBRO_SUPPORT_INBOUND_ADDRESS or "")


def reply_address(kind: str, pk: int) -> str:
    """``local+token@domain`` of the configured inbound address ("" when none is set)."""
    if not inbound_configured():
        return ""
    local, _, domain = settings.COBRO_SUPPORT_INBOUND_ADDRESS.rpartition("@")
    local = local.split("+", 1)[0]
    return f"{local}+{reply_token(kind, pk)}@{domain}"


def tokens_in(addresses: list[str]) -> list[tuple[str, int]]:
    """Valid (kind, id) tokens found in the plus-part of ``addresses``."""
    found: list[tuple[str, int]] = []
    for address in addresses:
        for kind, pk, mac in _TOKEN.findall(address or ""):
            kind, number = kind.lower(), int(pk)
            if constant_time_compare(mac.lower(), _mac(kind, number)):
                found.append((kind, number))
    return found
