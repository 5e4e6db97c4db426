"""A small local Mercado Pago API for the adapter's tests, following the documented request
and response shapes (customers, cards, card tokens, payments with ``X-Idempotency-Key``,
search by ``external_reference``, refunds). Like the real API it deduplicates POSTs by their
idempotency key. Test card tokens name the outcome, like Mercado Pago's test cardholder
names (APRO approves, FUND: insufficient funds, OTHE: other reason).

What MercadoPago.js does in the browser is here too: ``POST /v1/card_tokens?public_key=...``
with the card data (no access token) answers an opaque single-use card token, as
``mp.fields.createCardToken`` does; the cardholder name picks the outcome (APRO, FUND, OTHE).
``browser_card_token()`` is that call for tests that play the browser.

Saved cards are charged through a token made from the card id without a security code, which
Mercado Pago allows only to applications it enabled for Automatic Payments:
``automatic_payments=False`` plays an application that is not, and refuses such a payment
the way Mercado Pago does (400, cause 3031 "security_code_id can't be null")."""

from __future__ import annotations

import itertools
import json
import re
import threading
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse
from urllib.request import Request, urlopen

OUTCOMES = {
    "APRO": ("approved", "accredited"),
    "FUND": ("rejected", "cc_rejected_insufficient_amount"),
    "OTHE": ("rejected", "cc_rejected_other_reason"),
}
#: The public key the fake's browser tokenization accepts (credentials ``public_key``).
PUBLIC_KEY = "TEST-pub-cobro-fake"


def _payment_method_of(number: str) -> dict:
    """Mercado Pago's payment method for a card number, by its first digits."""
    if number.startswith(("34", "37")):
        return {"id": "amex", "name": "American Express", "payment_type_id": "credit_card"}
    if number.startswith("4"):
        return {"id": "visa", "name": "Visa", "payment_type_id": "credit_card"}
    return {"id": "master", "name": "Mastercard", "payment_type_id": "credit_card"}


