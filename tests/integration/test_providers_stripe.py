"""Stripe Checkout through the official SDK against the fake: a session for the exact open
amount, verified webhooks (a bad or stale signature is 400 and changes nothing), the
asynchronous methods, expiry, refunds and disputes, and the return page racing the webhook."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.orm import Session

from adapters.settings import Settings
from tests.fakes.stripe_fake import FakeStripe
from tests.integration import portal_helpers as h
from tests.integration import provider_helpers as ph


def test_a_stripe_checkout_session_is_for_the_exact_open_amount_and_expires(
    pay_client: Any, db: Session, pay_settings: Settings, stripe_fake: FakeStripe
) -> None:
    w = h.world(db)
    ph.enable_stripe(db, w.org, stripe_fake)
    payment, url = ph.start(pay_client, db, pay_settings, w, "stripe", [w.invoices[0].id])

    [(sid, session)] = stripe_fake.sessions.items()
    assert url == session["url"] and payment.provider_payment_id == sid
    assert (session["mode"], session["amount_total"], session["currency"]) == ("payment", 123_456, "eur")
    assert session["client_reference_id"] == payment.id
    assert session["metadata"] == {"settle_payment_id": payment.id, "settle_org_id": w.org.id}
    assert session["success_url"] == f"http://settle.test/portal/payments/{payment.id}"
    assert session["cancel_url"] == f"http://settle.test/portal/payments/{payment.id}?cancelled=1"
    assert 30 * 60 <= session["expires_at"] - time.time() <= 24 * 3600
    assert session["payment_method_types"] == ["card", "ideal", "bancontact"]


def test_a_signed_completed_session_registers_the_payment_once(
    pay_client: Any, db: Session, pay_settings: Settings, stripe_fake: FakeStripe
) -> None:
    w, _, sid = ph.paying(pay_client, db, pay_settings, stripe_fake, "stripe")
    event = stripe_fake.complete(sid)
    secret = stripe_fake.webhook_secret

    answers = [ph.stripe_webhook(pay_client, w.org, event, secret) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.json()["changed"] for a in answers] == [True, False, False]
    assert [h.fresh(db, inv).status for inv in w.invoices] == ["paid", "paid"]
    assert len(h.events(db, "payment.paid")) == 1 and len(h.outbox(db, "thank_you")) == 1
    [mail] = h.mails(pay_settings)
    assert mail["To"] == "ap@jansen.example" and "€ 1.284,56" in h.body(mail)


def test_a_forged_tampered_or_stale_stripe_webhook_is_refused_and_changes_nothing(
    pay_client: Any, db: Session, pay_settings: Settings, stripe_fake: FakeStripe
) -> None:
    w, _, sid = ph.paying(pay_client, db, pay_settings, stripe_fake, "stripe")
    event = stripe_fake.complete(sid)
    good = stripe_fake.webhook_secret

    forged = ph.stripe_webhook(pay_client, w.org, event, "whsec_someone_else")
    stale = ph.stripe_webhook(pay_client, w.org, event, good, timestamp=int(time.time()) - 3600)
    tampered = ph.stripe_webhook(pay_client, w.org, event, good,
                                 payload='{"type": "checkout.session.completed", "data": {"object": {}}}')
    unsigned = pay_client.post(f"/webhooks/stripe/{w.org.slug}", json=event)
    assert [r.status_code for r in (forged, stale, tampered, unsigned)] == [400, 400, 400, 400]
    assert forged.json()["error"] == "webhook_rejected"
    assert [h.fresh(db, inv).status for inv in w.invoices] == ["open", "open"]
    [still] = h.payments(db, w.customer)
    assert still.status == "pending" and h.events(db, "payment.paid") == []


def test_an_asynchronous_method_waits_for_its_result(
    pay_client: Any, db: Session, pay_settings: Settings, stripe_fake: FakeStripe
) -> None:
    w = h.world(db)
    ph.enable_stripe(db, w.org, stripe_fake)
    secret = stripe_fake.webhook_secret
    first, _ = ph.start(pay_client, db, pay_settings, w, "stripe", [w.invoices[0].id])
    sid = str(first.provider_payment_id)
    assert ph.stripe_webhook(pay_client, w.org, stripe_fake.complete(sid, async_payment=True), secret).json() \
        == {"received": True, "known": True, "changed": False}  # completed, but the money is not there yet
    assert h.fresh(db, w.invoices[0]).status == "open"
    ph.stripe_webhook(pay_client, w.org, stripe_fake.async_result(sid, succeeded=False), secret)
    [failed] = h.payments(db, w.customer)
    assert failed.status == "failed" and h.fresh(db, w.invoices[0]).status == "open"

    second, _ = ph.start(pay_client, db, pay_settings, w, "stripe", [w.invoices[0].id])
    sid = str(second.provider_payment_id)
    ph.stripe_webhook(pay_client, w.org, stripe_fake.complete(sid, async_payment=True), secret)
    ph.stripe_webhook(pay_client, w.org, stripe_fake.async_result(sid, succeeded=True), secret)
    assert h.fresh(db, w.invoices[0]).status == "paid" and h.fresh(db, w.invoices[1]).status == "open"


def test_an_expired_session_is_final_and_the_debtor_can_pay_again(
    pay_client: Any, db: Session, pay_settings: Settings, stripe_fake: FakeStripe
) -> None:
    w, payment, sid = ph.paying(pay_client, db, pay_settings, stripe_fake, "stripe")
    ph.stripe_webhook(pay_client, w.org, stripe_fake.expire(sid),
                      stripe_fake.webhook_secret)  # fmt: skip
    page = pay_client.get(f"/portal/payments/{payment.id}")
    assert 'data-status="expired"' in page.text and "hx-trigger" not in page.text
    again, url = ph.start(pay_client, db, pay_settings, w, "stripe")
    assert again.id != payment.id and url.startswith(stripe_fake.base_url)


def test_a_refund_and_a_dispute_reopen_the_amount_and_resume_dunning(
    pay_client: Any, db: Session, pay_settings: Settings, stripe_fake: FakeStripe
) -> None:
    w, _, sid = ph.paying(pay_client, db, pay_settings, stripe_fake, "stripe")
    secret = stripe_fake.webhook_secret
    ph.stripe_webhook(pay_client, w.org, stripe_fake.complete(sid), secret)
    assert h.fresh(db, w.invoices[0]).status == "paid"

    refund = stripe_fake.refund(sid, amount=5_000)
    for _ in range(2):  # a retry of the same refund takes nothing back twice
        assert ph.stripe_webhook(pay_client, w.org, refund, secret).status_code == 200
    f1, f2 = h.fresh(db, w.invoices[0]), h.fresh(db, w.invoices[1])
    assert (f1.status, f2.status, f2.open_cents) == ("paid", "open", 5_000)  # the newest invoice reopens first

    dispute = stripe_fake.dispute(sid)  # the card holder disputes the whole charge
    ph.stripe_webhook(pay_client, w.org, dispute, secret)
    f1 = h.fresh(db, w.invoices[0])
    assert (f1.status, f1.open_cents) == ("open", 123_456)
    assert f1.next_action_on is not None and f1.next_action_on <= h.TODAY
    [reversed_] = h.payments(db, w.customer)
    assert (reversed_.status, reversed_.refunded_cents) == ("paid", 128_456)  # never more than was paid
    assert [e.data["reversed_cents"] for e in h.events(db, "payment.reversed")] == [5_000, 123_456]


def test_a_refund_that_overtakes_the_completed_event_still_converges(
    pay_client: Any, db: Session, pay_settings: Settings, stripe_fake: FakeStripe
) -> None:
    w, _, sid = ph.paying(pay_client, db, pay_settings, stripe_fake, "stripe")
    secret = stripe_fake.webhook_secret
    completed = stripe_fake.complete(sid)
    refund = stripe_fake.refund(sid)  # the whole amount, delivered before the completion

    ph.stripe_webhook(pay_client, w.org, refund, secret)
    ph.stripe_webhook(pay_client, w.org, completed, secret)
    [p] = h.payments(db, w.customer)
    assert (p.status, p.refunded_cents) == ("paid", 128_456)
    assert [h.fresh(db, inv).open_cents for inv in w.invoices] == [123_456, 5_000]
    assert len(h.events(db, "payment.paid")) == 1 and len(h.events(db, "payment.reversed")) == 1


def test_the_return_page_and_the_webhook_converge_on_one_payment(
    pay_client: Any, db: Session, pay_settings: Settings, stripe_fake: FakeStripe
) -> None:
    w, payment, sid = ph.paying(pay_client, db, pay_settings, stripe_fake, "stripe")
    event = stripe_fake.complete(sid)  # paid at Stripe; the webhook is late

    page = pay_client.get(f"/portal/payments/{payment.id}")  # the payer is back first: Settle asks Stripe
    assert 'data-status="paid"' in page.text
    late = ph.stripe_webhook(pay_client, w.org, event, stripe_fake.webhook_secret)
    assert late.json() == {"received": True, "known": True, "changed": False}
    assert len(h.events(db, "payment.paid")) == 1 and len(h.outbox(db, "thank_you")) == 1


def test_events_settle_does_not_act_on_are_acknowledged(
    pay_client: Any, db: Session, pay_settings: Settings, stripe_fake: FakeStripe
) -> None:
    w = h.world(db)
    ph.enable_stripe(db, w.org, stripe_fake)
    event = stripe_fake.event("customer.created", {"id": "cus_1", "object": "customer"})
    r = ph.stripe_webhook(pay_client, w.org, event, stripe_fake.webhook_secret)
    assert r.status_code == 200 and r.json()["known"] is False


def test_a_payer_who_cancels_at_stripe_sees_at_once_that_nothing_was_paid(
    pay_client: Any, db: Session, pay_settings: Settings, stripe_fake: FakeStripe
) -> None:
    w, payment, sid = ph.paying(pay_client, db, pay_settings, stripe_fake, "stripe")
    waiting = pay_client.get(f"/portal/payments/{payment.id}")  # back without cancelling: still open
    assert 'data-status="pending"' in waiting.text and stripe_fake.sessions[sid]["status"] == "open"

    back = pay_client.get(stripe_fake.sessions[sid]["cancel_url"].replace("http://settle.test", ""))

    assert 'data-status="canceled"' in back.text and "De betaling is geannuleerd" in back.text
    assert "hx-trigger" not in back.text
    assert stripe_fake.sessions[sid]["status"] == "expired"  # it can no longer be paid by mistake
    assert [h.fresh(db, inv).status for inv in w.invoices] == ["open", "open"]


def test_cancelling_after_paying_in_another_tab_keeps_the_payment(
    pay_client: Any, db: Session, pay_settings: Settings, stripe_fake: FakeStripe
) -> None:
    w, payment, sid = ph.paying(pay_client, db, pay_settings, stripe_fake, "stripe")
    stripe_fake.complete(sid)  # paid; the webhook has not come yet

    back = pay_client.get(f"/portal/payments/{payment.id}?cancelled=1")

    assert 'data-status="paid"' in back.text
    assert [h.fresh(db, inv).status for inv in w.invoices] == ["paid", "paid"]
