"""A storm of provider webhooks against the app served for real: duplicates, reordering,
forgeries and eight deliveries at a time across many payments. Whatever the order, each
payment is registered once, refunds are taken back once, forgeries change nothing, and
what the invoices received adds up to exactly the money that really arrived."""

from __future__ import annotations

import dataclasses
import json
import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from adapters.settings import Settings
from domain import checkout, customers, invoices, organisations, providers
from domain.models import Event, Invoice, OutboxMessage, Payment, PaymentAllocation
from portal import gateways
from settle.app import create_app
from tests.fakes.mollie_fake import FakeMollie
from tests.fakes.server import free_port, serve
from tests.fakes.stripe_fake import FakeStripe, sign
from tests.integration import portal_helpers as h

PAYMENTS_PER_PROVIDER = 120
SEED = 20261202


@dataclasses.dataclass
class Delivery:
    path: str
    body: bytes
    headers: dict[str, str]
    forged: bool = False


def _stripe(path: str, event: dict[str, Any], secret: str, *, stale: bool = False,
            tamper: bool = False) -> Delivery:  # fmt: skip
    payload = json.dumps(event)
    header = sign(payload, secret, int(time.time()) - (3600 if stale else 0))
    body = payload.replace('"livemode": false', '"livemode": true') if tamper else payload
    return Delivery(path, body.encode(), {"Stripe-Signature": header, "Content-Type": "application/json"})


