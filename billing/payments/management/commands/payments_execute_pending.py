"""Execute pending (never sent) payment attempts in this process, oldest first.

An operational catch-up when the payments queue is down; the same claim as the queue's task
makes it safe to run next to workers. Also the "charge run" the crash tests kill at random.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from billing.payments.models import AttemptStatus, PaymentAttempt
from billing.payments.services.charging import payment_attempt_execute


class Command(BaseCommand):
    help = "Execute pending payment attempts now (safe next to running workers)."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=1000)

    def handle(self, *args, limit: int, **options):
        ids = list(
            PaymentAttempt.unscoped.filter(status=AttemptStatus.PENDING, sent_at__isnull=True)
            .order_by("created_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        self.stdout.write(f"executing {len(ids)} attempts")
        self.stdout.flush()
        done = sum(1 for pk in ids if payment_attempt_execute(attempt_id=pk) is not None)
        self.stdout.write(f"executed {done}")