class MercadoPagoFake:
    def __init__(self, currency: str = "CLP", *, automatic_payments: bool = True) -> None:
        self.currency = currency
        self.automatic_payments = automatic_payments
        self.ids = itertools.count(1_000_001)
        self.customers: dict[str, dict] = {}
        self.cards: dict[str, dict] = {}
        self.card_tokens: dict[str, dict] = {}
        self.payments: dict[str, dict] = {}
        self.idempotent: dict[tuple[str, str], tuple[int, dict]] = {}
        self.requests: list[tuple[str, str, dict]] = []
        #: (method, path, JSON body) of every request, to check what was sent.
        self.bodies: list[tuple[str, str, dict]] = []
        #: Opaque card tokens made by the "browser" (public key), used once by a save.
        self.browser_tokens: dict[str, dict] = {}
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
        if method == "POST" and path.rstrip("/") == "/v1/card_tokens" and "public_key" in query:
            return self._browser_tokenize(query["public_key"][0], body)
        if not (headers.get("Authorization") or "").startswith("Bearer "):
            return 401, {"message": "unauthorized", "status": 401}
        key = headers.get("X-Idempotency-Key") or headers.get("x-idempotency-key") or ""
        if method == "POST" and key and (path, key) in self.idempotent:
            return self.idempotent[(path, key)]
        answer = self._route(method, path, query, body, key)
        if method == "POST" and key and answer[0] < 500:
            self.idempotent[(path, key)] = answer
        return answer

    def _browser_tokenize(self, public_key: str, body: dict) -> tuple[int, dict]:
        """MercadoPago.js's token request: card data with the public key, no access token."""
        if public_key != PUBLIC_KEY:
            return 401, {"message": "invalid public key", "status": 401}
        number = str(body.get("card_number") or "")
        holder = str((body.get("cardholder") or {}).get("name") or "").upper()
        month, year = body.get("expiration_month"), body.get("expiration_year")
        if not (number.isdigit() and 13 <= len(number) <= 19) or not body.get("security_code"):
            return 400, {"message": "invalid card data", "status": 400}
        if holder not in OUTCOMES or not month or not year:
            return 400, {"message": "invalid cardholder or expiry", "status": 400}
        tid = f"{next(self.ids):032x}"
        self.browser_tokens[tid] = {
            "holder": holder,
            "first_six_digits": number[:6],
            "last_four_digits": number[-4:],
            "expiration_month": int(month),
            "expiration_year": int(year),
            "payment_method": _payment_method_of(number),
        }
        return 201, {
            "id": tid,
            "public_key": public_key,
            "status": "active",
            "first_six_digits": number[:6],
            "last_four_digits": number[-4:],
            "expiration_month": int(month),
            "expiration_year": int(year),
            "luhn_validation": True,
            "live_mode": False,
            "date_created": self._now(),
        }

    def browser_card_token(
        self, number: str, *, holder: str = "APRO", month: int = 11, year: int = 2030
    ) -> str:
        """Play MercadoPago.js in the customer's browser: card data -> an opaque card token."""
        data = json.dumps(
            {
                "card_number": number,
                "security_code": "123",
                "expiration_month": month,
                "expiration_year": year,
                "cardholder": {"name": holder, "identification": {"type": "RUT", "number": "1"}},
            }
        ).encode()
        request = Request(  # noqa: S310 - the local fake
            f"{self.url}/v1/card_tokens?{urlencode({'public_key': PUBLIC_KEY})}",
            data=data,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urlopen(request) as answer:  # noqa: S310 - the local fake
            return json.loads(answer.read())["id"]

    def _saved_card(self, customer_id: str, token: str) -> dict | None:
        """The card a POST /v1/customers/{id}/cards token stands for (None: unknown token)."""
        browser = self.browser_tokens.pop(token, None)
        if browser is not None:
            return {
                "id": str(next(self.ids)),
                "customer_id": customer_id,
                "expiration_month": browser["expiration_month"],
                "expiration_year": browser["expiration_year"],
                "first_six_digits": browser["first_six_digits"],
                "last_four_digits": browser["last_four_digits"],
                "payment_method": browser["payment_method"],
                "_holder": browser["holder"],
            }
        holder = token.split("_")[1] if token.count("_") >= 2 else ""
        if holder not in OUTCOMES:
            return None
        number = token.rsplit("_", 1)[-1]
        return {
            "id": str(next(self.ids)),
            "customer_id": customer_id,
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

    def _route(self, method, path, query, body, key) -> tuple[int, dict]:
        path = path.rstrip("/")
        if method == "POST" and path == "/v1/customers":
            cid = f"{next(self.ids)}-cust"
            self.customers[cid] = {"id": cid, "email": body.get("email"), "cards": []}
            return 201, {**self.customers[cid], "date_created": self._now()}
        if method == "GET" and (m := re.fullmatch(r"/v1/customers/([^/]+)/cards/([^/]+)", path)):
            card = self.cards.get(m.group(2))
            if card is None or card["customer_id"] != m.group(1):
                return 404, {"message": "card not found", "status": 404}
            return 200, {k: v for k, v in card.items() if not k.startswith("_")}
        if m := re.fullmatch(r"/v1/customers/([^/]+)/cards", path):
            if m.group(1) not in self.customers:
                return 404, {"message": "customer not found", "status": 404}
            card = self._saved_card(m.group(1), str(body.get("token") or ""))
            if card is None:
                return 400, {"message": "invalid card token", "status": 400}
            self.cards[card["id"]] = card
            return 201, {k: v for k, v in card.items() if not k.startswith("_")}
        if method == "POST" and path == "/v1/card_tokens":
            card = self.cards.get(str(body.get("card_id")))
            if card is None or card["customer_id"] != body.get("customer_id"):
                return 400, {"message": "invalid card_id", "status": 400}
            tid = f"ctok{next(self.ids)}"
            # Made on the server from the card id: no security code travels with it.
            self.card_tokens[tid] = {**card, "_security_code": bool(body.get("security_code"))}
            return 201, {"id": tid, "card_id": card["id"], "status": "active"}
        if method == "POST" and path == "/v1/payments":
            if not key:
                return 400, {"message": "X-Idempotency-Key header is required", "status": 400}
            card = self.card_tokens.pop(str(body.get("token")), None)
            if card is None:
                return 400, {"message": "invalid token", "status": 400}
            if not card["_security_code"] and not self.automatic_payments:
                return 400, {
                    "message": "security_code_id can't be null",
                    "error": "bad_request",
                    "status": 400,
                    "cause": [{"code": 3031, "description": "security_code_id can't be null"}],
                }
            given = body.get("payment_method_id")
            if given and given != card["payment_method"]["id"]:
                return 400, {"message": "diff_param_bins", "status": 400}
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
                    fake.bodies.append((method, url.path, body))
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
