"""Email replies: Cobro's emails carry a reply-able address; the customer's answer lands in the
right conversation with the quoted history trimmed; automatic replies, forged tokens, other
senders and duplicates are kept aside (never added, never answered, never lost)."""

from __future__ import annotations

import time
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from cobro.tenancy.context import use_organization
from customers.messaging.models import Message
from customers.messaging.services import message_queue
from support.models import (
    Attachment,
    Conversation,
    Entry,
    EntryKind,
    InboundEmail,
    InboundOutcome,
    Status,
    Topic,
)
from support.services.conversations import conversation_open, reply_send
from support.services.inbound import inbound_ingest, reply_text
from support.tokens import reply_address
from support.views.inbound import inbound_signature
from tests.customers.factories import CustomerFactory
from tests.support.conftest import INBOUND, png_bytes

pytestmark = pytest.mark.django_db

DEFAULT_ANSWER = (
    "Gracias, ya funciona.\n\n"
    "On Tue, 3 Nov 2026 at 10:00, Acme <x@acme.test> wrote:\n"
    "> Lo revisamos y ya está.\n"
)


@pytest.fixture
def answered(org, owner, customer, django_capture_on_commit_callbacks):
    """A portal question answered by staff: (conversation, the reply email as sent)."""
    with use_organization(org):
        conv = conversation_open(
            customer=customer, subject="Doble cobro", topic=Topic.BILLING, body="¿Por qué?"
        )
        with django_capture_on_commit_callbacks(execute=True):
            reply_send(conversation=conv, body="Lo revisamos y ya está.", actor=owner)
    assert len(mail.outbox) == 1
    return conv, mail.outbox[0]


def _answer(*, to, sender="ana@acme.test", in_reply_to="", body="", **headers) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Ana Pérez <{sender}>"
    msg["To"] = to
    msg["Subject"] = "Re: Doble cobro"
    msg["Message-ID"] = make_msgid(domain="mail.example.cl")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body or DEFAULT_ANSWER)
    return msg.as_bytes()


def test_support_reply_email_is_reply_able_and_in_the_customers_language(answered, customer):
    conv, sent = answered
    assert sent.to == [customer.email]
    assert sent.reply_to == [reply_address("c", conv.pk)]
    assert sent.reply_to[0].startswith("reply+c") and sent.reply_to[0].endswith("@in.cobro.test")
    assert sent.subject == "Re: Doble cobro"
    assert "Lo revisamos y ya está." in sent.body
    assert "You can answer this email" in sent.body  # customer.locale is "en"
    message = Message.unscoped.get(template_key="support_reply")
    assert message.provider_id == sent.extra_headers["Message-ID"]


def test_an_email_reply_lands_in_its_conversation_with_the_quote_trimmed(answered):
    conv, sent = answered
    raw = _answer(to=sent.reply_to[0], in_reply_to=sent.extra_headers["Message-ID"])
    result = inbound_ingest(raw)
    assert result.outcome == InboundOutcome.ADDED and result.conversation == conv
    entry = Entry.unscoped.filter(conversation=conv, kind=EntryKind.CUSTOMER).last()
    assert entry.body == "Gracias, ya funciona."
    assert entry.channel == "email"
    conv.refresh_from_db()
    assert conv.status == Status.OPEN  # was waiting on the customer
    # Delivered twice (a retrying MTA): added once.
    assert inbound_ingest(raw).outcome == InboundOutcome.DUPLICATE
    assert Entry.unscoped.filter(conversation=conv, kind=EntryKind.CUSTOMER).count() == 2


def test_in_reply_to_alone_finds_the_conversation(answered):
    conv, sent = answered
    raw = _answer(to=INBOUND, in_reply_to=sent.extra_headers["Message-ID"], body="Otra cosa más")
    result = inbound_ingest(raw)
    assert result.outcome == InboundOutcome.ADDED and result.conversation == conv
    assert result.entry.body == "Otra cosa más"


def test_answering_an_invoice_email_starts_a_conversation_about_it(
    org, customer, invoice, django_capture_on_commit_callbacks
):
    with use_organization(org), django_capture_on_commit_callbacks(execute=True):
        message_queue(
            customer=customer,
            template_key="invoice_issued",
            params={"invoice_id": invoice.pk},
            dedupe_key="t-invoice",
        )
    sent = mail.outbox[-1]
    assert sent.reply_to == [reply_address("m", Message.unscoped.get(dedupe_key="t-invoice").pk)]
    png = png_bytes()
    msg = EmailMessage()
    msg["From"] = customer.email
    msg["To"] = sent.reply_to[0]
    msg["Subject"] = f"Re: {sent.subject}"
    msg["Message-ID"] = make_msgid()
    msg.set_content("Este monto no corresponde.\n-- \nAna\nEnviado desde mi teléfono")
    msg.add_attachment(png, maintype="image", subtype="png", filename="cartola.png")
    msg.add_attachment(b"MZ\x90\x00evil", maintype="application", subtype="pdf", filename="x.pdf")
    result = inbound_ingest(msg.as_bytes())
    assert result.outcome == InboundOutcome.CREATED
    conv = result.conversation
    assert (conv.customer, conv.invoice, conv.topic, conv.channel) == (
        customer,
        invoice,
        Topic.BILLING,
        "email",
    )
    first = Entry.unscoped.filter(conversation=conv).get(kind=EntryKind.CUSTOMER)
    assert first.body == "Este monto no corresponde."
    assert [a.filename for a in Attachment.unscoped.filter(entry=first)] == ["cartola.png"]
    # The refused file is named in an internal note, not silently dropped.
    assert "x.pdf" in Entry.unscoped.filter(conversation=conv).get(kind=EntryKind.NOTE).body


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto_Submitted": "auto-replied"},
        {"X_Autoreply": "yes"},
        {"Precedence": "auto_reply"},
        {"Precedence": "bulk"},
        {"X_Autorespond": "Out of office"},
    ],
    ids=[
        "auto-submitted",
        "x-autoreply",
        "precedence-auto-reply",
        "precedence-bulk",
        "x-autorespond",
    ],
)
def test_auto_replies_are_ignored_and_kept(answered, headers):
    conv, sent = answered
    raw = _answer(
        to=sent.reply_to[0],
        in_reply_to=sent.extra_headers["Message-ID"],
        body="Estoy de vacaciones hasta el lunes.",
        **headers,
    )
    result = inbound_ingest(raw)
    assert result.outcome == InboundOutcome.AUTO_REPLY
    assert not Entry.unscoped.filter(body__contains="vacaciones").exists()
    conv.refresh_from_db()
    assert conv.status == Status.WAITING  # nothing reopened, nothing answered
    kept = InboundEmail.objects.get(pk=result.inbound.pk)
    assert bytes(kept.raw) == raw
    assert len(mail.outbox) == 1