def test_a_storm_of_duplicate_reordered_and_forged_webhooks_registers_each_payment_once(
    engine: Engine, db: Session, settings: Settings, mollie_fake: FakeMollie, stripe_fake: FakeStripe
) -> None:
    rng = random.Random(SEED)
    port = free_port()
    live = dataclasses.replace(settings, base_url=f"http://127.0.0.1:{port}", sandbox_payments=False,
                               mollie_api_base=mollie_fake.base_url, stripe_api_base=stripe_fake.base_url)  # fmt: skip
    org, _ = organisations.create(db, "Storm Groothandel")
    providers.set_credentials(db, org.id, "mollie", mollie_fake.api_key)
    providers.set_credentials(db, org.id, "stripe", stripe_fake.api_key, stripe_fake.webhook_secret)
    db.commit()

    # Debtors with one or two invoices; each starts a payment of everything open. Every tenth
    # starts a second one for the same invoices, as a double click would: if both are paid, the
    # second is a credit on the customer.
    started: list[tuple[str, Payment]] = []
    for i in range(PAYMENTS_PER_PROVIDER * 2 * 10 // 11):
        provider = ("mollie", "stripe")[i % 2]
        c = customers.create(db, org.id, name=f"Debiteur {i}", email=f"d{i}@storm.example")
        for n in range(1 + i % 2):
            invoices.create(db, org, invoices.NewInvoice(
                number=f"S-{i}-{n}", issue_date=h.TODAY, due_date=h.TODAY, amount_cents=rng.randint(1_00, 5_000_00),
                currency="EUR", customer_id=c.id))  # fmt: skip
        for _ in range(2 if i % 10 == 0 else 1):
            payment = checkout.start(db, c, [], provider)
            gateway = gateways.gateway(db, live, org, provider)
            assert gateway is not None
            checkout.attach(db, payment, gateway.create_checkout(
                payment, payment.amount_cents, payment.currency, payment.reference or "",
                return_url=f"{live.base_url}/portal/payments/{payment.id}",
                webhook_url=f"{live.base_url}/webhooks/{provider}/{org.slug}"))  # fmt: skip
            started.append((provider, payment))
    db.commit()

    # What really happens at the providers, and the webhooks they send about it.
    deliveries: list[Delivery] = []
    truth: dict[str, tuple[str, int]] = {}  # payment id -> (final status, cents refunded)
    hook = {p: f"/webhooks/{p}/{org.slug}" for p in ("mollie", "stripe")}
    secret = stripe_fake.webhook_secret
    for provider, payment in started:
        pid = str(payment.provider_payment_id)
        fate = rng.choice(["paid"] * 6 + ["refunded", "failed", "canceled", "expired"])
        refund = rng.randint(1, payment.amount_cents) if fate == "refunded" else 0
        status = "paid" if fate == "refunded" else fate
        if provider == "mollie":
            mollie_fake.set_status(pid, status)
            if refund:
                mollie_fake.refund(pid, refund)
            notices = [Delivery(hook["mollie"], f"id={pid}".encode(),
                                {"Content-Type": "application/x-www-form-urlencoded"})] * rng.randint(2, 4)  # fmt: skip
        else:
            if status == "paid":
                asynchronous = rng.random() < 0.3
                events = [stripe_fake.complete(pid, async_payment=asynchronous)]
                if asynchronous:
                    events.append(stripe_fake.async_result(pid, succeeded=True))
                if refund:
                    events.append(stripe_fake.refund(pid, refund))
            elif status == "failed":
                events = [stripe_fake.complete(pid, async_payment=True), stripe_fake.async_result(pid, False)]
            else:  # a Stripe session that is not paid expires; cancelling at Stripe is leaving the page
                status = "expired"
                events = [stripe_fake.expire(pid)]
            notices = [_stripe(hook["stripe"], e, secret) for e in events for _ in range(rng.randint(1, 3))]
            forged = events[0]
            notices += [
                dataclasses.replace(_stripe(hook["stripe"], forged, "whsec_attacker"), forged=True),
                dataclasses.replace(_stripe(hook["stripe"], forged, secret, stale=True), forged=True),
                dataclasses.replace(_stripe(hook["stripe"], forged, secret, tamper=True), forged=True),
            ]
        truth[payment.id] = (status, refund)
        deliveries += notices
    deliveries += [Delivery(hook["mollie"], b"id=tr_neverissued", {"Content-Type": "application/x-www-form-urlencoded"})
                   for _ in range(20)]  # fmt: skip
    deliveries += [dataclasses.replace(d, forged=True) for d in
                   [Delivery(hook["mollie"], b"id=%3Cscript%3E", {"Content-Type": "application/x-www-form-urlencoded"})]
                   * 10]  # fmt: skip
    rng.shuffle(deliveries)
    assert len(deliveries) >= 1000

    with serve(create_app(live, engine=engine), port) as url, httpx.Client(base_url=url, timeout=60) as http:
        def send(d: Delivery) -> tuple[bool, int]:
            return d.forged, http.post(d.path, content=d.body, headers=d.headers).status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = Counter(pool.map(send, deliveries))

    forged = sum(1 for d in deliveries if d.forged)
    assert answers == {(True, 400): forged, (False, 200): len(deliveries) - forged}, answers

    h.reread(db)
    by_id = {p.id: p for p in db.scalars(select(Payment).where(Payment.org_id == org.id))}
    for pid, (status, refund) in truth.items():
        assert (by_id[pid].status, by_id[pid].refunded_cents) == (status, refund), pid
    paid = [pid for pid, (status, _) in truth.items() if status == "paid"]
    registered = Counter(e.subject_id for e in db.scalars(select(Event).where(Event.kind == "payment.paid")))
    assert registered == Counter(paid)  # each paid payment once, nothing else
    thanked = db.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "thank_you"))
    assert thanked == len(paid)
    reversed_ = Counter(e.subject_id for e in db.scalars(select(Event).where(Event.kind == "payment.reversed")))
    assert reversed_ == Counter(pid for pid, (_, refund) in truth.items() if refund)

    # The money: what the invoices received plus the customers' credits is what really arrived.
    received = sum(by_id[pid].amount_cents - truth[pid][1] for pid in paid)
    settled = db.scalar(select(func.sum(Invoice.amount_cents - Invoice.open_cents)).where(Invoice.org_id == org.id))
    credit = sum(p.unallocated_cents for p in by_id.values())
    assert settled + credit == received
    allocated = db.scalar(select(func.sum(PaymentAllocation.amount_cents)).where(PaymentAllocation.org_id == org.id))
    assert allocated == settled
    for inv in db.scalars(select(Invoice).where(Invoice.org_id == org.id)):
        assert 0 <= inv.open_cents <= inv.amount_cents
        assert (inv.status == "paid") == (inv.open_cents == 0), inv.number
