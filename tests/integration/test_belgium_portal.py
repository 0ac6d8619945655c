"""Issue 16 in front of the debtor: a Belgian invoice's OGM on the portal and in the reminder, passed
to Mollie and Stripe (through their SDKs against the fakes), and Bancontact first for a Belgian."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from adapters.settings import Settings
from domain import customers, organisations
from domain.models import Document, Organisation
from tests.fakes.mollie_fake import FakeMollie
from tests.fakes.stripe_fake import FakeStripe
from tests.integration import dunning_helpers as dh
from tests.integration import portal_helpers as h
from tests.integration import provider_helpers as ph

# F-1 and F-2 of a Belgian creditor: the OGMs of their numbers (1 and 2, check digits 01 and 02).
OGM_1, OGM_2 = "+++000/0000/00101+++", "+++000/0000/00202+++"


def belgian_org(db: Session) -> Organisation:
    org, _ = organisations.create(db, "Brouwerij De Kroon BV")
    organisations.update(db, org, {"country": "BE", "iban": "BE71096123456769", "email": "boekhouding@kroon.example"})
    db.commit()
    return org


def belgian_world(db: Session, *, customer_country: str | None = None) -> h.World:
    w = h.world(db, org=belgian_org(db), customer_name="Café Den Hoek")
    if customer_country is not None:
        customers.update(db, w.org.id, w.customer.id, {"country": customer_country})
        db.commit()
    return w


def _options(html: str) -> list[str]:
    return re.findall(r'<option value="(\w+)">', html)


def test_the_portal_shows_a_belgian_invoices_structured_communication(
    client: Any, db: Session, settings: Settings
) -> None:
    w = belgian_world(db)
    assert [inv.payment_reference for inv in w.invoices] == [OGM_1, OGM_2]
    page = h.sign_in(client, db, settings, w.customer)
    assert f'Gestructureerde mededeling <span class="reference">{OGM_1}</span>' in page
    assert OGM_2 in page
    assert "met de gestructureerde mededeling van de factuur" in page
    assert "Betalingskenmerk" not in page


def test_a_dutch_creditors_page_still_says_betalingskenmerk(client: Any, db: Session, settings: Settings) -> None:
    w = h.world(db)
    page = h.sign_in(client, db, settings, w.customer)
    assert "Betalingskenmerk" in page and "gestructureerde mededeling" not in page.lower()


def test_the_reminder_e_mail_shows_the_ogm(engine: Engine, db: Session, settings: Settings) -> None:
    org = belgian_org(db)
    customer = dh.customer(db, org.id, name="Café Den Hoek")
    today = dt.date(2026, 6, 10)
    dh.invoice(db, org, customer, "F-7", today - dt.timedelta(days=14), 45_000)
    db.commit()
    summary = dh.run(engine, settings, db, today)
    assert summary.delivered == 1
    [msg] = dh.mailbox(settings).messages()
    ogm = "+++000/0000/00707+++"
    assert f"(gestructureerde mededeling {ogm})" in dh.text_of(msg)
    assert f'gestructureerde mededeling <span style="white-space: nowrap;">{ogm}</span>' in dh.html_of(msg)
    assert "betalingskenmerk" not in dh.text_of(msg)


def test_mollie_gets_bancontact_first_and_the_ogm_for_a_belgian(
    pay_client: Any, db: Session, pay_settings: Settings, mollie_fake: FakeMollie
) -> None:
    w = belgian_world(db)
    ph.enable_mollie(db, w.org, mollie_fake)
    page = h.sign_in(pay_client, db, pay_settings, w.customer)
    assert "Bancontact, iDEAL of creditcard" in page
    ph.start(pay_client, db, pay_settings, w, "mollie")
    [created] = mollie_fake.payments.values()
    assert created["method"] == ["bancontact", "ideal", "creditcard"]
    assert created["metadata"]["structured_reference"] == f"{OGM_1}, {OGM_2}"
    assert f"F-1 {OGM_1}" in created["description"] and f"F-2 {OGM_2}" in created["description"]


def test_stripe_gets_bancontact_first_and_the_ogm_for_a_belgian(
    pay_client: Any, db: Session, pay_settings: Settings, stripe_fake: FakeStripe
) -> None:
    w = belgian_world(db)
    ph.enable_stripe(db, w.org, stripe_fake)
    ph.start(pay_client, db, pay_settings, w, "stripe", [w.invoices[0].id])
    [session] = stripe_fake.sessions.values()
    assert session["payment_method_types"] == ["bancontact", "card", "ideal"]
    assert session["metadata"]["structured_reference"] == OGM_1


@pytest.mark.parametrize(("country", "first"), [(None, "stripe"), ("NL", "mollie")])
def test_a_belgian_is_offered_the_provider_with_bancontact_first(
    pay_client: Any, db: Session, pay_settings: Settings, mollie_fake: FakeMollie, stripe_fake: FakeStripe,
    country: str | None, first: str,
) -> None:
    w = belgian_world(db, customer_country=country)  # None: the Belgian creditor's country
    ph.enable_mollie(db, w.org, mollie_fake, methods=["ideal", "creditcard"])
    ph.enable_stripe(db, w.org, stripe_fake, methods=["card", "bancontact"])
    page = h.sign_in(pay_client, db, pay_settings, w.customer)
    assert _options(page)[:2] == ([first, "mollie" if first == "stripe" else "stripe"])
    assert ("Bancontact of kaart" in page) is (country is None)


def test_a_dutch_debtor_keeps_the_creditors_order(
    pay_client: Any, db: Session, pay_settings: Settings, mollie_fake: FakeMollie
) -> None:
    w = belgian_world(db, customer_country="NL")
    ph.enable_mollie(db, w.org, mollie_fake)
    ph.start(pay_client, db, pay_settings, w, "mollie")
    [created] = mollie_fake.payments.values()
    assert created["method"] == ["ideal", "bancontact", "creditcard"]


def test_the_formal_notice_letter_shows_the_ogm(engine: Engine, db: Session, settings: Settings) -> None:
    org = belgian_org(db)
    customer = dh.customer(db, org.id, name="Taverne De Hoek BV")
    today = dt.date(2026, 6, 10)
    dh.invoice(db, org, customer, "F-8", today - dt.timedelta(days=35), 45_000)
    db.commit()
    dh.run(engine, settings, db, today)
    [letter] = db.scalars(select(Document).where(Document.customer_id == customer.id, Document.kind == "formal_notice"))
    assert "gestructureerde mededeling +++000/0000/00808+++" in letter.html
