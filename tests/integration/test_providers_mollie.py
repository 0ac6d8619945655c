"""Mollie through its official SDK against the fake: a checkout for the open amount, the
webhook that carries only an id (Settle asks Mollie before it changes anything), every
final status, refunds and charge-backs, and a provider that cannot be reached."""

from __future__ import annotations

import dataclasses
from typing import Any

from litestar.testing import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from adapters.settings import Settings
from domain.models import Invoice
from settle.app import create_app
from tests.fakes.mollie_fake import FakeMollie
from tests.fakes.server import free_port
from tests.integration import portal_helpers as h
from tests.integration import provider_helpers as ph


def test_a_mollie_checkout_asks_for_the_open_amount_and_links_back_to_settle(
    pay_client: Any, db: Session, pay_settings: Settings, mollie_fake: FakeMollie
) -> None:
    w = h.world(db)
    ph.enable_mollie(db, w.org, mollie_fake)
    payment, url = ph.start(pay_client, db, pay_settings, w, "mollie")

    [(pid, created)] = mollie_fake.payments.items()
    assert url == created["_links"]["checkout"]["href"] and url.startswith(mollie_fake.base_url)
    assert payment.provider == "mollie" and payment.provider_payment_id == pid
    assert created["amount"] == {"currency": "EUR", "value": "1284.56"}
    assert "F-1" in created["description"] and "F-2" in created["description"]
    assert created["redirectUrl"] == f"http://settle.test/portal/payments/{payment.id}"
    assert created["webhookUrl"] == f"http://settle.test/webhooks/mollie/{w.org.slug}"
    assert created["metadata"]["settle_payment_id"] == payment.id
    assert created["method"] == ["ideal", "bancontact", "creditcard"]


def test_the_mollie_webhook_registers_a_paid_payment_once_however_often_it_comes(
    pay_client: Any, db: Session, pay_settings: Settings, mollie_fake: FakeMollie
) -> None:
    w, payment, pid = ph.paying(pay_client, db, pay_settings, mollie_fake, "mollie")

    early = ph.mollie_webhook(pay_client, w.org, pid)  # still open at Mollie: nothing changes
    assert early.status_code == 200 and early.json()["changed"] is False
    assert h.fresh(db, w.invoices[0]).status == "open"

    mollie_fake.set_status(pid, "paid")
    answers = [ph.mollie_webhook(pay_client, w.org, pid) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.json()["changed"] for a in answers] == [True, False, False]
    for inv in w.invoices:
        assert (h.fresh(db, inv).status, h.fresh(db, inv).open_cents) == ("paid", 0)
    [paid] = h.payments(db, w.customer)
    assert (paid.status, paid.unallocated_cents) == ("paid", 0)
    assert len(h.events(db, "payment.paid")) == 1
    [thanks] = h.outbox(db, "thank_you")
    assert thanks.status == "sent"
    [mail] = h.mails(pay_settings)
    assert mail["Subject"] == "Bedankt voor uw betaling aan Noord Groothandel" and "€ 1.284,56" in h.body(mail)
    result = pay_client.get(f"/portal/payments/{payment.id}")
    assert 'data-status="paid"' in result.text


def test_failed_cancelled_and_expired_mollie_payments_leave_the_invoices_open(
    pay_client: Any, db: Session, pay_settings: Settings, mollie_fake: FakeMollie
) -> None:
    w = h.world(db)
    ph.enable_mollie(db, w.org, mollie_fake)
    for status in ("failed", "canceled", "expired"):
        payment, _ = ph.start(pay_client, db, pay_settings, w, "mollie")
        assert payment.provider_payment_id is not None
        mollie_fake.set_status(payment.provider_payment_id, status)
        assert ph.mollie_webhook(pay_client, w.org, payment.provider_payment_id).json()["changed"] is True
        [found] = [p for p in h.payments(db, w.customer) if p.id == payment.id]
        assert found.status == status
        page = pay_client.get(f"/portal/payments/{payment.id}")
        assert f'data-status="{status}"' in page.text
    assert [h.fresh(db, inv).status for inv in w.invoices] == ["open", "open"]
    assert h.outbox(db, "thank_you") == [] and h.events(db, "payment.paid") == []


