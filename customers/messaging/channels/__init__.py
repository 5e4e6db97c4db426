"""Delivery channels behind one interface. Adding SMS or WhatsApp means one new module here
and one line in ``CHANNELS``."""

from __future__ import annotations

from customers.messaging.channels.base import (
    BouncedError,
    Channel,
    OutgoingMessage,
    PermanentSendError,
    TransientSendError,
)
from customers.messaging.channels.email import EmailChannel

CHANNELS: dict[str, Channel] = {"email": EmailChannel()}


def channel_get(name: str) -> Channel:
    return CHANNELS[name]


__all__ = [
    "CHANNELS",
    "BouncedError",
    "Channel",
    "OutgoingMessage",
    "PermanentSendError",
    "TransientSendError",
    "channel_get",
]
