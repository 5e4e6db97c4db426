"""A small local Mercado Pago API for the adapter's tests, following the documented request
and response shapes (customers, cards, card tokens, payments with ``X-Idempotency-Key``,
search by ``external_reference``, refunds). Like the real API it deduplicates POSTs by their
idempotency key. Test card tokens name the outcome, like Mercado Pago's test cardholder
names (APRO approves, FUND: insufficient funds, OTHE: other reason)."""

from __future__ import annotations

import itertools
import json
import re
import threading
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

OUTCOMES = {
    "APRO": ("approved", "accredited"),
    "FUND": ("rejected", "cc_rejected_insufficient_amount"),
    "OTHE": ("rejected", "cc_rejected_other_reason"),
}


class MercadoPagoFake:
    def __init__(self, currency: str = "CLP") -> None:
        self.currency = currency
        self.ids = itertools.count(1_000_001)
        self.customers: dict[str, dict] = {}
        self.cards: dict[str, dict] = {}
        self.card_tokens: dict[str, dict] = {}
        self.payments: dict[str, dict] = {}
        self.idempotent: dict[tuple[str, str], tuple[int, dict]] = {}
        self.requests: list[tuple[str, str, dict]] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def _now(self) -> str:
        return datetime.now(UTC).isoformat()

    # --- API ---------------------------------------------------------------------------------
    def handle(self, method: str, path: str, query: dict, body: dict, headers) -> tuple[int, dict]:
        if not (headers.get("Authorization") or "").startswith("Bearer "):
            return 401, {"message": "unauthorized", "status": 401}
        key = headers.get("X-Idempotency-Key") or headers.get("x-idempotency-key") or ""
        if method == "POST" and key and (path, key) in self.idempotent:
            return self.idempotent[(path, key)]
        answer = self._route(method, path, query, body, key)
        if method == "POST" and key and answer[0] < 500:
            self.idempotent[(path, key)] = answer
        return answer

    def _route(self, method, path, query, body, key) -> tuple[int, dict]:
        path = path.rstrip("/")
        if method == "POST" and path == "/v1/customers":
            cid = f"{next(self.ids)}-cust"
            self.customers[cid] = {"id": cid, "email": body.get("email"), "cards": []}
            return 201, {**self.customers[cid], "date_created": self._now()}
        if m := re.fullmatch(r"/v1/customers/([^/]+)/cards", path):
            if m.group(1) not in self.customers:
                return 404, {"message": "customer not found", "status": 404}
            token = str(body.get("token") or "")
            holder = token.split("_")[1] if token.count("_") >= 2 else ""
            if holder not in OUTCOMES:
                return 400, {"message": "invalid card token", "status": 400}
            number = token.rsplit("_", 1)[-1]
            card = {
                "id": str(next(self.ids)),
                "customer_id": m.group(1),
                "expiration_month": 11,
                "expiration_year": 2030,
                "first_six_digits": number[:6],
                "last_four_digits": number[-4:],
                "payment_method": {
                    "id": "master",
                    "name": "Mastercard",
                    "payment_type_id": "credit_card",
                },
                "_holder": holder,
            }
            self.cards[card["id"]] = card
            return 201, {k: v for k, v in card.items() if not k.startswith("_")}
        if method == "POST" and path == "/v1/card_tokens":
            card = self.cards.get(str(body.get("card_id")))
            if card is None or card["customer_id"] != body.get("customer_id"):
                return 400, {"message": "invalid card_id", "status": 400}
            tid = f"ctok{next(self.ids)}"
            self.card_tokens[tid] = card
            return 201, {"id": tid, "card_id": card["id"], "status": "active"}
        if method == "POST" and path == "/v1/payments":
            if not key:
                return 400, {"message": "X-Idempotency-Key header is required", "status": 400}
            card = self.card_tokens.pop(str(body.get("token")), None)
            if card is None:
                return 400, {"message": "invalid token", "status": 400}
            status, detail = OUTCOMES[card["_holder"]]
            pid = str(next(self.ids))
            payment = {
                "id": int(pid),
                "status": status,
                "status_detail": detail,
                "transaction_amount": body["transaction_amount"],
                "transaction_amount_refunded": 0,
                "currency_id": self.currency,
                "description": body.get("description"),
                "external_reference": body.get("external_reference"),
                "metadata": body.get("metadata") or {},
                "payer": body.get("payer"),
                "payment_method_id": card["payment_method"]["id"],
                "date_created": self._now(),
                "refunds": [],
            }
            self.payments[pid] = payment
            return 201, payment
        if method == "GET" and path == "/v1/payments/search":
            ref = (query.get("external_reference") or [""])[0]
            results = [p for p in self.payments.values() if p["external_reference"] == ref]
            return 200, {
                "paging": {"total": len(results), "limit": 30, "offset": 0},
                "results": results,
            }
        if m := re.fullmatch(r"/v1/payments/(\d+)", path):
            payment = self.payments.get(m.group(1))
            return (200, payment) if payment else (404, {"message": "not found", "status": 404})
        if m := re.fullmatch(r"/v1/payments/(\d+)/refunds", path):
            payment = self.payments.get(m.group(1))
            if payment is None or payment["status"] not in ("approved",):
                return 400, {"message": "payment not refundable", "status": 400}
            amount = Decimal(str(body.get("amount", payment["transaction_amount"])))
            left = Decimal(str(payment["transaction_amount"])) - Decimal(
                str(payment["transaction_amount_refunded"])
            )
            if amount <= 0 or amount > left:
                return 400, {"message": "invalid refund amount", "status": 400}
            refund = {
                "id": next(self.ids),
                "payment_id": payment["id"],
                "amount": float(amount),
                "status": "approved",
                "date_created": self._now(),
            }
            payment["refunds"].append(refund)
            payment["transaction_amount_refunded"] = float(
                Decimal(str(payment["transaction_amount_refunded"])) + amount
            )
            if amount == left:
                payment["status"] = "refunded"
            return 201, refund
        return 404, {"message": f"no route {method} {path}", "status": 404}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _serve(self, method):
                url = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else {}
                with fake.lock:
                    fake.requests.append(
                        (method, url.path, {k.lower(): v for k, v in self.headers.items()})
                    )
                    status, payload = fake.handle(
                        method, url.path, parse_qs(url.query), body, self.headers
                    )
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

        return Handler
