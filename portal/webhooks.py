"""``/webhooks/{provider}/{org_slug}``: Mollie and Stripe tell Settle that a payment changed.

A webhook is not a debtor: no session, no CSRF, no HTML. It answers JSON and
the status codes providers act on: 200 when the notice is handled or is about
nothing of ours (an unknown id changes nothing and makes no call to the
provider), 400 when it is not authentic (a bad or stale Stripe signature, a
malformed Mollie body) and nothing changes, 404 for an organisation that does
not take payments through that provider, and 503 when the provider could not
be asked, so that it delivers again later. Duplicates and reordering are
harmless: see ``portal.callbacks`` and ``domain.checkout``.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio.to_thread
from litestar import Controller, Request, Response, post
from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.settings import Settings
from domain import checkout
from domain.gateway import GatewayError, WebhookRejected
from domain.models import Organisation, Payment
from domain.providers import PROVIDERS  # the sandbox calls back through its own page
from portal import gateways, pages
from portal.callbacks import register, state_of
from portal.delivery import deliver_soon

log = logging.getLogger("settle.webhooks")


def _answer(status: int, **body: Any) -> Response[Any]:
    return Response(body, status_code=status, headers={"Cache-Control": "no-store"})


def _unavailable(provider: str, org_slug: str, exc: GatewayError) -> Response[Any]:
    log.warning("a %s webhook for %s could not be checked: %s", provider, org_slug, exc)
    return _answer(503, error="provider_unavailable", message="try again later")


class WebhookController(Controller):
    path = "/webhooks"
    include_in_schema = False

    @post("/{provider:str}/{org_slug:str}", status_code=200)
    async def receive(self, request: Request[Any, Any, Any], db: Session, wdb: Session, settings: Settings,
                      provider: str, org_slug: str) -> Response[Any]:  # fmt: skip
        body = await request.body()  # raw: a signature is over the exact bytes
        return await anyio.to_thread.run_sync(_receive, request, db, wdb, settings, provider, org_slug, body)


def _receive(request: Request[Any, Any, Any], db: Session, wdb: Session, settings: Settings, provider: str,
             org_slug: str, body: bytes) -> Response[Any]:  # fmt: skip
    """Read what the notice is about, ask the provider if need be, and only then write: no
    database lock is held while a provider is on the line."""
    try:
        org = db.scalar(select(Organisation).where(Organisation.slug == org_slug)) if provider in PROVIDERS else None
        gateway = gateways.gateway(db, settings, org, provider) if org is not None else None
        if org is None or gateway is None:
            return _answer(404, error="not_found", message=f"no organisation {org_slug!r} that takes {provider}")
        org_id = org.id
        db.rollback()  # no snapshot held while a provider may be asked (a Stripe refund names a charge)
        try:
            notice = gateway.parse_webhook(body, request.headers)
        except WebhookRejected as exc:
            log.warning("refused a %s webhook for %s: %s", provider, org_slug, exc)
            return _answer(400, error="webhook_rejected", message=str(exc))
        except GatewayError as exc:
            return _unavailable(provider, org_slug, exc)
        known = checkout.find(db, org_id, provider, notice.provider_payment_id) if notice.provider_payment_id else None
        payment_id = known.id if known is not None else None
        db.rollback()
        if payment_id is None:
            return _answer(200, received=True, known=False, changed=False)
        try:
            state = state_of(gateway, notice)
        except GatewayError as exc:
            return _unavailable(provider, org_slug, exc)
        payment = wdb.get_one(Payment, payment_id)
        changed = register(wdb, request.app.state.mailer, payment, state, pages.today())
        wdb.commit()
    finally:
        db.rollback()
        wdb.rollback()  # nothing uncommitted outlives the request, nor SQLite's write lock
    response = _answer(200, received=True, known=True, changed=changed)
    if changed:
        response.background = deliver_soon(request.app.state.courier, org_id)
    return response
