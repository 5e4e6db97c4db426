"""``manage.py billing_run``: renew everything due now, in this process (no Celery needed).

For operators (after an outage, or to check a deployment) and for the crash tests. Safe to
run while workers run: rows are shared with SKIP LOCKED and every repeat is a no-op.
"""

from __future__ import annotations

from datetime import datetime

from django.core.management.base import BaseCommand, CommandError

from billing.services.billing_run import (
    BATCH_SIZE,
    RunStats,
    billing_run_chunk,
    billing_run_due_chunks,
    billing_run_tick,
)
from cobro import clock


class Command(BaseCommand):
    help = "Renew every subscription due now (or at --now), catching up missed periods."

    def add_arguments(self, parser):
        parser.add_argument("--now", help="ISO 8601 instant with offset (default: the clock)")
        parser.add_argument("--organization", type=int, help="only this organization id")
        parser.add_argument(
            "--slow", action="store_true", help="one subscription per transaction (no batching)"
        )
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
        parser.add_argument(
            "--enqueue", action="store_true", help="fan out to Celery like the beat tick instead"
        )

    def handle(self, *args, **options):
        now = clock.now()
        if options["now"]:
            try:
                now = datetime.fromisoformat(options["now"])
            except ValueError as exc:
                raise CommandError(f"--now: {exc}") from exc
            if now.tzinfo is None:
                raise CommandError("--now needs a UTC offset, e.g. 2025-01-01T00:00:00+00:00")
        if options["enqueue"]:
            chunks = billing_run_tick(now=now)
            self.stdout.write(f"enqueued {len(chunks)} chunks")
            return
        chunks = billing_run_due_chunks(now=now, organization_id=options["organization"])
        self.stdout.write(f"start: {len(chunks)} chunks, {sum(c.due for c in chunks)} due")
        self.stdout.flush()
        total = RunStats()
        for chunk in chunks:
            stats = billing_run_chunk(
                organization_id=chunk.organization_id,
                id_from=chunk.id_from,
                id_to=chunk.id_to,
                now=chunk.now,
                fast=not options["slow"],
                batch_size=options["batch_size"],
            )
            total.add(stats)
            if options["verbosity"] > 1:
                self.stdout.write(
                    f"organization {chunk.organization_id} ids {chunk.id_from}-{chunk.id_to}: "
                    f"{stats.invoices} invoices"
                )
        self.stdout.write(
            f"done: {total.subscriptions} subscriptions, {total.invoices} invoices"
            + (f", {len(total.failed)} failed (see log)" if total.failed else "")
        )
