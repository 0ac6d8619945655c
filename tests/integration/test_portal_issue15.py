"""Issue 15, debtor side: the acknowledgement of a request by e-mail, in_collection invoices
not payable from the portal, the receipt and 'try again' on the return page."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.settings import Settings
from domain.models import Invoice, OutboxMessage
from tests.integration import portal_helpers as h


def _ask(client: Any, html: str, **form: Any) -> Any:
    return client.post("/portal/requests", data={"csrf_token": h.csrf(html), **form}, follow_redirects=False)


def test_a_promise_is_acknowledged_by_e_mail_once(client: Any, db: Session, settings: Settings) -> None:
    w = h.world(db)
    page = h.sign_in(client, db, settings, w.customer)
    day = h.TODAY + dt.timedelta(days=10)
    r = _ask(client, page, kind="promise", invoice_ids=[w.ids[0]], date_promise=day.isoformat())
    assert r.status_code == 303, r.text
    h.reread(db)
    [row] = db.scalars(select(OutboxMessage).where(OutboxMessage.kind == "request_received")).all()
    assert row.to_address == "ap@jansen.example" and row.dedupe_key.startswith("request_received:req_")
    mail = next(m for m in h.mails(settings) if "betaalbelofte" in str(m["Subject"]))
    text = h.body(mail)
    words = re.sub(r"https?://\S+", "", text)  # a link's random token may spell anything
    assert "F-1" in words and "F-2" not in words
    assert f"{day.day} " in text and "geen herinneringen" in text
    assert h.PORTAL_LINK.search(text), "the link back to the portal"
    assert "white-space: nowrap" in h.body(mail, "html")
    assert [e.data.get("sent") for e in h.events(db, "request.acknowledged")] == [True]


def test_a_dispute_in_english_says_what_happens_next(client: Any, db: Session, settings: Settings) -> None:
    w = h.world(db, locale="en")
    page = h.sign_in(client, db, settings, w.customer)
    assert _ask(client, page, kind="dispute", invoice_ids=[w.ids[1]], reason="wrong_amount").status_code == 303
    mail = next(m for m in h.mails(settings) if "dispute" in str(m["Subject"]))
    text = h.body(mail)
    assert "F-2" in text and "no reminders" in text and "Reply to this e-mail" in text


def test_no_address_no_acknowledgement(client: Any, db: Session, settings: Settings) -> None:
    w = h.world(db, email_address=None)
    page = h.sign_in(client, db, settings, w.customer)
    assert _ask(client, page, kind="dispute", invoice_ids=[w.ids[0]], reason="quality").status_code == 303
    h.reread(db)
    assert db.scalars(select(OutboxMessage).where(OutboxMessage.kind == "request_received")).all() == []
    assert [e.data.get("sent") for e in h.events(db, "request.acknowledged")] == [False]


def test_an_invoice_with_the_agency_has_no_pay_button(client: Any, db: Session, settings: Settings) -> None:
    w = h.world(db)
    db.get_one(Invoice, w.ids[0]).status = "in_collection"
    db.commit()
    page = h.sign_in(client, db, settings, w.customer)
    assert "Ligt bij het incassobureau" in page
    assert "Betaal alles: € 50,00" in page and "Betaal € 1.234,56" not in page
    assert page.count("Er staat niets meer open") == 0
    refused = h.pay(client, page, [w.ids[0]])
    assert refused.status_code == 422
    assert h.payments(db, w.customer) == []
    everything = h.checkout_path(h.pay(client, page))  # none chosen: the open invoice only
    [payment] = h.payments(db, w.customer)
    assert everything and payment.amount_cents == 5_000 and payment.requested_invoice_ids == [w.ids[1]]


def test_nothing_open_is_said_once(client: Any, db: Session, settings: Settings) -> None:
    w = h.world(db, lines=[])
    page = h.sign_in(client, db, settings, w.customer)
    assert page.count("Er staat niets meer open") == 1


def test_a_receipt_after_paying_and_try_again_after_cancelling(client: Any, db: Session, settings: Settings) -> None:
    w = h.world(db)
    page = h.sign_in(client, db, settings, w.customer)
    cancelled = h.pay_through_sandbox(client, page, [w.ids[1]], outcome="canceled")
    assert 'data-status="canceled"' in cancelled.text, cancelled.text
    assert "Probeer opnieuw: betaal € 50,00" in cancelled.text and f'value="{w.ids[1]}"' in cancelled.text
    again = client.post("/portal/pay", data={"csrf_token": h.csrf(cancelled.text), "provider": "sandbox",
                                             "invoice_ids": [w.ids[1]]}, follow_redirects=False)  # fmt: skip
    back = h.sandbox(client, h.checkout_path(again), "paid")
    paid = client.get(back.headers["location"]).text
    assert 'id="receipt"' in paid and "Betalingsbewijs" in paid and "F-2" in paid and "€ 50,00" in paid
    assert "sbx_" in paid  # the provider's reference
    assert "Probeer opnieuw" not in paid
