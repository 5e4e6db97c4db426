"""Tenant isolation factories and URL cases of the support app (imported by
tests/isolation.py): conversations, entries, attachments and canned replies of organization B
must never show or change for organization A, in the staff inbox or the portal."""

from __future__ import annotations

from django.core.files.base import ContentFile

from cobro import clock
from support.models import Attachment, CannedReply, Conversation, Entry
from tests.billing.factories import CustomerFactory
from tests.isolation import isolation_factory, make, marked, url_case

PDF = b"%PDF-1.4\n" + b"1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def conversation_for(customer, subject: str) -> Conversation:
    now = clock.now()
    conv = Conversation.unscoped.create(
        organization_id=customer.organization_id,
        customer=customer,
        subject=subject[:200],
        topic="billing",
        channel="portal",
        created_at=now,
        updated_at=now,
    )
    Entry.unscoped.create(
        organization_id=customer.organization_id,
        conversation=conv,
        kind="customer",
        channel="portal",
        body=subject,
        created_at=now,
    )
    return conv


def attachment_for(conv: Conversation, name: str) -> Attachment:
    entry = Entry.unscoped.filter(conversation=conv).first()
    attachment = Attachment(
        organization_id=conv.organization_id,
        entry=entry,
        filename=name[:150],
        content_type="application/pdf",
        size=len(PDF),
        sha256="0" * 64,
        created_at=clock.now(),
    )
    attachment.file.save("upload", ContentFile(PDF), save=False)
    attachment.save()
    return attachment


@isolation_factory("support.conversation")
def _conversation(org):
    customer = CustomerFactory(organization=org, name=marked(org, "support customer"))
    return conversation_for(customer, marked(org, "Consulta"))


@isolation_factory("support.entry")
def _entry(org):
    conv = make("support.conversation", org)
    return Entry.unscoped.create(
        organization=org,
        conversation=conv,
        kind="note",
        channel="staff",
        body=marked(org, "nota interna"),
        created_at=clock.now(),
    )


@isolation_factory("support.attachment")
def _attachment(org):
    return attachment_for(make("support.conversation", org), marked(org, "cartola.pdf"))


@isolation_factory("support.cannedreply")
def _canned(org):
    n = CannedReply.unscoped.filter(organization=org).count()
    now = clock.now()
    return CannedReply.unscoped.create(
        organization=org,
        title=marked(org, f"Respuesta {n}")[:100],
        body=marked(org, "texto"),
        created_at=now,
        updated_at=now,
    )


def _conversation_case(name: str) -> None:
    url_case(name)(lambda org: {"pk": make("support.conversation", org).pk})


for _name in ("support:conversation", "support:reply", "support:note", "support:manage"):
    _conversation_case(_name)


@url_case("support:action")
def _action(org):
    return {"pk": make("support.conversation", org).pk, "action": "credit"}


@url_case("support:attachment")
def _staff_attachment(org):
    return {"pk": make("support.attachment", org).pk}


@url_case("support:canned_update")
def _canned_update(org):
    return {"pk": make("support.cannedreply", org).pk}


@url_case("support:canned_delete")
def _canned_delete(org):
    return {"pk": make("support.cannedreply", org).pk}


@url_case("portal:support_conversation")
def _portal_conversation(org):
    return {"org_slug": org.slug, "pk": make("support.conversation", org).pk}


@url_case("portal:support_attachment")
def _portal_attachment(org):
    return {"org_slug": org.slug, "pk": make("support.attachment", org).pk}


def portal_objects(org, customer) -> dict:
    """Objects of ``customer`` that portal support routes address by id (for
    tests/customers/portal/test_access.py)."""
    conv = conversation_for(customer, "Secreto de otro cliente")
    return {"support.conversation": conv, "support.attachment": attachment_for(conv, "x.pdf")}
