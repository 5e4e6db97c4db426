"""The customer asks from the portal: topic, an optional link to one of their own invoices or
subscriptions, attachments checked by content; they read the thread (never internal notes)
and only they (and the organization's staff) can download their files."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from billing.services.invoices import ManualItem, invoice_create_one_off
from cobro.tenancy.context import use_organization
from support.attachments import MAX_BYTES
from support.models import Attachment, Conversation, Entry, EntryKind, Status
from support.services.conversations import note_add, reply_send
from tests.customers.portal.conftest import portal_client
from tests.support.conftest import PDF_BYTES, SCRIPT_AS_PDF, png_bytes

pytestmark = pytest.mark.django_db


def _new_url(org):
    return reverse("portal:support_new", kwargs={"org_slug": org.slug})


def _post(client, org, **extra):
    data = {"topic": "billing", "subject": "Doble cobro", "body": "Me cobraron dos veces.", **extra}
    return client.post(_new_url(org), data)


def test_customer_asks_with_a_link_to_their_invoice_and_a_screenshot(
    org, customer, invoice, client_a
):
    shot = SimpleUploadedFile("cartola.png", png_bytes(), content_type="image/png")
    response = _post(client_a, org, link=f"invoice:{invoice.pk}", attachments=[shot])
    assert response.status_code == 302
    conv = Conversation.unscoped.get(customer=customer)
    assert (conv.topic, conv.status, conv.invoice_id) == ("billing", Status.OPEN, invoice.pk)
    attachment = Attachment.unscoped.get(entry__conversation=conv)
    assert attachment.content_type == "image/png" and attachment.filename == "cartola.png"
    # Stored outside MEDIA_ROOT under a random name, not the customer's file name.
    path = attachment.file.path
    assert path.startswith(str(settings.COBRO_SUPPORT_FILES_ROOT))
    assert "cartola" not in path and not path.startswith(str(settings.MEDIA_ROOT))

    page = client_a.get(response["Location"])
    assert "Me cobraron dos veces." in page.content.decode()
    url = reverse("portal:support_attachment", kwargs={"org_slug": org.slug, "pk": attachment.pk})
    download = client_a.get(url)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == png_bytes()
    assert download["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download["Content-Security-Policy"]


def test_another_customer_of_the_same_organization_cannot_open_it(
    org, customer, other_customer, client_a
):
    _post(client_a, org, attachments=[SimpleUploadedFile("a.pdf", PDF_BYTES)])
    conv = Conversation.unscoped.get(customer=customer)
    attachment = Attachment.unscoped.get(entry__conversation=conv)
    stranger = portal_client(other_customer)
    kw = {"org_slug": org.slug}
    assert (
        stranger.get(
            reverse("portal:support_conversation", kwargs={**kw, "pk": conv.pk})
        ).status_code
        == 404
    )
    assert (
        stranger.get(
            reverse("portal:support_attachment", kwargs={**kw, "pk": attachment.pk})
        ).status_code
        == 404
    )
    assert (
        stranger.post(
            reverse("portal:support_conversation", kwargs={**kw, "pk": conv.pk}), {"body": "hola"}
        ).status_code
        == 404
    )
    assert Entry.unscoped.filter(conversation=conv).count() == 1


def test_a_tampered_link_to_someone_elses_invoice_is_refused(
    org, customer, other_customer, client_a
):
    with use_organization(org):
        theirs = invoice_create_one_off(
            customer=other_customer,
            currency="CLP",
            items=[ManualItem(description="Ajeno", unit_amount_minor=1_000)],
        )
    response = _post(client_a, org, link=f"invoice:{theirs.pk}")
    assert response.status_code == 400
    assert not Conversation.unscoped.filter(customer=customer).exists()
    response = _post(client_a, org, link="subscription:999999")
    assert response.status_code == 400
    assert not Conversation.unscoped.exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("factura.pdf", SCRIPT_AS_PDF, "is not an image"),
        ("foto.png", b"\x89PNG\r\n\x1a\n" + b"not really a png", "is not an image"),
        ("enorme.pdf", b"%PDF-1.4\n" + b"0" * MAX_BYTES + b"\n%%EOF", "is too large"),
    ],
    ids=["script-renamed-pdf", "fake-png-header", "oversized"],
)
def test_disguised_or_oversized_attachments_are_refused(
    org, customer, client_a, name, content, message
):
    upload = SimpleUploadedFile(name, content, content_type="application/pdf")
    response = _post(client_a, org, attachments=[upload])
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Conversation.unscoped.exists() and not Attachment.unscoped.exists()


def test_internal_notes_never_reach_the_portal_and_replies_do(org, owner, customer, client_a):
    _post(client_a, org)
    conv = Conversation.unscoped.get(customer=customer)
    with use_organization(org):
        note_add(conversation=conv, body="Cliente difícil, ojo", actor=owner)
        reply_send(conversation=conv, body="Ya lo revisamos.", actor=owner, resolve=True)
    page = client_a.get(
        reverse("portal:support_conversation", kwargs={"org_slug": org.slug, "pk": conv.pk})
    ).content.decode()
    assert "Ya lo revisamos." in page
    assert "Cliente difícil" not in page
    # Writing again reopens a resolved conversation.
    conv.refresh_from_db()
    assert conv.status == Status.RESOLVED
    client_a.post(
        reverse("portal:support_conversation", kwargs={"org_slug": org.slug, "pk": conv.pk}),
        {"body": "Sigue igual"},
    )
    conv.refresh_from_db()
    assert conv.status == Status.OPEN and conv.resolved_at is None
    assert Entry.unscoped.filter(conversation=conv).filter(kind=EntryKind.CUSTOMER).count() == 2


def test_the_form_needs_a_topic_and_a_message(org, customer, client_a):
    response = client_a.post(_new_url(org), {"topic": "", "subject": "x", "body": "  "})
    assert response.status_code == 400
    assert not Conversation.unscoped.exists()


def test_a_customer_cannot_flood_the_inbox_from_the_portal(org, customer, client_a):
    """Five new conversations an hour; the sixth is refused with the form kept and nothing
    written; an hour later they can write again."""
    from datetime import timedelta

    from cobro import clock
    from support.services.conversations import PORTAL_OPEN_PER_HOUR

    for i in range(PORTAL_OPEN_PER_HOUR):
        assert _post(client_a, org, subject=f"Pregunta {i}").status_code == 302
    refused = _post(client_a, org, subject="Una más")
    assert refused.status_code == 400
    assert "in the last hour" in refused.content.decode()
    assert "Una más" in refused.content.decode()  # what they typed is still there
    assert Conversation.unscoped.filter(customer=customer).count() == PORTAL_OPEN_PER_HOUR

    an_hour_ago = clock.now() - timedelta(minutes=61)
    Conversation.unscoped.filter(customer=customer).update(created_at=an_hour_ago)
    assert _post(client_a, org, subject="Otra vez").status_code == 302
