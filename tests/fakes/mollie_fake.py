"""A fake of Mollie's Payments API v2: create and fetch payments, a hosted checkout, webhooks.

Mollie's webhook carries only the payment id (a form POST ``id=tr_…``); the receiver must
fetch the payment to learn its status, which this fake answers from its own state.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import anyio.to_thread
import httpx
from litestar import Litestar, Request, Response, get, post
from litestar.response import Redirect

FINAL = ("paid", "failed", "canceled", "expired")


@dataclass
class FakeMollie:
    api_key: str = "test_fakefakefakefakefakefakefake"
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    webhook_calls: list[tuple[str, int]] = field(default_factory=list)
    base_url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set_status(self, payment_id: str, status: str) -> None:
        with self.lock:
            p = self.payments[payment_id]
            p["status"] = status
            if status == "paid":
                p["paidAt"] = dt.datetime.now(dt.UTC).isoformat()

    def refund(self, payment_id: str, cents: int) -> None:
        """A refund (of part) of a paid payment: Mollie keeps the running total and calls the webhook."""
        self._add(payment_id, "amountRefunded", cents)

    def charge_back(self, payment_id: str, cents: int) -> None:
        self._add(payment_id, "amountChargedBack", cents)

    def _add(self, payment_id: str, key: str, cents: int) -> None:
        with self.lock:
            p = self.payments[payment_id]
            before = int(Decimal(p.get(key, {}).get("value", "0")) * 100)
            total = before + cents
            p[key] = {"currency": p["amount"]["currency"], "value": f"{total // 100}.{total % 100:02d}"}

    def call_webhook(self, payment_id: str) -> int:
        p = self.payments[payment_id]
        r = httpx.post(p["webhookUrl"], data={"id": payment_id})
        self.webhook_calls.append((payment_id, r.status_code))
        return r.status_code

    def app(self) -> Litestar:
        fake = self

        def authorised(request: Request[Any, Any, Any]) -> bool:
            return request.headers.get("authorization", "") == f"Bearer {fake.api_key}"

        def problem(status: int, detail: str, field_name: str | None = None) -> Response[Any]:
            body: dict[str, Any] = {"status": status, "title": "Error", "detail": detail}
            if field_name:
                body["field"] = field_name
            return Response(body, status_code=status, media_type="application/hal+json")

        @post("/v2/payments", status_code=201)
        async def create(request: Request[Any, Any, Any]) -> Response[Any]:
            if not authorised(request):
                return problem(401, "Missing authentication, or failed to authenticate")
            data = await request.json()
            amount = data.get("amount") or {}
            value = str(amount.get("value", ""))
            if "." not in value or len(value.split(".")[1]) != 2:
                return problem(422, "The amount contains an invalid value", "amount.value")
            pid = f"tr_{secrets.token_hex(5)}"
            now = dt.datetime.now(dt.UTC)
            payment = {
                "resource": "payment", "id": pid, "mode": "test", "status": "open",
                "createdAt": now.isoformat(), "expiresAt": (now + dt.timedelta(minutes=15)).isoformat(),
                "amount": {"currency": amount.get("currency"), "value": value},
                "description": data.get("description"), "method": data.get("method"), "locale": data.get("locale"),
                "metadata": data.get("metadata"), "redirectUrl": data.get("redirectUrl"),
                "webhookUrl": data.get("webhookUrl"), "sequenceType": "oneoff",
                "_links": {
                    "self": {"href": f"{fake.base_url}/v2/payments/{pid}", "type": "application/hal+json"},
                    "checkout": {"href": f"{fake.base_url}/checkout/{pid}", "type": "text/html"},
                },
            }
            with fake.lock:
                fake.payments[pid] = payment
            return Response(payment, status_code=201, media_type="application/hal+json")

        @get("/v2/payments/{pid:str}")
        async def fetch(request: Request[Any, Any, Any], pid: str) -> Response[Any]:
            if not authorised(request):
                return problem(401, "Missing authentication, or failed to authenticate")
            if pid not in fake.payments:
                return problem(404, "No payment exists with token " + pid)
            return Response(fake.payments[pid], media_type="application/hal+json")

        @get("/checkout/{pid:str}", media_type="text/html")
        async def hosted(pid: str) -> str:
            p = fake.payments[pid]
            buttons = "".join(f"<button name=status value={s}>{s}</button>" for s in FINAL)
            return (f"<!doctype html><title>Mollie test checkout</title><h1>{p['amount']['currency']} "
                    f"{p['amount']['value']}</h1><p>{p['description']}</p>"
                    f"<form method=post action='/checkout/{pid}'>{buttons}</form>")

        @post("/checkout/{pid:str}", status_code=303)
        async def hosted_submit(request: Request[Any, Any, Any], pid: str) -> Redirect:
            status = dict(parse_qsl((await request.body()).decode())).get("status", "paid")
            fake.set_status(pid, status if status in FINAL else "paid")
            if fake.payments[pid].get("webhookUrl"):
                # From a worker thread: Settle asks this fake for the payment while it handles the
                # webhook, so the fake's event loop must stay free to answer.
                await anyio.to_thread.run_sync(fake.call_webhook, pid)
            return Redirect(fake.payments[pid]["redirectUrl"])

        return Litestar([create, fetch, hosted, hosted_submit], debug=False)
