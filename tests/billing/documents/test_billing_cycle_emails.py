"""A whole billing cycle's emails, delivered to a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import io
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from pypdf import PdfReader

from billing.documents.notifications import billing_reminders_queue
from billing.payments.services.methods import payment_method_add_card
from billing.services.subscriptions import (
    subscription_cancel,
    subscription_change,
    subscription_create,
    subscription_pause,
    subscription_renew,
    subscription_resume,
)
from cobro import clock
from cobro.events import events_dispatch_pending
from cobro.models import OutboxEvent
from customers.messaging.models import (
    CommunicationPreference,
    ConsentLog,
    Message,
    MessageStatus,
    MessagingSettings,
)
from tests.billing.factories import PriceFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cycle_price(branded_org, iva):
    product = ProductFactory(organization=branded_org, name="Plan Pro")
    return PriceFactory(
        organization=branded_org,
        product=product,
        amount_minor=10_000,
        tax_rate=iva,
        tax_behavior="exclusive",
    )


@pytest.fixture
def dispatch(django_capture_on_commit_callbacks):
    """Dispatch the outbox and run what handlers enqueue after commit (tasks are eager)."""

    def run(now):
        # Events become due on the wall clock; ``now`` documents the moment of the cycle.
        # Handlers' tasks emit events of their own (a charge -> payment.succeeded -> paid), so
        # dispatch until the outbox is drained.
        for _ in range(10):
            with django_capture_on_commit_callbacks(execute=True):
                events_dispatch_pending()
            if not OutboxEvent.unscoped.filter(dispatched_at__isnull=True).exists():
                return
        raise AssertionError("outbox did not drain")

    return run


def pdf_of(message) -> tuple[str, str]:
    [attachment] = [p for p in message.iter_attachments()]
    assert attachment.get_content_type() == "application/pdf"
    data = attachment.get_content()
    reader = PdfReader(io.BytesIO(data))
    return attachment.get_filename(), "".join(p.extract_text() for p in reader.pages)


def test_emails_of_a_billing_cycle(
    in_org,
    branded_org,
    cl_customer,
    cycle_price,
    smtp_server,
    dispatch,
    client,
    t0,
    django_capture_on_commit_callbacks,
):
    MessagingSettings.objects.create(
        organization=branded_org, sender_name="Acme Cobranzas", reply_to="hola@acme.cl"
    )
    payment_method_add_card(customer=cl_customer, gateway="sandbox", token="tok_sandbox_success")
    # 1. Subscribe: welcome + invoice F-000001 (10.000 + IVA 19% = 11.900) with its PDF; the
    #    sandbox card is charged and a receipt follows.
    sub = subscription_create(customer=cl_customer, price=cycle_price, now=t0)
    dispatch(t0)
    welcome = smtp_server.by_subject("Bienvenido a Acme SpA")
    assert len(welcome) == 1
    [issued] = smtp_server.by_subject("factura F-000001")
    assert issued["Subject"] == "Acme SpA: factura F-000001 por $11.900"
    assert issued["From"] == "Acme Cobranzas <facturas@cobro.example>"
    assert issued["Reply-To"] == "hola@acme.cl"
    assert issued["To"] == "pagos@losaromos.cl"
    assert issued["List-Unsubscribe"] is None  # billing-critical: no unsubscribe
    text = issued.get_body(("plain",)).get_content()
    html = issued.get_body(("html",)).get_content()
    assert "Panadería Los Aromos Ltda." in text and "$11.900" in text
    assert "<strong>F-000001</strong>" in html
    filename, pdf_text = pdf_of(issued)
    assert filename == "F-000001.pdf"
    assert "F-000001" in pdf_text and "$11.900" in pdf_text and "IVA 19%" in pdf_text

    # 2. Paid by card: a receipt with the paid copy of the PDF and a thank-you.
    assert sub.invoices.get().status == "paid"
    [receipt] = smtp_server.by_subject("recibimos tu pago de $11.900")
    assert "¡Gracias!" in receipt.get_body(("plain",)).get_content()
    receipt_name, receipt_text = pdf_of(receipt)
    assert receipt_name == "F-000001.pdf"
    assert "F-000001" in receipt_text and "$11.900" in receipt_text
    assert "Pagad" in receipt_text and "Pendiente de pago" not in receipt_text  # paid copy

    # 3. Three days before renewal: the upcoming-charge reminder, with one-click unsubscribe.
    sub.refresh_from_db()
    reminder_at = sub.next_billing_at - timedelta(days=2)
    with clock.frozen(reminder_at), django_capture_on_commit_callbacks(execute=True):
        assert billing_reminders_queue(now=reminder_at) == 1
        assert billing_reminders_queue(now=reminder_at + timedelta(hours=1)) == 1  # deduped
    [reminder] = smtp_server.by_subject("tu próximo cargo")
    assert reminder["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = str(reminder["List-Unsubscribe"]).strip().strip("<>")
    assert unsubscribe.startswith("http://127.0.0.1:8000/messaging/u/")
    assert unsubscribe in reminder.get_body(("plain",)).get_content()
    assert Message.objects.filter(template_key="upcoming_charge").count() == 1

    # The unsubscribe link works without logging in (RFC 8058 one-click POST).
    client.logout()
    response = client.post(
        urlparse(unsubscribe).path,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    pref = CommunicationPreference.objects.get(customer=cl_customer, topic="reminders")
    assert pref.opted_in is False
    log = ConsentLog.objects.get(customer=cl_customer)
    assert (log.topic, log.opted_in, log.source) == ("reminders", False, "unsubscribe_link")

    # 4. Renewal: invoice F-000002 still arrives (billing is critical); the next reminder not.
    with clock.frozen(sub.next_billing_at):
        subscription_renew(subscription=sub, now=sub.next_billing_at)
    dispatch(sub.next_billing_at)
    [second] = smtp_server.by_subject("factura F-000002")
    assert pdf_of(second)[0] == "F-000002.pdf"
    assert len(smtp_server.by_subject("recibimos tu pago")) == 2
    sub.refresh_from_db()
    later = sub.next_billing_at - timedelta(days=2)
    with clock.frozen(later), django_capture_on_commit_callbacks(execute=True):
        billing_reminders_queue(now=later)
    assert len(smtp_server.by_subject("tu próximo cargo")) == 1
    skipped = Message.objects.filter(template_key="upcoming_charge").order_by("-pk").first()
    assert skipped.status == MessageStatus.SKIPPED

    # 5. Pause, resume, cancel: one email each.
    t_pause = later + timedelta(hours=1)
    subscription_pause(subscription=sub, now=t_pause)
    dispatch(t_pause)
    subscription_resume(subscription=sub, now=t_pause + timedelta(hours=1))
    dispatch(t_pause + timedelta(hours=1))
    # A plan change at the next period: the email names the plan moved to, not the old one.
    premium = PriceFactory(
        organization=branded_org,
        product=ProductFactory(organization=branded_org, name="Plan Premium"),
        amount_minor=20_000,
        tax_rate=cycle_price.tax_rate,
        tax_behavior="exclusive",
    )
    t_change = t_pause + timedelta(hours=1, minutes=30)
    subscription_change(subscription=sub, price=premium, when="next_period", now=t_change)
    dispatch(t_change)
    [changed] = smtp_server.by_subject("cambiaste tu plan")
    assert changed["Subject"] == "Acme SpA: cambiaste tu plan a Plan Premium"
    assert "$20.000" in changed.get_body(("plain",)).get_content()
    subscription_cancel(subscription=sub, now=t_pause + timedelta(hours=2))
    dispatch(t_pause + timedelta(hours=2))
    assert len(smtp_server.by_subject("tu suscripción está en pausa")) == 1
    assert len(smtp_server.by_subject("tu suscripción se reanudó")) == 1
    assert len(smtp_server.by_subject("cancelamos tu suscripción")) == 1

    # Every message of the cycle is in the customer's log as sent, each exactly once.
    statuses = list(Message.objects.filter(customer=cl_customer).values_list("status", flat=True))
    assert statuses.count(MessageStatus.SENT) == len(smtp_server.received)
    assert all(r.rcpt_tos == ["pagos@losaromos.cl"] for r in smtp_server.received)
