"""Demo support data: canned replies and two conversations of the demo organization (one
answered and waiting on the customer, one open). Idempotent: found by subject."""

from __future__ import annotations

from datetime import timedelta

from cobro import clock
from cobro.demo import demo_seeder
from cobro.models import Organization
from support.models import CannedReply, Channel, Conversation, Entry, EntryKind, Status, Topic

CANNED = [
    (
        "Cobro duplicado",
        "Hola, revisamos tu cuenta y vimos el cobro duplicado. Ya aplicamos un crédito por el "
        "mismo monto, que se descontará de tu próxima factura. ¡Gracias por avisarnos!",
    ),
    (
        "Actualizar medio de pago",
        "Hola, puedes actualizar tu tarjeta desde tu cuenta, en «Medios de pago». Cuando la "
        "cambies, reintentaremos el cobro automáticamente.",
    ),
    (
        "Cambio de plan",
        "Hola, puedes cambiar de plan cuando quieras desde tu cuenta, en «Suscripciones». Verás "
        "el monto prorrateado antes de confirmar.",
    ),
]


@demo_seeder
def seed_support(org: Organization) -> None:
    from customers.models import Customer

    now = clock.now()
    for title, body in CANNED:
        CannedReply.unscoped.get_or_create(
            organization=org,
            title=title,
            defaults={"body": body, "created_at": now, "updated_at": now},
        )
    customers = list(Customer.unscoped.filter(organization=org).order_by("pk")[:2])
    if len(customers) < 2:
        return
    first, second = customers
    if not Conversation.unscoped.filter(
        organization=org, subject="¿Por qué me cobraron dos veces?"
    ).exists():
        started = now - timedelta(hours=26)
        conv = Conversation.unscoped.create(
            organization=org,
            customer=first,
            subject="¿Por qué me cobraron dos veces?",
            topic=Topic.PAYMENT,
            status=Status.WAITING,
            channel=Channel.PORTAL,
            created_at=started,
            updated_at=started + timedelta(hours=2),
            last_customer_at=started,
            first_response_at=started + timedelta(hours=2),
        )
        Entry.unscoped.create(
            organization=org,
            conversation=conv,
            kind=EntryKind.CUSTOMER,
            channel=Channel.PORTAL,
            body="Hola, en mi cartola aparecen dos cargos este mes. ¿Me pueden ayudar?",
            author_label=first.name,
            created_at=started,
        )
        Entry.unscoped.create(
            organization=org,
            conversation=conv,
            kind=EntryKind.NOTE,
            channel=Channel.STAFF,
            body="Revisé los intentos de pago: el segundo fue un reintento del banco.",
            author_label="Equipo",
            created_at=started + timedelta(hours=1),
        )
        Entry.unscoped.create(
            organization=org,
            conversation=conv,
            kind=EntryKind.REPLY,
            channel=Channel.STAFF,
            body=CANNED[0][1],
            author_label="Equipo",
            created_at=started + timedelta(hours=2),
        )
    if not Conversation.unscoped.filter(
        organization=org, subject="Quiero cambiar mi plan"
    ).exists():
        started = now - timedelta(hours=3)
        conv = Conversation.unscoped.create(
            organization=org,
            customer=second,
            subject="Quiero cambiar mi plan",
            topic=Topic.PLAN,
            status=Status.OPEN,
            channel=Channel.PORTAL,
            created_at=started,
            updated_at=started,
            last_customer_at=started,
        )
        Entry.unscoped.create(
            organization=org,
            conversation=conv,
            kind=EntryKind.CUSTOMER,
            channel=Channel.PORTAL,
            body="¿Puedo pasar al plan anual a mitad de mes? ¿Cuánto pagaría?",
            author_label=second.name,
            created_at=started,
        )
