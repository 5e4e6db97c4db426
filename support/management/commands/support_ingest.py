"""``manage.py support_ingest < message.eml``: file one raw email (RFC 5322) into support.

For an MTA pipe (Postfix ``pipe``/``mailbox_command``, or a mail provider's "store and run").
Prints the outcome; exits 0 whatever it was (the message is kept in any case), so the MTA
does not bounce it back and start a loop.
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand

from support.services.inbound import inbound_ingest


class Command(BaseCommand):
    help = "Read one raw email from standard input (or a file) and file it into support."

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", help="a .eml file (default: standard input)")

    def handle(self, *args, **options):
        if options.get("path"):
            with open(options["path"], "rb") as fh:
                raw = fh.read()
        else:
            raw = sys.stdin.buffer.read()
        result = inbound_ingest(raw)
        conv = result.conversation.pk if result.conversation is not None else "-"
        self.stdout.write(f"{result.outcome} conversation={conv} inbound={result.inbound.pk}")
