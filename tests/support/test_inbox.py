"""The staff inbox: filters and service level, the thread beside the billing context, replies
(emailed and shown in the portal), internal notes, canned replies, quick actions with
confirmation, permissions and audit, CSAT after resolution, and stored XSS rendered inert."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from billing.models import CreditLedgerEntry
from billing.services.credit import customer_credit_balance
from cobro import clock
from cobro.models import AuditEntry
from cobro.tenancy.context import use_organization
from customers.messaging.models import Message
from support.models import Attachment, CannedReply, Conversation, Entry, EntryKind, Status, Topic
from support.services.conversations import conversation_open
from tests.factories import MembershipFactory, UserFactory
from tests.support.conftest import png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def conv(org, customer):
    with use_organization(org):
        return conversation_open(
            customer=customer, subject="Doble cobro", topic=Topic.PAYMENT, body="¿Por qué?"
        )


def _member_client(client, org, role):
    user = UserFactory(email=f"{role}@acme.test")
    MembershipFactory(organization=org, user=user, role=role)
    client.force_login(user)
    return client


def test_stored_xss_in_subject_body_and_file_name_renders_inert(
    org, customer, client_a, owner_client
):
    evil_png = SimpleUploadedFile('"><svg onload=alert(3)>.png', png_bytes(), "image/png")
    client_a.post(
        reverse("portal:support_new", kwargs={"org_slug": org.slug}),
        {
            "topic": "other",
            "subject": "<script>alert(1)</script>",
            "body": "<img src=x onerror=alert(2)>",
            "attachments": [evil_png],
        },
    )
    conv = Conversation.unscoped.get(customer=customer)
    inbox = owner_client.get(reverse("support:inbox")).content.decode()
    page = owner_client.get(reverse("support:conversation", args=[conv.pk])).content.decode()
    for html in (inbox, page):
        assert "<script>alert(1)" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(2)&gt;" in page
    assert "<svg onload" not in page
    assert "svg onload_alert(3)_.png" in page  # the stored name is sanitized
    # Escaping is the second wall: a name stored raw (bypassing sanitizing) is still inert.
    Attachment.unscoped.filter(entry__conversation=conv).update(
        filename='"><svg onload=alert(4)>.png'
    )
    page = owner_client.get(reverse("support:conversation", args=[conv.pk])).content.decode()
    assert "<svg onload=alert(4)>" not in page
    assert "&quot;&gt;&lt;svg onload=alert(4)&gt;.png" in page


def test_reply_is_emailed_and_shown_in_the_portal(
    org, conv, owner_client, client_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            reverse("support:reply", args=[conv.pk]), {"body": "Ya está resuelto <b>hoy</b>."}
        )
    assert response.status_code == 302
    conv.refresh_from_db()
    assert conv.status == Status.WAITING and conv.first_response_at is not None
    assert mail.outbox[-1].to == ["ana@acme.test"]
    assert "Ya está resuelto <b>hoy</b>." in mail.outbox[-1].body  # text part is plain text
    assert "&lt;b&gt;hoy&lt;/b&gt;" in mail.outbox[-1].alternatives[0][0]  # HTML part escaped
    portal = client_a.get(
        reverse("portal:support_conversation", kwargs={"org_slug": org.slug, "pk": conv.pk})
    ).content.decode()
    assert "Ya está resuelto &lt;b&gt;hoy&lt;/b&gt;." in portal
    assert AuditEntry.unscoped.filter(action="support.reply_sent", target_id=str(conv.pk)).exists()


def test_canned_replies_crud_and_use(org, conv, owner_client):
    url = reverse("support:canned_create")
    assert (
        owner_client.post(url, {"title": "Gracias", "body": "¡Gracias por escribir!"}).status_code
        == 302
    )
    dup = owner_client.post(url, {"title": "Gracias", "body": "otra"})
    assert dup.status_code == 400 and "Another canned reply has this title." in dup.content.decode()
    canned = CannedReply.unscoped.get(organization=org)
    owner_client.post(
        reverse("support:canned_update", args=[canned.pk]), {"title": "Gracias", "body": "Editada"}
    )
    canned.refresh_from_db()
    assert canned.body == "Editada"
    page = owner_client.get(
        reverse("support:conversation", args=[conv.pk]) + f"?canned={canned.pk}"
    )
    assert "Editada</textarea>" in page.content.decode()
    viewer = _member_client(Client(), org, "viewer")
    assert viewer.post(url, {"title": "X", "body": "Y"}).status_code == 403
    assert viewer.post(reverse("support:canned_delete", args=[canned.pk])).status_code == 403
    owner_client.post(reverse("support:canned_delete", args=[canned.pk]))
    assert not CannedReply.unscoped.exists()


def test_credit_quick_action_confirms_then_applies_and_the_customer_sees_it(
    org, conv, customer, owner_client, client_a
):
    url = reverse("support:action", args=[conv.pk, "credit"])
    data = {"amount": "5000", "currency": "CLP", "reason": "Cobro duplicado"}
    review = owner_client.post(url, data)
    assert review.status_code == 200 and "$5.000" in review.content.decode()
    assert not CreditLedgerEntry.unscoped.exists()  # nothing until confirmed
    done = owner_client.post(url, {**data, "confirmed": "1"})
    assert done.status_code == 302
    assert customer_credit_balance(customer=customer, currency="CLP") == 5_000
    assert AuditEntry.unscoped.get(action="support.credit_applied").changes["amount_minor"] == 5_000
    portal = client_a.get(
        reverse("portal:support_conversation", kwargs={"org_slug": org.slug, "pk": conv.pk})
    ).content.decode()
    assert "A credit of $5.000 was added to your account." in portal


def test_quick_actions_need_the_bill_permission(org, conv, customer, client):
    viewer = _member_client(client, org, "viewer")
    page = viewer.get(reverse("support:conversation", args=[conv.pk])).content.decode()
    assert "Apply a credit" not in page and "Send reply" not in page
    response = viewer.post(
        reverse("support:action", args=[conv.pk, "credit"]),
        {"amount": "5000", "currency": "CLP", "reason": "x", "confirmed": "1"},
    )
    assert response.status_code == 403
    assert viewer.post(reverse("support:reply", args=[conv.pk]), {"body": "x"}).status_code == 403
    assert customer_credit_balance(customer=customer, currency="CLP") == 0


def test_resend_retry_and_pause_call_the_billing_services(
    org, conv, customer, invoice, subscription, owner_client, django_capture_on_commit_callbacks
):
    ok = {"confirmed": "1"}
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(
            reverse("support:action", args=[conv.pk, "resend"]), {"invoice": invoice.pk, **ok}
        )
    assert (
        Message.unscoped.filter(
            template_key="invoice_issued", dedupe_key__startswith="support_resend:"
        ).count()
        == 1
    )
    owner_client.post(
        reverse("support:action", args=[conv.pk, "retry"]), {"invoice": invoice.pk, **ok}
    )
    from billing.payments.models import PaymentAttempt

    attempt = PaymentAttempt.unscoped.get(invoice=invoice)
    assert attempt.trigger == "staff" and attempt.status == "failed"  # no card on file
    owner_client.post(
        reverse("support:action", args=[conv.pk, "pause"]), {"subscription": subscription.pk, **ok}
    )
    subscription.refresh_from_db()
    assert subscription.status == "paused"
    events = list(
        Entry.unscoped.filter(conversation=conv)
        .filter(kind=EntryKind.EVENT)
        .values_list("event", flat=True)
    )
    assert events == ["invoice_resent", "payment_retried", "subscription_paused"]
    actions = set(
        AuditEntry.unscoped.filter(action__startswith="support.").values_list("action", flat=True)
    )
    assert {
        "support.invoice_resent",
        "support.payment_retried",
        "support.subscription_paused",
    } <= actions


def test_a_quick_action_on_another_customers_invoice_is_refused(
    org, conv, other_customer, owner_client
):
    from billing.services.invoices import ManualItem, invoice_create_one_off

    with use_organization(org):
        theirs = invoice_create_one_off(
            customer=other_customer,
            currency="CLP",
            items=[ManualItem(description="Ajeno", unit_amount_minor=1_000)],
        )
    owner_client.post(
        reverse("support:action", args=[conv.pk, "resend"]),
        {"invoice": theirs.pk, "confirmed": "1"},
    )
    assert not Message.unscoped.filter(dedupe_key__startswith="support_resend:").exists()


def test_notes_status_assignee_and_filters(org, owner, conv, owner_client):
    owner_client.post(reverse("support:note", args=[conv.pk]), {"body": "Revisar con finanzas"})
    assert (
        Entry.unscoped.filter(conversation=conv)
        .filter(kind=EntryKind.NOTE, body="Revisar con finanzas")
        .exists()
    )
    owner_client.post(
        reverse("support:manage", args=[conv.pk]), {"status": "resolved", "assignee": str(owner.pk)}
    )
    conv.refresh_from_db()
    assert conv.status == Status.RESOLVED and conv.assignee == owner and conv.resolved_at
    assert "Doble cobro" not in owner_client.get(reverse("support:inbox")).content.decode()
    resolved = owner_client.get(reverse("support:inbox") + "?status=resolved&assignee=me")
    assert "Doble cobro" in resolved.content.decode()


def test_medians_of_first_response_and_resolution(org, customer, owner_client):
    now = clock.now()
    for hours_to_answer, hours_to_resolve in ((1, 2), (3, 10), (5, None)):
        Conversation.unscoped.create(
            organization=org,
            customer=customer,
            subject="s",
            topic="other",
            channel="portal",
            created_at=now - timedelta(days=1),
            updated_at=now,
            first_response_at=now - timedelta(days=1) + timedelta(hours=hours_to_answer),
            resolved_at=(now - timedelta(days=1) + timedelta(hours=hours_to_resolve))
            if hours_to_resolve
            else None,
            status=Status.RESOLVED if hours_to_resolve else Status.WAITING,
        )
    html = owner_client.get(reverse("support:inbox")).content.decode()
    assert 'data-testid="median-first-response">3 h<' in html
    assert 'data-testid="median-resolution">6 h<' in html


def test_resolving_asks_the_csat_question_once(
    org, owner, conv, owner_client, django_capture_on_commit_callbacks
):
    from feedback.models import SurveyRequest

    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            owner_client.post(
                reverse("support:reply", args=[conv.pk]), {"body": "Listo", "resolve": "on"}
            )
        owner_client.post(reverse("support:manage", args=[conv.pk]), {"status": "open"})
    asked = SurveyRequest.unscoped.get(organization=org)
    assert (asked.customer_id, asked.kind, asked.source, asked.subject_ref) == (
        conv.customer_id,
        "csat",
        "support",
        f"support.conversation:{conv.pk}",
    )
    conv.refresh_from_db()
    assert conv.csat_requested_at is not None


def test_staff_of_another_organization_cannot_reply(other_org, conv, client):
    stranger = UserFactory(email="x@globex.test")
    MembershipFactory(organization=other_org, user=stranger, role="owner")
    client.force_login(stranger)
    assert (
        client.post(reverse("support:reply", args=[conv.pk]), {"body": "hola"}).status_code == 404
    )
    assert Entry.unscoped.filter(conversation=conv).count() == 1
