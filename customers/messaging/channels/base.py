"""The channel interface: deliver one rendered message or say why not."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field


class TransientSendError(Exception):
    """Try again later (connection dropped, 4xx from the server). The task retries."""


class PermanentSendError(Exception):
    """Retrying will not help (a 5xx for the message, a misconfiguration)."""


class BouncedError(PermanentSendError):
    """The recipient address was rejected: mark it and stop non-critical sends to it."""


@dataclass
class Attachment:
    filename: str
    content: bytes
    mimetype: str = "application/pdf"


@dataclass
class OutgoingMessage:
    to: str
    subject: str
    text: str
    html: str = ""
    sender_name: str = ""
    reply_to: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    attachments: list[Attachment] = field(default_factory=list)


class Channel(ABC):
    name: str

    @abstractmethod
    def send(self, message: OutgoingMessage) -> str:
        """Deliver ``message``; return the provider's id. Raise ``TransientSendError``,
        ``BouncedError`` or ``PermanentSendError`` on failure."""