def test_bounces_from_mailer_daemon_are_ignored(answered):
    conv, sent = answered
    raw = _answer(to=sent.reply_to[0], sender="MAILER-DAEMON@mail.example.cl", body="Undeliverable")
    assert inbound_ingest(raw).outcome == InboundOutcome.AUTO_REPLY


def test_forged_tokens_and_strangers_are_kept_aside(answered, org, other_org):
    conv, sent = answered
    forged = sent.reply_to[0].replace("+c", "+c9")  # another id with the same MAC
    assert inbound_ingest(_answer(to=forged)).outcome == InboundOutcome.UNMATCHED
    # Someone else answering with the real token (a forwarded email) is not added.
    result = inbound_ingest(_answer(to=sent.reply_to[0], sender="mallory@evil.test"))
    assert result.outcome == InboundOutcome.SENDER_MISMATCH
    # A customer of another organization using this conversation's token cannot post into it.
    CustomerFactory(organization=other_org, email="zed@globex.test")
    result = inbound_ingest(_answer(to=sent.reply_to[0], sender="zed@globex.test"))
    assert result.outcome == InboundOutcome.SENDER_MISMATCH
    assert Entry.unscoped.filter(conversation=conv).filter(kind=EntryKind.CUSTOMER).count() == 1
    assert InboundEmail.objects.count() == 3


def test_quoted_text_and_signatures_are_trimmed():
    assert (
        reply_text("Hola\n\nEl mar, 3 nov 2026 a las 10:00, Café <a@b.cl> escribió:\n> viejo")
        == "Hola"
    )
    assert reply_text("Ok\n-----Original Message-----\nFrom: x") == "Ok"
    assert reply_text("Listo\n\nOn Tue, 3 Nov 2026,\nAcme <a@b.c> wrote:\n> x") == "Listo"
    assert reply_text("Sí\n-- \nAna") == "Sí"
    assert reply_text("Línea 1\nLínea 2") == "Línea 1\nLínea 2"


def test_management_command_ingests_a_file(answered, tmp_path, capsys):
    conv, sent = answered
    path = tmp_path / "reply.eml"
    path.write_bytes(_answer(to=sent.reply_to[0], body="Desde el MTA"))
    call_command("support_ingest", str(path))
    assert f"added conversation={conv.pk}" in capsys.readouterr().out
    assert Entry.unscoped.filter(conversation=conv).filter(body="Desde el MTA").exists()


def test_webhook_needs_a_valid_signature(answered, client):
    conv, sent = answered
    raw = _answer(to=sent.reply_to[0], body="Por webhook")
    url = reverse("support:inbound")
    ts = str(int(time.time()))
    bad = client.post(
        url,
        raw,
        content_type="message/rfc822",
        HTTP_X_COBRO_TIMESTAMP=ts,
        HTTP_X_COBRO_SIGNATURE="0" * 64,
    )
    assert bad.status_code == 403 and not InboundEmail.objects.exists()
    stale = str(int(time.time()) - 3600)
    old = client.post(
        url,
        raw,
        content_type="message/rfc822",
        HTTP_X_COBRO_TIMESTAMP=stale,
        HTTP_X_COBRO_SIGNATURE=inbound_signature("inbound-secret", stale, raw),
    )
    assert old.status_code == 403
    ok = client.post(
        url,
        raw,
        content_type="message/rfc822",
        HTTP_X_COBRO_TIMESTAMP=ts,
        HTTP_X_COBRO_SIGNATURE=inbound_signature("inbound-secret", ts, raw),
    )
    assert ok.status_code == 200 and ok.json() == {"outcome": "added", "conversation": conv.pk}
    assert Entry.unscoped.filter(conversation=conv).filter(body="Por webhook").exists()


def test_without_an_inbound_address_emails_keep_the_organizations_reply_to(
    settings, org, owner, customer, django_capture_on_commit_callbacks
):
    settings.COBRO_SUPPORT_INBOUND_ADDRESS = ""
    with use_organization(org):
        conv = conversation_open(customer=customer, subject="x", topic="other", body="y")
        with django_capture_on_commit_callbacks(execute=True):
            reply_send(conversation=conv, body="z", actor=owner)
    assert mail.outbox[-1].reply_to == []
    assert Conversation.unscoped.count() == 1
