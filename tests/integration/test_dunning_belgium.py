"""A Belgian creditor's run: Book XIX WER for consumers, the wet van 2 augustus 2002 for businesses,
and a policy that applies Belgian law for a Dutch organisation. SQLite and PostgreSQL alike.

The amounts are worked out by hand from the published rules, not from ``domain.law.be``:

* the first message about an invoice is the free first reminder (art. XIX.2): e-mailed on Monday
  9 March 2026, its fourteen days run 10-23 March, so damages come on 24 March;
* damages on EUR 200.00 (art. XIX.4): EUR 30 + 10 % of EUR 50 = EUR 35.00;
* interest at the late-payment rate of 10.5 % (first half of 2026: ECB 2.15 + 8, rounded up to a
  half point), simple, from 3 March up to 24 March = 21 days: 200 * 10.5 % * 21 / 365 = EUR 1.2082;
* a business: EUR 40 flat (art. 6) at the formal notice on 6 April, and 34 days of interest on
  EUR 1,000.00: 1000 * 10.5 % * 34 / 365 = EUR 9.7808 (Dutch law would say EUR 150 WIK costs and
  10.15 %: EUR 9.45).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from adapters.rendering import long_date
from adapters.settings import Settings
from domain.models import Customer, Document, Invoice, Organisation
from tests.conftest import Api, Tenant
from tests.integration import dunning_helpers as h

DAY = dt.timedelta(days=1)
D0 = dt.date(2026, 3, 2)  # a Monday
BE_STEPS = [
    {"kind": "reminder", "days_after_due": 7, "fee": "10.00"},
    {"kind": "statement_reminder", "days_after_due": 14, "fee": "10.00"},
    {"kind": "formal_notice", "days_after_due": 35},
    {"kind": "collection_handover", "days_after_due": 50},
]


def _belgian(db: Session, tenant: Tenant) -> Organisation:
    o = db.get_one(Organisation, tenant.org_id)
    o.name, o.country, o.enterprise_number = "Energie Brussel NV", "BE", "0403.170.701"
    db.commit()
    return o


def _policy(api: Api, **body: Any) -> dict[str, Any]:
    r = api.post("/policies", json={"name": "België", "is_default": True, "steps": BE_STEPS, **body})
    assert r.status_code == 201, r.text
    return dict(r.json())


def _invoice(db: Session, o: Organisation, c: Customer, number: str, due: dt.date, cents: int) -> Invoice:
    inv = h.invoice(db, o, c, number, due, cents)
    inv.description = "Elektriciteit februari 2026"
    db.commit()
    return inv


def _mail_on(engine: Engine, settings: Settings, db: Session, day: dt.date) -> list[Any]:
    box = h.mailbox(settings)
    seen = box.ids()
    h.run(engine, settings, db, day)
    return box.new_since(seen)


EXPECTED = {
    "nl": [
        "Eerste herinnering (boek XIX van het Wetboek van economisch recht)",
        "Openstaand saldo: € 200,00",  # the balance
        "forfaitaire schadevergoeding aan van € 35,00",  # the damages that will be charged
        "Schuldeiser: Energie Brussel NV, ondernemingsnummer 0403.170.701",  # name and enterprise number
        "Factuur BE-1 van 31-01-2026: Elektriciteit februari 2026",  # the description of the debt
        "vervaldatum 02-03-2026",  # the due date
        "tot en met 23 maart 2026: veertien kalenderdagen vanaf 10 maart 2026",  # the waiting period
        "afbetalingsplan",  # the right to ask for a payment plan
        "Deze eerste herinnering is kosteloos.",
    ],
    "fr": [
        "Premier rappel (livre XIX du Code de droit économique)",
        "Solde restant dû : 200,00 €",
        "une indemnité forfaitaire de 35,00 €",
        "Créancier : Energie Brussel NV, numéro d’entreprise 0403.170.701",
        "Facture BE-1 du 31/01/2026 : Elektriciteit februari 2026",
        "échéance 02/03/2026",
        "jusqu’au 23 mars 2026 inclus : quatorze jours calendrier à partir du 10 mars 2026",
        "plan de paiement",
        "Ce premier rappel est gratuit.",
    ],
    "en": [
        "First reminder (Book XIX of the Belgian Code of Economic Law)",
        "Balance due: €200.00",
        "we will charge you damages of €35.00",
        "Creditor: Energie Brussel NV, enterprise number 0403.170.701",
        "Invoice BE-1 of 31 Jan 2026: Elektriciteit februari 2026",
        "due date 2 Mar 2026",
        "up to and including 23 March 2026: fourteen calendar days from 10 March 2026",
        "payment plan",
        "This first reminder is free of charge.",
    ],
}


@pytest.mark.parametrize("locale", sorted(EXPECTED))
def test_a_belgian_consumers_first_reminder_states_what_book_xix_requires(
    db: Session, engine: Engine, settings: Settings, api: Api, tenant: Tenant, locale: str
) -> None:
    o = _belgian(db, tenant)
    _policy(api)
    c = h.customer(db, o.id, "Sophie Peeters", "sophie@example.be", kind="consumer", locale=locale)
    inv = _invoice(db, o, c, "BE-1", D0, 200_00)

    [mail] = _mail_on(engine, settings, db, D0 + 7 * DAY)

    text, html = h.words_of(mail), h.html_of(mail)
    for item in EXPECTED[locale]:
        assert item in " ".join(text.split()), item
    for item in ("balance", "debt", "creditor", "waiting-period", "damages", "payment-plan"):
        assert f'data-item="{item}"' in html, item
    assert {"nl": "€ 35,00", "en": "€35.00", "fr": "35,00"}[locale] in html
    stored = db.get_one(Invoice, inv.id)
    assert (stored.fees_cents, stored.costs_cents, stored.interest_cents) == (0, 0, 0)  # the reminder is free
    assert stored.costs_due_on == dt.date(2026, 3, 24)


def test_a_belgian_consumer_pays_damages_and_interest_only_after_the_waiting_period(
    db: Session, engine: Engine, settings: Settings, api: Api, tenant: Tenant
) -> None:
    o = _belgian(db, tenant)
    _policy(api)
    c = h.customer(db, o.id, "Sophie Peeters", "sophie@example.be", kind="consumer")
    inv = _invoice(db, o, c, "BE-1", D0, 200_00)

    assert len(_mail_on(engine, settings, db, D0 + 7 * DAY)) == 1
    [second] = _mail_on(engine, settings, db, D0 + 14 * DAY)
    assert "Eerste herinnering" not in h.words_of(second)  # the first reminder is not repeated
    h.run(engine, settings, db, dt.date(2026, 3, 23))  # the term's last day: nothing charged yet
    stored = db.get_one(Invoice, inv.id)
    assert (stored.fees_cents, stored.costs_cents, stored.interest_cents) == (0, 0, 0)

    h.run(engine, settings, db, dt.date(2026, 3, 24))

    stored = db.get_one(Invoice, inv.id)
    assert (stored.fees_cents, stored.costs_cents, stored.interest_cents) == (0, 35_00, 1_21)
    assert stored.open_cents == 200_00 + 35_00 + 1_21
    assert h.actions(db, inv.id) == [("reminder", "planned"), ("statement_reminder", "planned")]


def test_regular_supply_three_free_reminders_a_calendar_year(
    db: Session, engine: Engine, settings: Settings, api: Api, tenant: Tenant
) -> None:
    o = _belgian(db, tenant)
    _policy(api, steps=[{"kind": "reminder", "days_after_due": 7, "fee": "10.00"}])
    c = h.customer(db, o.id, "Sophie Peeters", "sophie@example.be", kind="consumer")
    c.regular_supply = True
    dues = [dt.date(2026, m, 5) for m in (1, 2, 3, 4)] + [dt.date(2026, 12, 14), dt.date(2027, 1, 4)]
    invoices = [_invoice(db, o, c, f"E-{i}", due, 50_00) for i, due in enumerate(dues, start=1)]

    for due in dues:
        h.run(engine, settings, db, due + 7 * DAY)

    fees = [db.get_one(Invoice, inv.id).fees_cents for inv in invoices]
    # 2026: three due dates free, the fourth and fifth at most EUR 7.50; 2027 starts free again.
    assert fees == [0, 0, 0, 7_50, 7_50, 0]


def test_a_belgian_business_owes_forty_euros_and_the_late_payment_rate(
    db: Session, engine: Engine, settings: Settings, api: Api, tenant: Tenant
) -> None:
    o = _belgian(db, tenant)
    _policy(api)
    c = h.customer(db, o.id, "Café Brussel BV", "boekhouding@cafe.example.be", kind="business")
    inv = _invoice(db, o, c, "BE-B1", D0, 1_000_00)

    [notice] = _mail_on(engine, settings, db, D0 + 35 * DAY)  # 6 April: the formal notice

    stored = db.get_one(Invoice, inv.id)
    assert (stored.costs_cents, stored.interest_cents) == (40_00, 9_78)
    text = " ".join(h.words_of(notice).split())
    assert "forfaitaire vergoeding voor invorderingskosten aan van € 40,00" in text
    assert "wet van 2 augustus 2002" in text
    assert "Besluit vergoeding voor buitengerechtelijke incassokosten" not in text
    assert "Forfaitaire vergoeding: € 40,00" in text and "Verwijlinteresten: € 9,78" in text
    assert "Incassokosten" not in text and "Wettelijke rente" not in text  # the Dutch law's words
    assert "Eerste herinnering" not in text  # Book XIX is for consumers


def test_a_policy_may_apply_belgian_law_for_a_dutch_organisation(
    db: Session, engine: Engine, settings: Settings, api: Api, tenant: Tenant
) -> None:
    o = db.get_one(Organisation, tenant.org_id)
    assert o.country == "NL"
    db.commit()
    policy = _policy(api, law="BE", steps=[{"kind": "formal_notice", "days_after_due": 35}])
    assert policy["law"] == "BE"
    assert api.get(f"/policies/{policy['id']}").json()["law"] == "BE"
    c = h.customer(db, o.id, "Frituur Antwerpen BV", "frituur@example.be", kind="business")
    inv = _invoice(db, o, c, "NL-B1", D0, 1_000_00)

    h.run(engine, settings, db, D0 + 35 * DAY)

    stored = db.get_one(Invoice, inv.id)
    assert (stored.costs_cents, stored.interest_cents) == (40_00, 9_78)  # not WIK EUR 150 and 10.15 %


def test_a_policy_naming_an_unknown_law_is_refused(api: Api) -> None:
    r = api.post("/policies", json={"name": "X", "law": "DE", "steps": BE_STEPS})
    assert r.status_code in (400, 422), r.text
    assert r.json()["field"] == "law"


def test_the_portal_offers_a_payment_plan_during_the_waiting_period(
    db: Session, engine: Engine, settings: Settings, api: Api, tenant: Tenant, client: Any
) -> None:
    from tests.integration import portal_helpers as ph

    today = dt.date.today()  # the portal reads the real day; the reminder goes out today
    o = _belgian(db, tenant)
    _policy(api)
    c = h.customer(db, o.id, "Sophie Peeters", "sophie@example.be", kind="consumer")
    _invoice(db, o, c, "BE-1", today - 7 * DAY, 200_00)
    h.run(engine, settings, db, today)
    last = db.scalars(select(Invoice.costs_due_on).where(Invoice.customer_id == c.id)).one() - DAY

    page = ph.sign_in(client, db, settings, c)

    assert 'id="book-xix"' in page
    assert "afbetalingsplan" in page
    target = re.search(r'href="#([\w-]+)" id="book-xix-ask"', page)
    assert target is not None and f'id="{target.group(1)}"' in page  # the link leads to a form on the page
    assert f"tot en met {long_date(last, 'nl')}" in page
    business = h.customer(db, o.id, "Café Brussel BV", "cafe@example.be", kind="business")
    _invoice(db, o, business, "BE-B1", today - 7 * DAY, 200_00)
    h.run(engine, settings, db, today)
    assert 'id="book-xix"' not in ph.sign_in(client, db, settings, business)  # Book XIX is for consumers


def test_a_reminder_that_cannot_be_sent_starts_no_waiting_period(
    db: Session, engine: Engine, settings: Settings, api: Api, tenant: Tenant
) -> None:
    o = _belgian(db, tenant)
    _policy(api)
    c = h.customer(db, o.id, "Jan Zonder Mail", None, kind="consumer")
    inv = _invoice(db, o, c, "BE-1", D0, 200_00)

    h.run(engine, settings, db, D0 + 7 * DAY)
    h.run(engine, settings, db, D0 + 30 * DAY)

    stored = db.get_one(Invoice, inv.id)
    assert (stored.notice_sent_on, stored.costs_due_on, stored.costs_cents) == (None, None, 0)


def test_the_portal_names_the_belgian_laws_damages_and_interest(
    db: Session, engine: Engine, settings: Settings, api: Api, tenant: Tenant, client: Any
) -> None:
    from tests.integration import portal_helpers as ph

    today = dt.date.today()
    o = _belgian(db, tenant)
    _policy(api, steps=[{"kind": "reminder", "days_after_due": 7}])
    c = h.customer(db, o.id, "Sophie Peeters", "sophie@example.be", kind="consumer")
    inv = _invoice(db, o, c, "BE-1", today - 40 * DAY, 200_00)
    h.run(engine, settings, db, today - 33 * DAY)  # the first reminder
    h.run(engine, settings, db, today)  # long after its waiting period: damages and interest

    assert db.get_one(Invoice, inv.id).costs_cents == 35_00
    page = ph.sign_in(client, db, settings, c)

    assert "Forfaitaire vergoeding" in page and "Verwijlinteresten" in page
    assert "Incassokosten" not in page and "Wettelijke rente" not in page
    assert 'id="book-xix"' not in page  # the term is over: no more talk of paying without costs


def test_a_friendly_word_before_the_due_date_is_not_the_first_reminder(
    db: Session, engine: Engine, settings: Settings, api: Api, tenant: Tenant
) -> None:
    o = _belgian(db, tenant)
    steps = [{"kind": "reminder", "days_after_due": -3}, {"kind": "statement_reminder", "days_after_due": 7}]
    _policy(api, steps=steps)
    c = h.customer(db, o.id, "Sophie Peeters", "sophie@example.be", kind="consumer")
    inv = _invoice(db, o, c, "BE-1", D0, 200_00)

    [before] = _mail_on(engine, settings, db, D0 - 3 * DAY)
    assert "Eerste herinnering" not in h.words_of(before)
    assert db.get_one(Invoice, inv.id).costs_due_on is None
    [late] = _mail_on(engine, settings, db, D0 + 7 * DAY)

    assert "Eerste herinnering" in h.words_of(late)
    assert db.get_one(Invoice, inv.id).costs_due_on == dt.date(2026, 3, 24)


def test_a_first_reminder_on_paper_waits_from_the_third_working_day(
    db: Session, engine: Engine, settings: Settings, api: Api, tenant: Tenant
) -> None:
    o = _belgian(db, tenant)
    _policy(api, steps=[{"kind": "reminder", "days_after_due": 7, "channel": "letter"}])
    c = h.customer(db, o.id, "Sophie Peeters", "sophie@example.be", kind="consumer")
    inv = _invoice(db, o, c, "BE-1", D0, 200_00)

    h.run(engine, settings, db, D0 + 7 * DAY)  # posted Monday 9 March: Tue 10, Wed 11, Thu 12 March

    stored = db.get_one(Invoice, inv.id)
    assert stored.costs_due_on == dt.date(2026, 3, 26)  # fourteen days 12-25 March, damages from the 26th
    [letter] = db.scalars(select(Document).where(Document.customer_id == c.id)).all()
    words = " ".join(re.sub(r"<[^>]+>", " ", letter.html).split())
    assert "Eerste herinnering" in words and "tot en met 25 maart 2026" in words
