"""POST /portal/pay, the sandbox checkout and the return page: a paid payment is allocated
to the chosen invoices, shown on the statement, stops dunning, and is thanked for once."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from adapters.portal_mail import PortalMailer
from adapters.settings import Settings
from domain import checkout
from domain.gateway import ProviderStatus
from domain.models import Invoice, OutboxMessage, PaymentAllocation
from settle import scheduler
from settle.app import create_app
from tests.integration import portal_helpers as h


def test_paying_everything_through_the_sandbox(client: Any, db: Session, settings: Settings) -> None:
    w = h.world(db)
    page = h.sign_in(client, db, settings, w.customer)
    started = h.pay(client, page)  # no invoice_ids: everything open
    path = h.checkout_path(started)
    [payment] = h.payments(db, w.customer)
    assert (payment.status, payment.provider, payment.method) == ("pending", "sandbox", "sandbox")
    assert payment.amount_cents == 128_456 and payment.currency == "EUR"
    assert payment.requested_invoice_ids == w.ids and payment.provider_payment_id == path.rsplit("/", 1)[-1]
    checkout_page = client.get(path)
    assert "€ 1.284,56" in checkout_page.text and "Noord Groothandel" in checkout_page.text
    back = h.sandbox(client, path, "paid")
    assert back.status_code == 303 and back.headers["location"] == f"http://settle.test/portal/payments/{payment.id}"
    result = client.get(back.headers["location"])
    assert 'data-status="paid"' in result.text and "Betaling ontvangen" in result.text
    assert "hx-trigger" not in result.text  # final: no more polling
    for inv in w.invoices:
        paid = h.fresh(db, inv)
        assert (paid.status, paid.open_cents, paid.next_action_on) == ("paid", 0, None)
    [payment] = h.payments(db, w.customer)
    assert payment.status == "paid" and payment.unallocated_cents == 0 and payment.received_on == h.TODAY
    statement = client.get("/portal").text
    assert "Er staat niets meer open" in statement and "€ 1.284,56" in statement and "ontvangen" in statement
    [thanks] = h.outbox(db, "thank_you")
    assert thanks.status == "sent" and thanks.to_address == "ap@jansen.example"  # delivered right away
    [mail] = h.mails(settings)
    assert mail["To"] == "ap@jansen.example" and mail["Subject"] == "Bedankt voor uw betaling aan Noord Groothandel"
    text = h.body(mail)
    assert "€ 1.284,56" in text and "F-1" in text and "F-2" in text and h.PORTAL_LINK.search(text)
    assert [e.subject_id for e in h.events(db, "portal.payment_started")] == [payment.id]
    [paid_event] = h.events(db, "payment.paid")
    assert paid_event.data["allocated"] == [{"invoice": "F-1", "amount_cents": 123_456},
                                            {"invoice": "F-2", "amount_cents": 5_000}]  # fmt: skip


def test_paying_one_invoice_leaves_the_others_open(client: Any, db: Session, settings: Settings) -> None:
    w = h.world(db)
    page = h.sign_in(client, db, settings, w.customer)
    result = h.pay_through_sandbox(client, page, [w.invoices[1].id])
    assert 'data-status="paid"' in result.text and "€ 50,00" in result.text
    assert h.fresh(db, w.invoices[1]).status == "paid"
    assert (h.fresh(db, w.invoices[0]).status, h.fresh(db, w.invoices[0]).open_cents) == ("open", 123_456)
    statement = client.get("/portal").text
    assert "F-1" in statement and 'id="inv-' + w.invoices[1].id not in statement


@pytest.mark.parametrize(("outcome", "words"), [("failed", "niet gelukt"), ("canceled", "geannuleerd")])
def test_a_failed_or_cancelled_payment_changes_no_invoice(
    client: Any, db: Session, settings: Settings, outcome: str, words: str
) -> None:
    w = h.world(db)
    page = h.sign_in(client, db, settings, w.customer)
    result = h.pay_through_sandbox(client, page, outcome=outcome)
    assert f'data-status="{outcome}"' in result.text and words in result.text
    assert "Er is niets afgeschreven" in result.text
    assert [h.fresh(db, inv).status for inv in w.invoices] == ["open", "open"]
    assert h.outbox(db, "thank_you") == [] and h.mails(settings) == []
    assert [p.status for p in h.payments(db, w.customer)] == [outcome]
    assert len(h.events(db, f"payment.{outcome}")) == 1


def test_the_return_page_refreshes_itself_until_the_status_is_final(
    client: Any, db: Session, settings: Settings
) -> None:
    w = h.world(db)
    page = h.sign_in(client, db, settings, w.customer)
    path = h.checkout_path(h.pay(client, page))
    [payment] = h.payments(db, w.customer)
    pending = client.get(f"/portal/payments/{payment.id}")
    assert 'data-status="pending"' in pending.text
    assert f'hx-get="/portal/payments/{payment.id}"' in pending.text and 'hx-trigger="every 2s"' in pending.text
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in pending.text  # JavaScript off
    partial = client.get(f"/portal/payments/{payment.id}", headers={"HX-Request": "true"})
    assert partial.text.lstrip().startswith('<div id="payment-status"') and "<html" not in partial.text
    h.sandbox(client, path, "paid")
    final = client.get(f"/portal/payments/{payment.id}", headers={"HX-Request": "true"})
    assert 'data-status="paid"' in final.text and "hx-trigger" not in final.text


def test_the_return_page_asks_the_provider_when_the_callback_did_not_arrive(
    client: Any, db: Session, settings: Settings
) -> None:
    """The provider recorded the outcome but its webhook never came: the return page converges."""
    from portal.sandbox import SandboxGateway

    w = h.world(db)
    page = h.sign_in(client, db, settings, w.customer)
    h.pay(client, page)
    [payment] = h.payments(db, w.customer)
    SandboxGateway(db, w.org.id, settings.base_url).choose(payment, "paid")
    db.commit()
    result = client.get(f"/portal/payments/{payment.id}")
    assert 'data-status="paid"' in result.text
    assert [h.fresh(db, inv).status for inv in w.invoices] == ["paid", "paid"]
    assert len(h.outbox(db, "thank_you")) == 1


def test_the_sandbox_outcome_is_final_and_a_payment_is_registered_once(
    client: Any, db: Session, settings: Settings
) -> None:
    w = h.world(db)
    page = h.sign_in(client, db, settings, w.customer)
    path = h.checkout_path(h.pay(client, page))
    token = h.csrf(client.get(path).text)
    codes = [client.post(path, data={"csrf_token": token, "outcome": outcome}, follow_redirects=False).status_code
             for outcome in ("paid", "paid", "failed")]  # a double click, then the back button  # fmt: skip
    assert codes == [303, 303, 303]
    [payment] = h.payments(db, w.customer)
    assert payment.status == "paid"
    assert len(db.scalars(select(PaymentAllocation).where(PaymentAllocation.payment_id == payment.id)).all()) == 2
    assert len(h.outbox(db, "thank_you")) == 1 and len(h.events(db, "payment.paid")) == 1
    assert "al afgerond" in client.get(path).text


def test_apply_status_converges_whatever_the_order_of_the_notices(db: Session, settings: Settings) -> None:
    w = h.world(db)
    mailer = PortalMailer(settings)
    payment = checkout.start(db, w.customer, [], "sandbox")
    assert checkout.apply_status(db, payment, "failed", h.TODAY, composer=mailer) is True
    assert checkout.apply_status(db, payment, "pending", h.TODAY, composer=mailer) is False  # never back
    assert checkout.apply_status(db, payment, "paid", h.TODAY, composer=mailer) is True  # money wins
    late: ProviderStatus
    for late in ("pending", "failed", "canceled", "expired", "paid"):
        assert checkout.apply_status(db, payment, late, h.TODAY, composer=mailer) is False
    db.commit()
    assert payment.status == "paid"
    assert len(h.outbox(db, "thank_you")) == 1
    assert len(db.scalars(select(PaymentAllocation).where(PaymentAllocation.payment_id == payment.id)).all()) == 2


def test_what_is_no_longer_open_when_the_money_arrives_becomes_unallocated_credit(
    db: Session, settings: Settings
) -> None:
    from domain import payments as payments_mod

    w = h.world(db)
    payment = checkout.start(db, w.customer, [], "sandbox")
    db.commit()
    # meanwhile the debtor also paid F-1 by bank transfer
    payments_mod.register_manual(db, w.org.id, customer_id=w.customer.id, amount_cents=123_456, currency="EUR",
                                 received_on=h.TODAY, allocations=[payments_mod.AllocationRequest(w.ids[0], 123_456)])
    checkout.apply_status(db, payment, "paid", h.TODAY, composer=PortalMailer(settings))
    db.commit()
    assert payment.unallocated_cents == 123_456  # kept as credit, not pushed onto other invoices
    assert h.fresh(db, w.invoices[1]).status == "paid"
    [thanks] = h.outbox(db, "thank_you")
    assert "tegoed" in (thanks.body_text or "") and "€ 1.234,56" in (thanks.body_text or "")


def test_dunning_stops_for_the_paid_invoices(
    client: Any, engine: Engine, db: Session, settings: Settings
) -> None:
    payer = h.world(db, lines=[("P-1", 10, 10_000)])
    other = h.world(db, org=payer.org, customer_name="Nog Niet Betaald", email_address="late@example.nl",
                    lines=[("O-1", 10, 10_000)])  # fmt: skip
    page = h.sign_in(client, db, settings, payer.customer)
    h.pay_through_sandbox(client, page)
    h.reread(db)
    scheduler.run(engine, settings, as_of=h.TODAY)
    h.reread(db)
    reminded = {m.customer_id for m in db.scalars(select(OutboxMessage).where(OutboxMessage.kind == "reminder"))}
    assert reminded == {other.customer.id}
    assert h.fresh(db, payer.invoices[0]).next_action_on is None


def test_paying_needs_the_csrf_token(client: Any, db: Session, settings: Settings) -> None:
    w = h.world(db)
    page = h.sign_in(client, db, settings, w.customer)
    for data in ({"provider": "sandbox"}, {"provider": "sandbox", "csrf_token": "guess"}):
        r = client.post("/portal/pay", data=data, follow_redirects=False)
        assert r.status_code == 403 and "Dit formulier is verlopen" in r.text
    r = client.post("/portal/pay", data={"provider": "sandbox"}, headers={"X-CSRF-Token": h.csrf(page)},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303  # the header htmx sends is as good as the field
    assert len(h.payments(db, w.customer)) == 1


def test_an_unavailable_provider_is_refused_and_without_sandbox_there_is_no_pay_button(
    client: Any, engine: Engine, db: Session, settings: Settings
) -> None:
    w = h.world(db)
    page = h.sign_in(client, db, settings, w.customer)
    for provider in ("mollie", "stripe", "paypal"):
        r = h.pay(client, page, provider=provider)
        assert r.status_code == 422 and "Deze betaalmethode is niet beschikbaar" in r.text, provider
    off = dataclasses.replace(settings, sandbox_payments=False)
    with TestClient(app=create_app(off, engine=engine), base_url="http://settle.test") as tc:
        html = h.sign_in(tc, db, off, w.customer)
        assert 'action="/portal/pay"' not in html and "Online betalen is nu niet mogelijk" in html
        assert h.pay(tc, html).status_code == 422
    assert h.payments(db, w.customer) == []


def test_starting_payments_is_rate_limited(client: Any, db: Session, settings: Settings) -> None:
    w = h.world(db)
    page = h.sign_in(client, db, settings, w.customer)
    codes = [h.pay(client, page, [w.ids[0]]).status_code for _ in range(11)]
    assert codes == [303] * 10 + [429]


def test_the_sandbox_checkout_needs_csrf_and_exists_only_in_sandbox_mode(
    client: Any, engine: Engine, db: Session, settings: Settings
) -> None:
    w = h.world(db)
    page = h.sign_in(client, db, settings, w.customer)
    path = h.checkout_path(h.pay(client, page))
    client.get(path)
    r = client.post(path, data={"outcome": "paid"}, follow_redirects=False)
    assert r.status_code == 403
    assert client.post(path.replace("sbx_", "sbx_x"), data={"outcome": "paid"}).status_code in (403, 404)
    assert [p.status for p in h.payments(db, w.customer)] == ["pending"]
    off = dataclasses.replace(settings, sandbox_payments=False)
    with TestClient(app=create_app(off, engine=engine), base_url="http://settle.test") as tc:
        assert tc.get(path).status_code == 404


def test_a_payment_of_a_currency_mix_is_refused(client: Any, db: Session, settings: Settings) -> None:
    w = h.world(db)
    usd = db.get_one(Invoice, w.ids[1])
    usd.currency = "USD"
    db.commit()
    page = h.sign_in(client, db, settings, w.customer)
    r = h.pay(client, page, w.ids)
    assert r.status_code == 422 and "valuta apart" in r.text
    assert h.checkout_path(h.pay(client, page, [w.ids[1]]))  # one currency at a time works
    assert dt.date.today() == h.TODAY


def test_two_notices_at_once_register_the_payment_once(engine: Engine, db: Session, settings: Settings) -> None:
    """Two deliveries of the same webhook race each other: one registers, the other sees it done."""
    import threading

    from adapters.db import make_sessionmaker
    from domain.gateway import WebhookNotice
    from portal.callbacks import on_notice
    from portal.sandbox import SandboxGateway

    w = h.world(db)
    payment = checkout.start(db, w.customer, [], "sandbox")
    gateway = SandboxGateway(db, w.org.id, settings.base_url)
    checkout.attach(db, payment, gateway.create_checkout(payment, payment.amount_cents, "EUR", "x", "r", "w"))
    gateway.choose(payment, "paid")
    db.commit()
    writer = make_sessionmaker(engine, writer=True)  # what the portal's POST handlers use
    start = threading.Barrier(2)
    changed: list[bool] = []

    def deliver() -> None:
        start.wait(timeout=10)
        with writer() as session:
            notice = WebhookNotice(str(payment.provider_payment_id))
            gateway = SandboxGateway(session, w.org.id, settings.base_url)
            _, did = on_notice(session, PortalMailer(settings), gateway, w.org.id, notice, h.TODAY)
            session.commit()
            changed.append(did)

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(changed) == [False, True]
    assert len(h.outbox(db, "thank_you")) == 1 and len(h.events(db, "payment.paid")) == 1
    assert len(db.scalars(select(PaymentAllocation).where(PaymentAllocation.payment_id == payment.id)).all()) == 2
