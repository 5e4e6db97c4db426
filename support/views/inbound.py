"""The inbound mail webhook: a mail provider (or our MTA) POSTs one raw RFC 5322 message,
signed with the shared secret: ``X-Cobro-Timestamp`` (Unix seconds) and ``X-Cobro-Signature``
= hex HMAC-SHA256 of ``"<timestamp>.<body>"``. Unsigned, stale or wrongly signed requests are
refused (403) before anything is parsed."""

from __future__ import annotations

import hashlib
import hmac
import time

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from support.services.inbound import MAX_RAW_BYTES, inbound_ingest

TOLERANCE_SECONDS = 300


def inbound_signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


@method_decorator(csrf_exempt, name="dispatch")
class InboundWebhookView(View):
    http_method_names = ["post"]

    def post(self, request):
        secret = settings.COBRO_SUPPORT_INBOUND_SECRET
        if not secret or not settings.COBRO_SUPPORT_INBOUND_ADDRESS:
            return HttpResponse(status=404)
        timestamp = request.headers.get("X-Cobro-Timestamp", "")
        signature = request.headers.get("X-Cobro-Signature", "")
        try:
            fresh = abs(time.time() - int(timestamp)) <= TOLERANCE_SECONDS
        except ValueError:
            fresh = False
        # Read the stream (request.body would stop at DATA_UPLOAD_MAX_MEMORY_SIZE, 2.5 MB).
        body = request.read(MAX_RAW_BYTES + 1)
        if not fresh or not hmac.compare_digest(
            signature, inbound_signature(secret, timestamp, body)
        ):
            return HttpResponse(status=403)
        if len(body) > MAX_RAW_BYTES:
            return HttpResponse(status=413)
        result = inbound_ingest(body)
        return JsonResponse(
            {
                "outcome": result.outcome,
                "conversation": result.conversation.pk if result.conversation else None,
            }
        )
