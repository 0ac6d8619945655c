"""The built-in sandbox payment provider (``SETTLE_SANDBOX_PAYMENTS=1``).

It behaves like a hosted checkout: ``create_checkout`` answers a URL on this
server, ``/sandbox/checkout/{id}`` lets the payer choose paid, failed or
cancelled, and the outcome comes back the way a provider's webhook would (an
id only, after which the app fetches the status; see ``portal.callbacks``).
The provider's own records are events (``sandbox.checkout_created``,
``sandbox.outcome``): durable, shared between workers, no table of its own.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect
from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.settings import Settings
from domain.events import record
from domain.gateway import (
    Checkout,
    CheckoutHints,
    ProviderState,
    ProviderStatus,
    WebhookNotice,
    WebhookRejected,
    as_status,
)
from domain.models import Event, Organisation, Payment
from portal import pages
from portal.callbacks import on_notice
from portal.delivery import deliver_soon
from portal.errors import PageNotFound
from portal.i18n import pick
from portal.session import anonymous_csrf, check_csrf, current, ensure_anonymous_csrf, set_csrf_cookie

OUTCOMES = ("paid", "failed", "canceled")


class SandboxGateway:
    name = "sandbox"

    def __init__(self, session: Session, org_id: str, base_url: str) -> None:
        self.session, self.org_id, self.base_url = session, org_id, base_url.rstrip("/")

    def create_checkout(self, payment: Payment, amount_cents: int, currency: str, description: str,
                        return_url: str, webhook_url: str, hints: CheckoutHints | None = None) -> Checkout:  # fmt: skip
        pid = "sbx_" + secrets.token_urlsafe(18)
        record(self.session, self.org_id, "sandbox.checkout_created", payment, provider_payment_id=pid,
               amount_cents=amount_cents, currency=currency, description=description, return_url=return_url,
               webhook_url=webhook_url,
               structured_reference=hints.structured_reference if hints else None)  # fmt: skip
        return Checkout(provider_payment_id=pid, checkout_url=f"{self.base_url}/sandbox/checkout/{pid}")

    def _payment(self, pid: str) -> Payment | None:
        return self.session.scalar(
            select(Payment).where(Payment.org_id == self.org_id, Payment.provider == self.name,
                                  Payment.provider_payment_id == pid)
        )  # fmt: skip

    def _event(self, payment: Payment, kind: str) -> Event | None:
        return self.session.scalar(
            select(Event)
            .where(Event.org_id == self.org_id, Event.kind == kind, Event.subject_id == payment.id)
            .order_by(Event.id.desc())
            .limit(1)
        )

    def fetch_status(self, provider_payment_id: str) -> ProviderStatus:
        payment = self._payment(provider_payment_id)
        outcome = self._event(payment, "sandbox.outcome") if payment is not None else None
        return as_status(str(outcome.data["status"])) if outcome is not None else "pending"

    def fetch(self, provider_payment_id: str) -> ProviderState:
        return ProviderState(self.fetch_status(provider_payment_id))

    def cancel(self, provider_payment_id: str) -> ProviderState:
        return self.fetch(provider_payment_id)  # a cancel on the checkout page is final already

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookNotice:
        ids = parse_qs(body.decode("utf-8", "replace")).get("id") or []
        if len(ids) != 1 or not ids[0].startswith("sbx_"):
            raise WebhookRejected("a sandbox webhook carries one form field id=sbx_…")
        return WebhookNotice(ids[0])

    def choose(self, payment: Payment, outcome: str) -> ProviderStatus:
        """The payer's choice on the checkout page; the first choice is final, as at a real provider."""
        assert payment.provider_payment_id is not None
        current_status = self.fetch_status(payment.provider_payment_id)
        if current_status != "pending":
            return current_status
        record(self.session, self.org_id, "sandbox.outcome", payment, status=outcome,
               provider_payment_id=payment.provider_payment_id)  # fmt: skip
        return as_status(outcome)

    def return_url(self, payment: Payment) -> str:
        created = self._event(payment, "sandbox.checkout_created")
        return str(created.data["return_url"]) if created is not None else f"/portal/payments/{payment.id}"


def _find(db: Session, settings: Settings, pid: str) -> tuple[SandboxGateway, Payment]:
    if not settings.sandbox_payments or not pid.startswith("sbx_"):
        raise PageNotFound()
    payment = db.scalar(select(Payment).where(Payment.provider == "sandbox", Payment.provider_payment_id == pid))
    if payment is None:
        raise PageNotFound()
    return SandboxGateway(db, payment.org_id, settings.base_url), payment


def _lang(request: Request[Any, Any, Any], db: Session, settings: Settings) -> str:
    visitor = current(request, db, settings, pages.now())
    return pick(request.query_params.get("lang"), visitor.lang if visitor else None)


class SandboxController(Controller):
    path = "/sandbox/checkout"
    include_in_schema = False

    @get("/{provider_payment_id:str}", sync_to_thread=True)
    def checkout_page(self, request: Request[Any, Any, Any], db: Session, settings: Settings,
                      provider_payment_id: str) -> Response[Any]:  # fmt: skip
        gateway, payment = _find(db, settings, provider_payment_id)
        token, cookie = ensure_anonymous_csrf(request, settings)
        org = db.get_one(Organisation, payment.org_id)
        response = pages.render(
            "portal/sandbox.html.j2", lang=_lang(request, db, settings), csrf=token, org=org, payment=payment,
            outcome=gateway.fetch_status(provider_payment_id), outcomes=OUTCOMES,
        )  # fmt: skip
        if cookie:
            set_csrf_cookie(response, settings, cookie)
        return response

    @post("/{provider_payment_id:str}", sync_to_thread=True, status_code=303)
    def choose(self, request: Request[Any, Any, Any], wdb: Session, settings: Settings, provider_payment_id: str,
               data: dict[str, Any] = Body(media_type=RequestEncodingType.URL_ENCODED)) -> Response[Any]:  # fmt: skip
        check_csrf(request, data, anonymous_csrf(request, settings))
        gateway, payment = _find(wdb, settings, provider_payment_id)
        outcome = data.get("outcome")
        if outcome not in OUTCOMES:
            raise PageNotFound()
        gateway.choose(payment, str(outcome))
        # The provider calls the app back: an id only, as Mollie does; the app fetches the status.
        notice = gateway.parse_webhook(f"id={provider_payment_id}".encode(), {})
        _, changed = on_notice(wdb, request.app.state.mailer, gateway, payment.org_id, notice, pages.today())
        back = gateway.return_url(payment)
        wdb.commit()
        task = deliver_soon(request.app.state.courier, payment.org_id) if changed else None
        return Redirect(back, status_code=303, background=task)