def test_an_unknown_or_foreign_mollie_id_changes_nothing_and_asks_mollie_nothing(
    pay_client: Any, db: Session, pay_settings: Settings, mollie_fake: FakeMollie
) -> None:
    w = h.world(db)
    other = h.world(db, "Zuid Handel", customer_name="Slagerij Smit", email_address="smit@smit.example")
    ph.enable_mollie(db, w.org, mollie_fake)
    ph.enable_mollie(db, other.org, mollie_fake)
    payment, _ = ph.start(pay_client, db, pay_settings, w, "mollie")
    assert payment.provider_payment_id is not None
    mollie_fake.set_status(payment.provider_payment_id, "paid")

    # An id Mollie never issued: had Settle asked, the fake would have said 404 and Settle 503.
    unknown = ph.mollie_webhook(pay_client, w.org, "tr_doesnotexist")
    assert (unknown.status_code, unknown.json()["known"]) == (200, False)
    # The right id at another organisation's endpoint is not that organisation's payment.
    foreign = ph.mollie_webhook(pay_client, other.org, payment.provider_payment_id)
    assert (foreign.status_code, foreign.json()["known"]) == (200, False)
    assert h.fresh(db, w.invoices[0]).status == "open" and h.events(db, "payment.paid") == []

    assert pay_client.post(f"/webhooks/mollie/{w.org.slug}", data={"id": "<script>"}).status_code == 400
    assert pay_client.post(f"/webhooks/mollie/{w.org.slug}", content=b"").status_code == 400
    assert pay_client.post("/webhooks/mollie/no-such-org", data={"id": "tr_x"}).status_code == 404
    assert pay_client.post(f"/webhooks/paypal/{w.org.slug}", data={"id": "tr_x"}).status_code == 404


def test_a_mollie_refund_reopens_the_invoices_and_dunning_resumes(
    pay_client: Any, db: Session, pay_settings: Settings, mollie_fake: FakeMollie
) -> None:
    w = h.world(db)  # F-1 10 days overdue (1234.56), F-2 not yet due (50.00)
    ph.enable_mollie(db, w.org, mollie_fake)
    payment, _ = ph.start(pay_client, db, pay_settings, w, "mollie")
    pid = payment.provider_payment_id
    assert pid is not None
    mollie_fake.set_status(pid, "paid")
    ph.mollie_webhook(pay_client, w.org, pid)
    assert h.fresh(db, w.invoices[0]).next_action_on is None

    mollie_fake.refund(pid, 10_000)  # € 100 back: the newest invoice reopens first, then the older one
    for _ in range(2):
        ph.mollie_webhook(pay_client, w.org, pid)
    f1, f2 = h.fresh(db, w.invoices[0]), h.fresh(db, w.invoices[1])
    assert (f2.status, f2.open_cents) == ("open", 5_000)
    assert (f1.status, f1.open_cents) == ("open", 5_000)
    assert f1.next_action_on is not None and f1.next_action_on <= h.TODAY  # its reminder is due again
    [refunded] = h.payments(db, w.customer)
    assert (refunded.status, refunded.refunded_cents) == ("paid", 10_000)
    [reversed_] = h.events(db, "payment.reversed")
    assert reversed_.data["reopened"] == [{"invoice": "F-2", "amount_cents": 5_000},
                                          {"invoice": "F-1", "amount_cents": 5_000}]  # fmt: skip

    mollie_fake.charge_back(pid, 118_456)  # the rest is charged back: everything is open again
    ph.mollie_webhook(pay_client, w.org, pid)
    assert h.fresh(db, w.invoices[0]).open_cents == 123_456
    statement = pay_client.get("/portal").text
    assert "€ 1.284,56" in statement
    api = h.events(db, "payment.reversed")
    assert len(api) == 2 and api[1].data["reversed_cents"] == 118_456


