"""Helpers for the Mollie and Stripe tests: set an organisation up with a fake provider,
start a payment from the portal, and deliver webhooks the way each provider does."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from adapters.settings import Settings
from domain import providers
from domain.models import Organisation, Payment
from tests.fakes.mollie_fake import FakeMollie
from tests.fakes.stripe_fake import FakeStripe, sign
from tests.integration import portal_helpers as h


def enable_mollie(db: Session, org: Organisation, fake: FakeMollie, methods: list[str] | None = None) -> None:
    providers.set_credentials(db, org.id, "mollie", fake.api_key, methods=methods)
    db.commit()


def enable_stripe(db: Session, org: Organisation, fake: FakeStripe, methods: list[str] | None = None) -> None:
    providers.set_credentials(db, org.id, "stripe", fake.api_key, fake.webhook_secret, methods=methods)
    db.commit()


def start(client: Any, db: Session, settings: Settings, world: h.World, provider: str,
          invoice_ids: list[str] | None = None) -> tuple[Payment, str]:  # fmt: skip
    """Sign in, press pay; the pending payment and the provider's checkout URL it was sent to."""
    h.reread(db)  # end any read snapshot of the test's session before it writes a link
    page = h.sign_in(client, db, settings, world.customer)
    r = h.pay(client, page, invoice_ids or [], provider=provider)
    assert r.status_code == 303, r.text
    [payment] = [p for p in h.payments(db, world.customer) if p.status == "pending"]
    return payment, str(r.headers["location"])


def paying(client: Any, db: Session, settings: Settings, fake: FakeMollie | FakeStripe, provider: str,
           invoice_ids: list[str] | None = None) -> tuple[h.World, Payment, str]:  # fmt: skip
    """A debtor of a creditor that takes ``provider``, who pressed pay: the world, the pending
    payment and the provider's id of it."""
    w = h.world(db)
    if isinstance(fake, FakeMollie):
        enable_mollie(db, w.org, fake)
    else:
        enable_stripe(db, w.org, fake)
    payment, _ = start(client, db, settings, w, provider, invoice_ids)
    assert payment.provider_payment_id is not None
    return w, payment, payment.provider_payment_id


def mollie_webhook(client: Any, org: Organisation, payment_id: str) -> Any:
    """What Mollie sends: a form POST with the payment id and nothing else."""
    return client.post(f"/webhooks/mollie/{org.slug}", data={"id": payment_id})


def stripe_webhook(client: Any, org: Organisation, event: dict[str, Any], secret: str,
                   timestamp: int | None = None, payload: str | None = None) -> Any:  # fmt: skip
    """What Stripe sends: the event as JSON, signed with the endpoint's secret."""
    body = payload if payload is not None else json.dumps(event)
    header = sign(json.dumps(event), secret, timestamp if timestamp is not None else int(time.time()))
    return client.post(f"/webhooks/stripe/{org.slug}", content=body.encode(),
                       headers={"Stripe-Signature": header, "Content-Type": "application/json"})  # fmt: skip


def path_of(url: str) -> str:
    return urlsplit(url).path
