"""Demo feedback: survey settings and a year of NPS/CSAT answers from the demo customers, some
with comments, tags and a closed loop, and one pending survey per customer for the portal.
Idempotent: every demo request has a ``demo:<n>`` subject, so a second run adds nothing."""

from __future__ import annotations

import secrets
from datetime import timedelta

from cobro import clock
from cobro.demo import demo_seeder
from cobro.models import Organization
from feedback.models import (
    FeedbackSettings,
    FeedbackTag,
    SurveyKind,
    SurveyRequest,
    SurveyResponse,
    SurveySource,
)

# (days ago, kind, score, comment, tags, loop status, loop note)
ANSWERS = [
    (330, "nps", 9, "Muy buen servicio, siempre a tiempo.", [], "open", ""),
    (
        300,
        "nps",
        6,
        "El precio subió mucho este año.",
        ["precio"],
        "acted",
        "Ofrecimos el plan anual con 15% de descuento.",
    ),
    (270, "csat", 4, "", [], "open", ""),
    (240, "nps", 10, "¡Me encanta el café de cada mes!", ["producto"], "no_action", ""),
    (200, "nps", 8, "", [], "open", ""),
    (
        170,
        "nps",
        4,
        "El despacho llegó tarde dos veces.",
        ["despacho"],
        "acted",
        "Cambiamos de empresa de despacho en la comuna.",
    ),
    (140, "csat", 2, "Me costó cambiar la tarjeta en el portal.", ["portal", "pagos"], "open", ""),
    (110, "nps", 9, "", [], "open", ""),
    (80, "nps", 7, "Bien, aunque me gustaría más variedad.", ["producto"], "open", ""),
    (50, "csat", 5, "Resolvieron mi consulta en minutos.", ["soporte"], "no_action", ""),
    (30, "nps", 10, "Lo recomiendo a todos mis amigos.", [], "open", ""),
    (12, "nps", 3, "Demasiados cobros fallidos con mi tarjeta.", ["pagos"], "open", ""),
]


@demo_seeder
def seed_feedback(org: Organization) -> None:
    from customers.models import Customer

    FeedbackSettings.unscoped.get_or_create(organization=org)
    customers = list(Customer.unscoped.filter(organization=org).order_by("pk")[:6])
    if not customers:
        return
    now = clock.now(org)
    for n, (days, kind, score, comment, tags, loop, note) in enumerate(ANSWERS):
        customer = customers[n % len(customers)]
        asked = now - timedelta(days=days, hours=3)
        request, created = SurveyRequest.unscoped.get_or_create(
            organization=org,
            kind=kind,
            source=SurveySource.PERIODIC if kind == SurveyKind.NPS else SurveySource.SUPPORT,
            subject_ref=f"demo:{n}",
            defaults={
                "customer": customer,
                "status": SurveyRequest.Status.ANSWERED,
                "nonce": secrets.token_hex(16),
                "created_at": asked,
                "expires_at": asked + timedelta(days=30),
                "answered_at": asked + timedelta(hours=2),
            },
        )
        if not created:
            continue
        response = SurveyResponse.unscoped.create(
            organization=org,
            request=request,
            customer=customer,
            kind=kind,
            source=request.source,
            score=score,
            comment=comment,
            channel=SurveyResponse.Channel.EMAIL if n % 2 else SurveyResponse.Channel.PORTAL,
            loop_status=loop,
            loop_note=note,
            loop_by_label="demo@cobro.localhost" if note else "",
            loop_at=asked + timedelta(days=2) if note else None,
            created_at=asked + timedelta(hours=2),
            updated_at=asked + timedelta(hours=2),
        )
        for name in tags:
            tag, _ = FeedbackTag.unscoped.get_or_create(organization=org, name=name)
            response.tags.add(tag)
    # One pending NPS survey for the first customer, to answer in the portal.
    SurveyRequest.unscoped.get_or_create(
        organization=org,
        kind=SurveyKind.NPS,
        source=SurveySource.PERIODIC,
        subject_ref="demo:pending",
        defaults={
            "customer": customers[0],
            "nonce": secrets.token_hex(16),
            "created_at": now - timedelta(days=1),
            "expires_at": now + timedelta(days=29),
        },
    )
