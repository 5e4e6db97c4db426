"""Render once on the documents queue, stored; downloads only for the owning organization."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from billing.documents.models import DocumentFile, DocumentKind
from billing.documents.services import document_read, document_render
from billing.services.subscriptions import subscription_create
from cobro.events import events_dispatch_pending
from cobro.tenancy.context import use_organization
from tests.billing.factories import PriceFactory
from tests.customers.factories import CustomerFactory
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_finalizing_an_invoice_renders_its_pdf_once_on_the_documents_queue(
    subscription_invoice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        events_dispatch_pending()
    doc = DocumentFile.unscoped.get(kind=DocumentKind.INVOICE, object_id=subscription_invoice.pk)
    data = document_read(doc)
    assert data.startswith(b"%PDF-")
    assert hashlib.sha256(data).hexdigest() == doc.sha256
    assert doc.number == subscription_invoice.number and doc.page_count == 1
    assert default_storage.exists(doc.storage_path)
    # A redelivered task (or a second worker) reuses the stored file, it never renders again.
    again = document_render(kind=DocumentKind.INVOICE, object_id=subscription_invoice.pk)
    assert again.pk == doc.pk and again.storage_path == doc.storage_path
    assert DocumentFile.unscoped.count() == 1


def test_the_documents_queue_is_where_render_tasks_go(settings):
    from cobro.celery import app

    route = app.amqp.router.route({}, "documents.render")
    assert route["queue"].name == "documents"
    assert app.amqp.router.route({}, "messaging.send")["queue"].name == "notifications"


def test_drafts_have_no_pdf(in_org, cl_customer, iva, t0, owner_client):
    from billing.services.invoices import ManualItem, invoice_create_one_off

    draft = invoice_create_one_off(
        customer=cl_customer,
        currency="CLP",
        items=[ManualItem(description="x", unit_amount_minor=1000)],
        finalize=False,
        now=t0,
    )
    response = owner_client.get(reverse("documents:invoice_pdf", args=[draft.pk]))
    assert response.status_code == 404


def test_staff_downloads_their_invoice_pdf(subscription_invoice, owner_client):
    url = reverse("documents:invoice_pdf", args=[subscription_invoice.pk])
    response = owner_client.get(url + "?download=1")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="F-000001.pdf"'
    assert response.content.startswith(b"%PDF-")


def test_another_organizations_invoice_pdf_is_a_404(subscription_invoice, other_org, client, t0):
    # Org B has its own invoice; org A's owner asks for B's PDF by id.
    with use_organization(other_org):
        b_customer = CustomerFactory(organization=other_org)
        b_price = PriceFactory(organization=other_org)
        b_invoice = subscription_create(customer=b_customer, price=b_price, now=t0).invoices.get()
    a_staff = UserFactory(email="billing@acme.test")
    MembershipFactory(organization=subscription_invoice.organization, user=a_staff, role="billing")
    client.force_login(a_staff)
    assert client.get(reverse("documents:invoice_pdf", args=[b_invoice.pk])).status_code == 404
    assert (
        client.get(reverse("documents:invoice_pdf", args=[subscription_invoice.pk])).status_code
        == 200
    )
    assert not DocumentFile.unscoped.filter(object_id=b_invoice.pk).exists()


def test_credit_note_pdf_download(subscription_invoice, owner_client):
    from billing.services.invoices import credit_note_issue

    note = credit_note_issue(invoice=subscription_invoice, reason="Error de cobro")
    response = owner_client.get(reverse("documents:credit_note_pdf", args=[note.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'inline; filename="{note.number}.pdf"'


def test_render_task_and_send_task_work_in_a_worker_without_a_current_organization(
    branded_org, iva, t0, smtp_server
):
    from billing.documents.tasks import documents_render
    from billing.services.invoices import ManualItem, invoice_create_one_off
    from customers.messaging.models import Message
    from customers.messaging.tasks import messaging_send

    with use_organization(branded_org):
        customer = CustomerFactory(organization=branded_org, email="worker@example.cl")
        invoice = invoice_create_one_off(
            customer=customer,
            currency="CLP",
            items=[ManualItem(description="Asesoría", unit_amount_minor=50_000, tax_rate=iva)],
            now=t0,
        )
        from customers.messaging.services import message_queue

        message = message_queue(
            customer=customer,
            template_key="invoice_issued",
            params={"invoice_id": invoice.pk},
            dedupe_key="worker:1",
        )
    documents_render.apply(args=(DocumentKind.INVOICE, invoice.pk))
    assert DocumentFile.unscoped.filter(object_id=invoice.pk).exists()
    messaging_send.apply(args=(message.pk,))
    assert Message.unscoped.get(pk=message.pk).status == "sent"
    [mail] = smtp_server.messages()
    assert mail["Subject"] == "Acme SpA: factura F-000001 por $59.500"
    assert "referencia" in mail.get_body(("plain",)).get_content()  # sent for transfer
