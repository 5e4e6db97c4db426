"""Create the demo organization, its owner and realistic demo data. Idempotent."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from cobro.models import Membership, Organization

DEMO_EMAIL = "demo@cobro.localhost"
DEMO_PASSWORD = "cobro-demo-2026"  # noqa: S105 - a published demo login


class Command(BaseCommand):
    help = "Create (or keep) the demo organization 'demo' with an owner and demo data."

    @transaction.atomic
    def handle(self, *args, **options):
        org, created = Organization.objects.get_or_create(
            slug="demo",
            defaults={
                "legal_name": "Café Demo SpA",
                "display_name": "Café Demo",
                "country": "CL",
                "default_currency": "CLP",
                "time_zone": settings.DEFAULT_ORGANIZATION_TIME_ZONE,
                "tax_id": "76.086.428-5",
                "address": "Av. Providencia 1234, Providencia, Santiago",
            },
        )
        User = get_user_model()
        user, user_created = User.objects.get_or_create(
            username=DEMO_EMAIL, defaults={"email": DEMO_EMAIL, "first_name": "Demo"}
        )
        if user_created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        from allauth.account.models import EmailAddress

        EmailAddress.objects.get_or_create(
            user=user, email=DEMO_EMAIL, defaults={"verified": True, "primary": True}
        )
        Membership.objects.get_or_create(organization=org, user=user, defaults={"role": "owner"})
        from cobro.demo import seed_demo_data

        seed_demo_data(org)
        self.stdout.write(
            f"Demo organization {'created' if created else 'already present'}: {org.slug}"
        )
