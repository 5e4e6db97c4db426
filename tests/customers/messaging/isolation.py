"""Tenant isolation entries of customers.messaging (imported by tests/isolation.py)."""

from __future__ import annotations

from cobro import clock
from customers.messaging.models import (
    Announcement,
    AnnouncementDelivery,
    CommunicationPreference,
    ConsentLog,
    Message,
    MessagingSettings,
    SuppressedAddress,
    TemplateOverride,
)
from tests.isolation import URL_ALLOWLIST, isolation_factory, make, marked, url_case

URL_ALLOWLIST["messaging:unsubscribe"] = "signed token: the customer's own capability, no login"
URL_ALLOWLIST["messaging:template_edit"] = "a template key, not a tenant object (own override)"
URL_ALLOWLIST["messaging:template_preview"] = "a template key, not a tenant object (own override)"


def _customer(org):
    return make("customers.customer", org)


@isolation_factory("messaging.messagingsettings")
def _settings(org):
    return MessagingSettings.unscoped.get_or_create(
        organization=org, defaults={"sender_name": marked(org, "Cobranzas")}
    )[0]


@isolation_factory("messaging.message")
def _message(org):
    customer = _customer(org)
    return Message.unscoped.create(
        organization=org,
        customer=customer,
        topic="billing",
        template_key="welcome",
        language="es-419",
        to_address=customer.email,
        subject=marked(org, "Bienvenido"),
        dedupe_key=f"isolation:{customer.pk}",
        status="sent",
        created_at=clock.now(),
    )


@isolation_factory("messaging.communicationpreference")
def _preference(org):
    return CommunicationPreference.unscoped.create(
        organization=org,
        customer=_customer(org),
        topic="news_promotions",
        opted_in=True,
        updated_at=clock.now(),
    )


@isolation_factory("messaging.consentlog")
def _consent(org):
    return ConsentLog.unscoped.create(
        organization=org,
        customer=_customer(org),
        topic="news_promotions",
        opted_in=True,
        source="staff",
        actor_label=marked(org, "staff"),
        created_at=clock.now(),
    )


@isolation_factory("messaging.suppressedaddress")
def _suppressed(org):
    n = SuppressedAddress.unscoped.filter(organization=org).count() + 1
    return SuppressedAddress.unscoped.create(
        organization=org,
        email=f"bounced{n}@{org.slug}.test",
        detail=marked(org, "550"),
        created_at=clock.now(),
    )


@isolation_factory("messaging.templateoverride")
def _override(org):
    return TemplateOverride.unscoped.get_or_create(
        organization=org,
        template_key="welcome",
        language="es-419",
        defaults={
            "subject": marked(org, "Hola"),
            "body": f"<p>{marked(org, 'cuerpo')}</p>",
            "updated_at": clock.now(),
        },
    )[0]


@isolation_factory("messaging.announcement")
def _announcement(org):
    return Announcement.unscoped.create(
        organization=org,
        subject=marked(org, "Novedades"),
        body=f"<p>{marked(org, 'promo')}</p>",
        created_at=clock.now(),
    )


@isolation_factory("messaging.announcementdelivery")
def _delivery(org):
    return AnnouncementDelivery.unscoped.create(
        organization=org,
        announcement=make("messaging.announcement", org),
        customer=_customer(org),
        outcome="no_consent",
        created_at=clock.now(),
    )


@url_case("messaging:announcement_detail")
def _announcement_detail(org):
    return {"pk": make("messaging.announcement", org).pk}


@url_case("messaging:customer_messages")
def _customer_messages(org):
    return {"customer_id": make("messaging.message", org).customer_id}
