"""A fake of the part of Stripe that Settle uses: Checkout Sessions, a hosted page, signed webhooks.

It keeps state, answers the official ``stripe`` SDK (point ``api_base`` here), serves a
checkout page a browser can click, and sends webhooks signed exactly as Stripe signs
them (``Stripe-Signature: t=…,v1=HMAC-SHA256(secret, "t.payload")``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
from litestar import Litestar, Request, Response, get, post
from litestar.response import Redirect


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def _unflatten(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding (``a[b][0][c]=v``) back into nested dicts and lists."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        node: Any = out
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            nxt_is_index = not last and parts[i + 1].isdigit()
            if isinstance(node, list):
                idx = int(part)
                while len(node) <= idx:
                    node.append({} if not last else None)
                if last:
                    node[idx] = value
                else:
                    if not isinstance(node[idx], dict | list) or (nxt_is_index and not isinstance(node[idx], list)):
                        node[idx] = [] if nxt_is_index else {}
                    node = node[idx]
            else:
                if last:
                    node[part] = value
                else:
                    node = node.setdefault(part, [] if nxt_is_index else {})
    return out


@dataclass
class FakeStripe:
    webhook_secret: str = "whsec_test_secret"
    webhook_url: str | None = None
    api_key: str = "sk_test_fake"
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    sent_events: list[dict[str, Any]] = field(default_factory=list)
    base_url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    # --- state changes, also usable directly from tests ------------------------------------------

    def event(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        return {"id": f"evt_{secrets.token_hex(8)}", "object": "event", "type": kind, "created": int(time.time()),
                "api_version": "2024-06-20", "livemode": False, "data": {"object": obj}}

    def deliver(self, event: dict[str, Any], *, secret: str | None = None, timestamp: int | None = None) -> int:
        assert self.webhook_url, "set webhook_url first"
        payload = json.dumps(event)
        header = sign(payload, secret or self.webhook_secret, timestamp)
        self.sent_events.append(event)
        r = httpx.post(self.webhook_url, content=payload, headers={"Stripe-Signature": header,
                                                                    "Content-Type": "application/json"})
        return r.status_code

    def complete(self, session_id: str, *, async_payment: bool = False) -> dict[str, Any]:
        with self.lock:
            s = self.sessions[session_id]
            s["status"] = "complete"
            s["payment_intent"] = s.get("payment_intent") or f"pi_{secrets.token_hex(8)}"
            s["payment_status"] = "unpaid" if async_payment else "paid"
        return self.event("checkout.session.completed", dict(s))

    def async_result(self, session_id: str, succeeded: bool) -> dict[str, Any]:
        with self.lock:
            s = self.sessions[session_id]
            s["payment_status"] = "paid" if succeeded else "unpaid"
        kind = "checkout.session.async_payment_succeeded" if succeeded else "checkout.session.async_payment_failed"
        return self.event(kind, dict(s))

    def expire(self, session_id: str) -> dict[str, Any]:
        with self.lock:
            s = self.sessions[session_id]
            s["status"] = "expired"
        return self.event("checkout.session.expired", dict(s))

    def refund(self, session_id: str, amount: int | None = None) -> dict[str, Any]:
        s = self.sessions[session_id]
        charge = {"id": f"ch_{secrets.token_hex(8)}", "object": "charge", "payment_intent": s["payment_intent"],
                  "amount": s["amount_total"], "amount_refunded": amount or s["amount_total"], "refunded": True,
                  "currency": s["currency"], "metadata": s.get("metadata", {})}
        return self.event("charge.refunded", charge)

    def dispute(self, session_id: str) -> dict[str, Any]:
        s = self.sessions[session_id]
        dispute = {"id": f"dp_{secrets.token_hex(8)}", "object": "dispute", "payment_intent": s["payment_intent"],
                   "amount": s["amount_total"], "currency": s["currency"], "status": "needs_response"}
        return self.event("charge.dispute.created", dispute)

    # --- the HTTP side ----------------------------------------------------------------------------

    def app(self) -> Litestar:
        fake = self

        def authorised(request: Request[Any, Any, Any]) -> bool:
            return request.headers.get("authorization", "") == f"Bearer {fake.api_key}"

        def error(status: int, message: str) -> Response[Any]:
            return Response({"error": {"type": "invalid_request_error", "message": message}}, status_code=status)

        @post("/v1/checkout/sessions", status_code=200)
        async def create_session(request: Request[Any, Any, Any]) -> Response[Any]:
            if not authorised(request):
                return error(401, "Invalid API Key provided")
            form = _unflatten(parse_qsl((await request.body()).decode(), keep_blank_values=True))
            items = form.get("line_items", [])
            total = sum(int(i["price_data"]["unit_amount"]) * int(i.get("quantity", 1)) for i in items)
            currency = items[0]["price_data"]["currency"] if items else "eur"
            sid = f"cs_test_{secrets.token_hex(12)}"
            session = {
                "id": sid, "object": "checkout.session", "mode": form.get("mode", "payment"),
                "status": "open", "payment_status": "unpaid", "amount_total": total, "currency": currency,
                "client_reference_id": form.get("client_reference_id"), "metadata": form.get("metadata", {}),
                "success_url": form.get("success_url"), "cancel_url": form.get("cancel_url"),
                "expires_at": int(form.get("expires_at", time.time() + 3600)), "payment_intent": None,
                "payment_method_types": form.get("payment_method_types", ["card"]), "locale": form.get("locale"),
                "url": f"{fake.base_url}/pay/{sid}", "livemode": False,
            }
            with fake.lock:
                fake.sessions[sid] = session
            return Response(session)

        @get("/v1/checkout/sessions")
        async def list_sessions(request: Request[Any, Any, Any]) -> Response[Any]:
            if not authorised(request):
                return error(401, "Invalid API Key provided")
            intent = request.query_params.get("payment_intent")
            found = [s for s in fake.sessions.values() if intent is None or s.get("payment_intent") == intent]
            limit = int(request.query_params.get("limit", 10))
            return Response({"object": "list", "url": "/v1/checkout/sessions", "has_more": len(found) > limit,
                             "data": found[:limit]})

        @get("/v1/checkout/sessions/{sid:str}")
        async def get_session(request: Request[Any, Any, Any], sid: str) -> Response[Any]:
            if not authorised(request):
                return error(401, "Invalid API Key provided")
            if sid not in fake.sessions:
                return error(404, f"No such checkout.session: '{sid}'")
            return Response(fake.sessions[sid])

        @post("/v1/checkout/sessions/{sid:str}/expire", status_code=200)
        async def expire_session(request: Request[Any, Any, Any], sid: str) -> Response[Any]:
            if not authorised(request):
                return error(401, "Invalid API Key provided")
            if sid not in fake.sessions:
                return error(404, f"No such checkout.session: '{sid}'")
            with fake.lock:
                s = fake.sessions[sid]
                if s["status"] != "open":
                    return error(400, "Only Checkout Sessions with a status in ['open'] can be expired.")
                s["status"] = "expired"
            return Response(s)

        @get("/pay/{sid:str}", media_type="text/html")
        async def hosted(sid: str) -> str:
            s = fake.sessions[sid]
            amount = f"{s['amount_total'] // 100}.{s['amount_total'] % 100:02d} {s['currency'].upper()}"
            return (f"<!doctype html><title>Stripe test checkout</title><h1>Pay {amount}</h1>"
                    f"<form method=post action='/pay/{sid}'><button name=outcome value=paid>Pay</button>"
                    f"<button name=outcome value=cancel>Cancel</button></form>")

        @post("/pay/{sid:str}", status_code=303)
        async def hosted_submit(request: Request[Any, Any, Any], sid: str) -> Redirect:
            outcome = dict(parse_qsl((await request.body()).decode())).get("outcome")
            s = fake.sessions[sid]
            if outcome == "paid":
                fake.deliver(fake.complete(sid))
                return Redirect(s["success_url"].replace("{CHECKOUT_SESSION_ID}", sid))
            return Redirect(s["cancel_url"].replace("{CHECKOUT_SESSION_ID}", sid))

        return Litestar([create_session, list_sessions, get_session, expire_session, hosted, hosted_submit],
                       debug=False)
