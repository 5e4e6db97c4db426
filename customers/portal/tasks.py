"""Sending the sign-in email. The code and link token travel to the worker encrypted (field
encryption keys) and are never stored in clear."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from cobro.crypto import decrypt_str, encrypt_str


def queue_login_email(*, login, code: str, token: str) -> None:
    """Send the email once the code row is committed."""
    login_id = login.pk
    secret = encrypt_str(f"{code}:{token}")
    transaction.on_commit(lambda: send_login_email.delay(login_id, secret))


def login_link_url(*, organization, token: str) -> str:
    path = reverse("portal:login_link", kwargs={"org_slug": organization.slug})
    return f"{settings.SITE_URL}{path}?token={token}"


@shared_task(name="messaging.portal_login_email", ignore_result=True)
def send_login_email(login_id: int, secret: str) -> None:
    from customers.messaging.channels import channel_get
    from customers.messaging.channels.base import OutgoingMessage
    from customers.messaging.services import messaging_settings_for
    from customers.portal.models import LoginCode

    login = (
        LoginCode.unscoped.select_related("customer", "organization")
        .filter(pk=login_id, used_at__isnull=True)
        .first()
    )
    if login is None:  # already used or replaced by a newer code: nothing worth sending
        return
    code, token = decrypt_str(secret).split(":", 1)
    org = login.organization
    customer = login.customer
    conf = messaging_settings_for(org)
    context = {
        "organization": org,
        "customer": customer,
        "code": code,
        "link": login_link_url(organization=org, token=token),
        "minutes": int((login.expires_at - login.created_at).total_seconds() // 60),
        "sent_by_staff": login.sent_by_staff,
    }
    language = customer.locale if customer.locale in ("es-419", "en") else org.locale
    with translation.override(language or settings.LANGUAGE_CODE):
        subject = render_to_string("portal/email/login_subject.txt", context).strip()
        text = render_to_string("portal/email/login.txt", context)
        html = render_to_string("portal/email/login.html", context)
    channel_get("email").send(
        OutgoingMessage(
            to=customer.email,
            subject=subject,
            text=text,
            html=html,
            sender_name=conf.sender_name or org.display_name,
            reply_to=conf.reply_to,
        )
    )
