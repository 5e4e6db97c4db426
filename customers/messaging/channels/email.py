"""Email through Django's configured backend (SMTP from ``EMAIL_URL``, files by default)."""

from __future__ import annotations

import smtplib
from email.utils import formataddr, make_msgid, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from customers.messaging.channels.base import (
    BouncedError,
    Channel,
    OutgoingMessage,
    PermanentSendError,
    TransientSendError,
)


def _is_transient_code(code: int) -> bool:
    return 400 <= code < 500


class EmailChannel(Channel):
    name = "email"

    def send(self, message: OutgoingMessage) -> str:
        _, from_address = parseaddr(settings.DEFAULT_FROM_EMAIL)
        domain = from_address.rpartition("@")[2] or "cobro.localhost"
        message_id = make_msgid(domain=domain)
        email = EmailMultiAlternatives(
            subject=message.subject,
            body=message.text,
            from_email=formataddr((message.sender_name, from_address))
            if message.sender_name
            else settings.DEFAULT_FROM_EMAIL,
            to=[message.to],
            reply_to=[message.reply_to] if message.reply_to else None,
            headers={"Message-ID": message_id, **message.headers},
        )
        if message.html:
            email.attach_alternative(message.html, "text/html")
        for attachment in message.attachments:
            email.attach(attachment.filename, attachment.content, attachment.mimetype)
        try:
            email.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if codes and all(not _is_transient_code(c) for c in codes):
                raise BouncedError(f"recipient refused: {exc.recipients}") from exc
            raise TransientSendError(f"recipient deferred: {exc.recipients}") from exc
        except smtplib.SMTPResponseException as exc:
            if _is_transient_code(exc.smtp_code):
                raise TransientSendError(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
            raise PermanentSendError(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError) as exc:
            raise TransientSendError(repr(exc)) from exc
        except smtplib.SMTPException as exc:
            raise PermanentSendError(repr(exc)) from exc
        except OSError as exc:  # connection refused, timeouts, DNS
            raise TransientSendError(repr(exc)) from exc
        return message_id
