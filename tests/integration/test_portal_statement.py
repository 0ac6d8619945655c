"""GET /portal: what a debtor owes and why, in their language, and nobody else's."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

from litestar.testing import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from adapters.rendering import short_date
from adapters.settings import Settings
from domain import payments
from domain.models import DebtorRequest, Invoice, Payment
from portal import session as portal_session
from settle.app import create_app
from tests.integration import portal_helpers as h


def _charge(db: Session, invoice: Invoice, *, costs: int = 0, interest: int = 0) -> None:
    """Collection costs and interest as the dunning engine charges them."""
    invoice.costs_cents += costs
    invoice.interest_cents += interest
    invoice.open_cents += costs + interest
    db.commit()


def test_the_statement_shows_creditor_invoices_amounts_costs_and_payments_in_dutch(
    client: Any, db: Session, settings: Settings
) -> None:
    w = h.world(db, lines=[("F-1", 10, 123_456), ("F-2", -5, 5_000), ("F-3", 40, 20_000)], pdf=True)
    f1, f2, f3 = w.invoices
    _charge(db, f3, costs=4_000, interest=1_234)
    payments.register_manual(db, w.org.id, customer_id=w.customer.id, amount_cents=10_000, currency="EUR",
                             received_on=h.TODAY - dt.timedelta(days=2),
                             allocations=[payments.AllocationRequest(f1.id, 10_000)])  # fmt: skip
    db.commit()
    page = h.sign_in(client, db, settings, w.customer)
    # the creditor and how to reach it
    for text in ("Noord Groothandel", "debiteuren@noord.example", "+31 20 555 0100", "Keizersgracht 1",
                 "NL91ABNA0417164300", "Bakkerij Jansen"):  # fmt: skip
        assert text in page, text
    # every open invoice: number, dates, days overdue, original and open amount, its PDF
    row = re.search(r'<tr id="inv-' + f1.id + r'".*?</tr>', page, re.S)
    assert row is not None
    cells = row.group(0)
    assert "F-1" in cells and short_date(f1.due_date, "nl") in cells and short_date(f1.issue_date, "nl") in cells
    assert ">10<" in cells  # days overdue
    assert "€ 1.234,56" in cells and "€ 1.134,56" in cells  # original, and open after the part payment
    assert 'href="https://files.acme.example/F-1.pdf"' in cells and 'rel="noopener noreferrer"' in cells
    assert f1.payment_reference and f1.payment_reference in cells
    f2_row = re.search(r'<tr id="inv-' + f2.id + r'".*?</tr>', page, re.S)
    assert f2_row is not None and "nog niet" in f2_row.group(0)  # not due yet: no days overdue
    # costs and interest already charged, and the total due
    assert "Incassokosten" in page and "€ 40,00" in page
    assert "Wettelijke rente" in page and "€ 12,34" in page
    assert 113_456 + 5_000 + 20_000 + 5_234 == 143_690
    assert re.search(r'data-total="EUR">€ 1\.436,90<', page)
    assert "Betaal alles: € 1.436,90" in page
    # recent payments
    assert "Recente betalingen" in page and "€ 100,00" in page and "ontvangen" in page


def test_an_invoice_without_pdf_has_no_pdf_link_and_settled_invoices_are_not_listed(
    client: Any, db: Session, settings: Settings
) -> None:
    w = h.world(db, lines=[("F-1", 10, 1_000), ("F-2", 3, 2_000), ("F-3", 3, 3_000)])
    w.invoices[1].status, w.invoices[1].open_cents = "cancelled", 0
    payments.register_manual(db, w.org.id, customer_id=w.customer.id, amount_cents=1_000, currency="EUR",
                             received_on=h.TODAY)  # fmt: skip
    db.commit()
    page = h.sign_in(client, db, settings, w.customer)
    assert "F-3" in page and "F-1" not in page.split('id="payments-h"')[0] and "F-2" not in page
    assert ".pdf" not in page


def test_english_from_the_customer_locale_and_switchable_with_lang(
    client: Any, db: Session, settings: Settings
) -> None:
    w = h.world(db, locale="en")
    page = h.sign_in(client, db, settings, w.customer)
    assert '<html lang="en">' in page
    assert "Total due" in page and "€1,234.56" in page and "€1,284.56" in page
    assert w.invoices[0].due_date.isoformat() in page
    dutch = client.get("/portal?lang=nl")
    assert '<html lang="nl">' in dutch.text and "€ 1.234,56" in dutch.text and "Totaal te betalen" in dutch.text
    assert "settle_portal=" in dutch.headers["set-cookie"]
    assert "Totaal te betalen" in client.get("/portal").text  # the choice sticks for the session
    assert "Total due" in client.get("/portal?lang=en").text
    assert '<html lang="en">' in client.get("/portal?lang=xx").text  # an unknown language changes nothing


def test_a_debtor_with_nothing_open_is_thanked(client: Any, db: Session, settings: Settings) -> None:
    w = h.world(db, lines=[])
    page = h.sign_in(client, db, settings, w.customer)
    assert "Er staat niets meer open" in page and 'action="/portal/pay"' not in page


def test_without_a_session_there_is_no_statement(client: Any, db: Session, settings: Settings) -> None:
    h.world(db)
    r = client.get("/portal")
    assert r.status_code == 403 and "Uw sessie is afgelopen" in r.text and "Bakkerij" not in r.text


def test_a_forged_expired_or_foreign_key_session_cookie_is_refused(
    client: Any, db: Session, settings: Settings
) -> None:
    w = h.world(db)
    h.sign_in(client, db, settings, w.customer)
    good = client.cookies.get(portal_session.COOKIE)
    now = dt.datetime.now(dt.UTC)
    opened = portal_session.open_for(w.customer, now)
    expired = dataclasses.replace(opened, expires=int(now.timestamp()) - 1)
    other_key = dataclasses.replace(settings, secret_keys=("another-key",))
    cookies = {
        "tampered": good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"),
        "expired": portal_session.encode(settings, expired),
        "foreign key": portal_session.encode(other_key, opened),
        "wrong link version": portal_session.encode(settings, dataclasses.replace(opened, link_version=7)),
        "wrong organisation": portal_session.encode(settings, dataclasses.replace(opened, org_id="org_x")),
    }
    for why, value in cookies.items():
        client.cookies.set(portal_session.COOKIE, value)
        r = client.get("/portal")
        assert r.status_code == 403 and "Bakkerij" not in r.text, why
    client.cookies.set(portal_session.COOKIE, portal_session.encode(settings, opened))
    assert client.get("/portal").status_code == 200  # the same session, correctly signed, works


def test_a_rotated_key_still_verifies_sessions_signed_with_the_old_one(
    engine: Engine, db: Session, settings: Settings
) -> None:
    w = h.world(db)
    rotated = dataclasses.replace(settings, secret_keys=(*settings.secret_keys, "newer-key"))
    old_session = portal_session.encode(settings, portal_session.open_for(w.customer, dt.datetime.now(dt.UTC)))
    with TestClient(app=create_app(rotated, engine=engine), base_url="http://settle.test") as tc:
        tc.cookies.set(portal_session.COOKIE, old_session)
        assert tc.get("/portal").status_code == 200


def test_a_cookie_of_customer_a_never_shows_or_touches_customer_b(
    client: Any, db: Session, settings: Settings
) -> None:
    a = h.world(db, customer_name="Alfa Bouw")
    b = h.world(db, "Other Creditor", customer_name="Bravo Logistiek",
                lines=[("B-1", 20, 77_700), ("B-2", 5, 1_100)])  # fmt: skip
    sibling = h.world(db, org=a.org, customer_name="Charlie Same Org", lines=[("C-1", 9, 3_300)])
    b_payment, _ = payments.register_manual(db, b.org.id, customer_id=b.customer.id, amount_cents=100,
                                            currency="EUR", received_on=h.TODAY)  # fmt: skip
    db.commit()
    page = h.sign_in(client, db, settings, a.customer)
    for text in ("Bravo", "B-1", "Other Creditor", "Charlie", "C-1", "€ 777,00"):
        assert text not in page, text
    assert client.get(f"/portal/payments/{b_payment.id}").status_code == 404
    before = [(i.status, i.open_cents, i.next_action_on) for i in (*b.invoices, *sibling.invoices)]
    for foreign in (b.invoices[0].id, sibling.invoices[0].id):
        r = h.pay(client, page, [foreign])
        assert r.status_code == 422 and "Kies een of meer van uw openstaande facturen" in r.text
        r = h.pay(client, page, [a.invoices[0].id, foreign])  # smuggled next to one of A's own
        assert r.status_code == 422
        r = client.post("/portal/requests", data={"csrf_token": h.csrf(page), "kind": "dispute",
                                                  "invoice_ids": [foreign], "reason": "quality"})  # fmt: skip
        assert r.status_code == 422
    h.reread(db)
    assert [(i.status, i.open_cents, i.next_action_on) for i in (h.fresh(db, x) for x in (*b.invoices,
                                                                                      *sibling.invoices))] == before
    assert db.scalar(select(func.count()).select_from(DebtorRequest)) == 0
    assert db.scalar(select(func.count()).select_from(Payment).where(Payment.status == "pending")) == 0
    # a form field cannot move the session either: the customer comes from the cookie only
    r = client.post("/portal/requests", data={"csrf_token": h.csrf(page), "kind": "dispute", "reason": "quality",
                                              "invoice_ids": [a.invoices[0].id],
                                              "customer_id": b.customer.id, "org_id": b.org.id},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    h.reread(db)
    [made] = db.scalars(select(DebtorRequest)).all()
    assert made.customer_id == a.customer.id and made.org_id == a.org.id