def test_a_mollie_payment_for_invoices_paid_meanwhile_becomes_a_credit_on_the_customer(
    pay_client: Any, db: Session, pay_settings: Settings, mollie_fake: FakeMollie
) -> None:
    w = h.world(db)
    ph.enable_mollie(db, w.org, mollie_fake)
    payment, _ = ph.start(pay_client, db, pay_settings, w, "mollie", [w.invoices[1].id])
    assert payment.provider_payment_id is not None
    inv = db.get_one(Invoice, w.invoices[1].id)
    from domain import payments

    payments.register_manual(db, w.org.id, customer_id=w.customer.id, amount_cents=5_000, currency="EUR",
                             received_on=h.TODAY, reference="bank transfer")  # fmt: skip
    db.commit()
    assert h.fresh(db, inv).status == "open"  # the transfer went to the oldest invoice, F-1
    payments.register_manual(db, w.org.id, customer_id=w.customer.id, amount_cents=123_456,
                             currency="EUR", received_on=h.TODAY)  # fmt: skip
    db.commit()
    assert h.fresh(db, inv).status == "paid"
    mollie_fake.set_status(payment.provider_payment_id, "paid")
    ph.mollie_webhook(pay_client, w.org, payment.provider_payment_id)

    [paid] = [p for p in h.payments(db, w.customer) if p.id == payment.id]
    assert (paid.status, paid.unallocated_cents) == ("paid", 5_000)
    from tests.conftest import Api, Tenant  # the back office sees the credit

    key = h.api_key(db, w.org)
    api = Api(pay_client, Tenant(w.org.id, w.org.slug, key))
    read = api.get(f"/payments/{payment.id}").json()
    assert (read["status"], read["unallocated_amount"], read["provider"]) == ("paid", "50.00", "mollie")
    statement = api.get(f"/customers/{w.customer.id}/statement").json()
    assert statement["credits"] == [{"currency": "EUR", "amount": "50.00"}]


def test_when_mollie_cannot_be_reached_the_debtor_is_told_and_nothing_is_pending(
    engine: Engine, db: Session, pay_settings: Settings, mollie_fake: FakeMollie
) -> None:
    down = dataclasses.replace(pay_settings, mollie_api_base=f"http://127.0.0.1:{free_port()}")
    w = h.world(db)
    ph.enable_mollie(db, w.org, mollie_fake)
    with TestClient(app=create_app(down, engine=engine), base_url="http://settle.test") as client:
        page = h.sign_in(client, db, down, w.customer)
        r = h.pay(client, page, provider="mollie")
        assert r.status_code == 502 and "niet bereikbaar" in r.text
    [payment] = h.payments(db, w.customer)
    assert payment.status == "failed" and payment.provider_payment_id is None


def test_collection_costs_and_interest_charged_by_the_engine_are_part_of_what_is_paid(
    pay_client: Any, db: Session, pay_settings: Settings, mollie_fake: FakeMollie
) -> None:
    w = h.world(db, lines=(("F-1", 40, 100_000),))
    inv = db.get_one(Invoice, w.invoices[0].id)
    inv.costs_cents, inv.interest_cents = 15_000, 945  # as a formal notice charges them
    inv.open_cents += 15_000 + 945
    db.commit()
    ph.enable_mollie(db, w.org, mollie_fake)
    page = h.sign_in(pay_client, db, pay_settings, w.customer)
    assert "€ 1.159,45" in page

    payment, _ = ph.start(pay_client, db, pay_settings, w, "mollie")
    assert payment.provider_payment_id is not None
    assert mollie_fake.payments[payment.provider_payment_id]["amount"] == {"currency": "EUR", "value": "1159.45"}
    mollie_fake.set_status(payment.provider_payment_id, "paid")
    ph.mollie_webhook(pay_client, w.org, payment.provider_payment_id)
    paid = h.fresh(db, inv)
    assert (paid.status, paid.open_cents, paid.costs_cents, paid.interest_cents) == ("paid", 0, 15_000, 945)


def test_a_webhook_mollie_cannot_be_asked_about_is_refused_for_a_retry_and_the_retry_registers_it(
    engine: Engine, pay_client: Any, db: Session, pay_settings: Settings, mollie_fake: FakeMollie
) -> None:
    w, payment, _ = ph.paying(pay_client, db, pay_settings, mollie_fake, "mollie")
    assert payment.provider_payment_id is not None
    mollie_fake.set_status(payment.provider_payment_id, "paid")
    down = dataclasses.replace(pay_settings, mollie_api_base=f"http://127.0.0.1:{free_port()}")
    with TestClient(app=create_app(down, engine=engine), base_url="http://settle.test") as cut_off:
        refused = ph.mollie_webhook(cut_off, w.org, payment.provider_payment_id)
    assert refused.status_code == 503  # Mollie delivers again later
    assert h.fresh(db, w.invoices[0]).status == "open" and h.events(db, "payment.paid") == []

    retried = ph.mollie_webhook(pay_client, w.org, payment.provider_payment_id)
    assert retried.json()["changed"] is True and h.fresh(db, w.invoices[0]).status == "paid"
