"""Policies as a creditor configures them through the API, and the money a run adds to an
invoice, as the debtor reads it in the mail and the back office reads it in the API: which
policy a customer walks, a step's own words, a step's fee, the formal notice's collection
costs and statutory interest, and the hand-over to the collection agency.

The expected amounts are worked out by hand from the published rules, not from ``domain.law``:

* collection costs (WIK, Besluit vergoeding voor buitengerechtelijke incassokosten): 15% of
  the first EUR 2,500, at least EUR 40: EUR 1,000.00 -> EUR 150.00, EUR 200.00 -> EUR 40.00;
* commercial statutory interest (art. 6:119a BW) at 10.15% a year in 2026, actual/365, from
  the day after the due date up to but not including the day of the run: due 2 March 2026,
  notice on 6 April 2026 = 34 days (3-31 March and 1-5 April); EUR 1,000.00 earns
  1000 * 10.15% * 34 / 365 = EUR 9.4548 -> EUR 9.45, EUR 200.00 earns EUR 1.8910 -> EUR 1.89;
  handed over on 21 April 2026 = 49 days: EUR 1,000.00 earns EUR 13.6260 -> EUR 13.63.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from adapters.settings import Settings
from domain.models import Document, Event, Invoice, Organisation, OutboxMessage, Task
from domain.policies import step_templates
from tests.conftest import Api, Tenant
from tests.integration import dunning_helpers as h

DAY = dt.timedelta(days=1)
D0 = dt.date(2026, 3, 2)  # a due date in the past, so statutory interest rates are known
NOTICE_DAY = D0 + 35 * DAY  # 6 April 2026: the default policy's formal notice
HANDOVER_DAY = D0 + 50 * DAY  # 21 April 2026: its hand-over


def _policy(api: Api, **body: Any) -> dict[str, Any]:
    r = api.post("/policies", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def _daily(engine: Engine, settings: Settings, db: Session, first: dt.date, last: dt.date) -> dict[str, list[Any]]:
    """Run every day from ``first`` to ``last``; per recipient, (days after D0, subject) of each mail."""
    box = h.mailbox(settings)
    arrived: dict[str, list[Any]] = {}
    day = first
    while day <= last:
        seen = box.ids()
        h.run(engine, settings, db, day)
        for m in box.new_since(seen):
            arrived.setdefault(str(m["To"]), []).append(((day - D0).days, str(m["Subject"])))
        day += DAY
    return arrived


def _pay(api: Api, customer_id: str, invoice_id: str, amount: str, on: dt.date) -> None:
    r = api.post("/payments", json={"customer_id": customer_id, "amount": amount, "received_on": on.isoformat(),
                                    "allocations": [{"invoice_id": invoice_id, "amount": amount}]})  # fmt: skip
    assert r.status_code == 201, r.text


# --- which policy a customer walks ------------------------------------------------------------


def test_a_customers_own_policy_wins_over_a_matching_rule_and_the_rest_follow_rule_or_default(
    db: Session, engine: Engine, settings: Settings, api: Api, tenant: Tenant
) -> None:
    o = db.get_one(Organisation, tenant.org_id)
    ruled = h.customer(db, o.id, "Snel BV", "snel@example.com", kind="business")
    favoured = h.customer(db, o.id, "Vaste Klant BV", "vast@example.com", kind="business")
    person = h.customer(db, o.id, "Piet Consument", "piet@example.com", kind="consumer")
    db.commit()
    fast = _policy(api, name="Zakelijk snel", priority=10, applies_to={"customer_kind": "business"},
                   steps=[{"kind": "reminder", "days_after_due": 3}])  # fmt: skip
    lenient = _policy(api, name="Coulant", priority=500, customer_ids=[favoured.id],
                      steps=[{"kind": "statement_reminder", "days_after_due": 10}])  # fmt: skip
    assert lenient["customer_ids"] == [favoured.id]
    invoices = {c.id: h.invoice(db, o, c, f"F-{c.name[:4]}", D0) for c in (ruled, favoured, person)}

    arrived = _daily(engine, settings, db, D0 + DAY, D0 + 12 * DAY)

    # The business rule would match the favoured customer too; its own policy wins.
    assert arrived == {
        "snel@example.com": [(3, "Herinnering: 1 openstaande factuur van Acme Groothandel")],
        "vast@example.com": [(10, "Tweede herinnering en rekeningoverzicht van Acme Groothandel")],
        "piet@example.com": [(7, "Herinnering: 1 openstaande factuur van Acme Groothandel")],
    }
    default = next(p for p in api.get("/policies").json()["items"] if p["is_default"])
    applied = {cid: db.get_one(Invoice, inv.id).policy_id for cid, inv in invoices.items()}
    assert applied == {ruled.id: fast["id"], favoured.id: lenient["id"], person.id: default["id"]}
    assert h.actions(db, invoices[favoured.id].id) == [("statement_reminder", "planned")]


def test_giving_a_customer_with_open_invoices_its_own_policy_takes_effect_on_that_policys_days(
    db: Session, engine: Engine, settings: Settings, api: Api, tenant: Tenant
) -> None:
    o = db.get_one(Organisation, tenant.org_id)
    c = h.customer(db, o.id, "Snel BV", "snel@example.com")
    inv = h.invoice(db, o, c, "F-OWN", D0)  # on the default policy: first looked at on day 7
    db.commit()
    fast = _policy(api, name="Snel", steps=[{"kind": "reminder", "days_after_due": 3}])

    r = api.patch(f"/customers/{c.id}", json={"policy_id": fast["id"]})

    assert r.status_code == 200, r.text
    assert api.get(f"/invoices/{inv.id}").json()["dunning"]["next_action_on"] == (D0 + 3 * DAY).isoformat()
    arrived = _daily(engine, settings, db, D0 + DAY, D0 + 8 * DAY)
    assert arrived == {"snel@example.com": [(3, "Herinnering: 1 openstaande factuur van Acme Groothandel")]}
    assert db.get_one(Invoice, inv.id).policy_id == fast["id"]


def test_new_customers_and_loyal_customers_get_the_policy_their_rule_names(
    db: Session, engine: Engine, settings: Settings, api: Api, tenant: Tenant
) -> None:
    o = db.get_one(Organisation, tenant.org_id)
    newcomer = h.customer(db, o.id, "Nieuw BV", "nieuw@example.com")
    loyal = h.customer(db, o.id, "Trouw BV", "trouw@example.com")
    late = h.customer(db, o.id, "Laat BV", "laat@example.com")
    # History: the loyal customer paid its last two invoices before they were due, the late one
    # paid a month late; the newcomer has never paid anything.
    history = [
        (loyal, "T-1", dt.date(2026, 1, 15), dt.date(2026, 1, 10)),
        (loyal, "T-2", dt.date(2026, 2, 15), dt.date(2026, 2, 14)),
        (late, "L-1", dt.date(2026, 1, 15), dt.date(2026, 2, 16)),
    ]
    old = [(c, h.invoice(db, o, c, number, due), paid_on) for c, number, due, paid_on in history]
    db.commit()
    for c, inv, paid_on in old:
        _pay(api, c.id, inv.id, "100.00", paid_on)
    _policy(api, name="Nieuwe klanten", priority=10, applies_to={"segment": "new"},
            steps=[{"kind": "reminder", "days_after_due": 2}])  # fmt: skip
    _policy(api, name="Trouwe klanten", priority=20, applies_to={"segment": "loyal", "loyal_after": 2},
            steps=[{"kind": "reminder", "days_after_due": 12}])  # fmt: skip
    for c in (newcomer, loyal, late):
        h.invoice(db, o, c, f"N-{c.name[:4]}", D0)

    arrived = _daily(engine, settings, db, D0 + DAY, D0 + 12 * DAY)

    assert {to: [d for d, _ in mails] for to, mails in arrived.items()} == {
        "nieuw@example.com": [2],  # new: the early reminder
        "trouw@example.com": [12],  # loyal (two on time): the patient one
        "laat@example.com": [7],  # neither: the default policy
    }
    assert all(subject.startswith("Herinnering") for mails in arrived.values() for _, subject in mails)


# --- a step's own words ----------------------------------------------------------------------------


def test_a_step_that_names_a_template_mails_in_that_templates_words_in_each_language(
    db: Session, engine: Engine, settings: Settings, api: Api, tenant: Tenant
) -> None:
    o = db.get_one(Organisation, tenant.org_id)
    dutch = h.customer(db, o.id, "Bakkerij Jansen", "ap@jansen.example", locale="nl")
    english = h.customer(db, o.id, "Smith Ltd", "accounts@smith.example", locale="en")
    person = h.customer(db, o.id, "Piet Consument", "piet@example.com", kind="consumer")
    db.commit()
    policy = _policy(api, name="Meteen met overzicht", priority=10, applies_to={"customer_kind": "business"},
                     steps=[{"kind": "reminder", "days_after_due": 7, "template": "statement_reminder"},
                            {"kind": "final_reminder", "days_after_due": 14}])  # fmt: skip
    assert [s["template"] for s in policy["steps"]] == ["statement_reminder", None]
    for c in (dutch, english, person):
        h.invoice(db, o, c, f"F-{c.name[:5]}", D0)

    h.run(engine, settings, db, D0 + 7 * DAY)

    mails = {m["To"]: m for m in h.mailbox(settings).messages()}
    nl, en = mails["ap@jansen.example"], mails["accounts@smith.example"]
    assert nl["Subject"] == "Tweede herinnering en rekeningoverzicht van Acme Groothandel"
    assert "Ondanks onze eerdere herinnering" in h.text_of(nl)
    assert "<title>Tweede herinnering en rekeningoverzicht" in h.html_of(nl)
    assert en["Subject"] == "Second reminder and account statement from Acme Groothandel"
    # Only the step that names it: the consumer's default reminder keeps its own words.
    assert mails["piet@example.com"]["Subject"] == "Herinnering: 1 openstaande factuur van Acme Groothandel"
    # Still the reminder step as far as the track is concerned.
    assert [m.kind for m in h.outbox(db, OutboxMessage.customer_id == dutch.id)] == ["reminder"]

    seen = h.mailbox(settings).ids()
    h.run(engine, settings, db, D0 + 14 * DAY)
    later = {m["To"]: m["Subject"] for m in h.mailbox(settings).new_since(seen)}
    assert later["ap@jansen.example"] == "Laatste herinnering van Acme Groothandel"  # the next step: its own words


def test_a_template_that_does_not_exist_is_refused_naming_the_step(api: Api) -> None:
    steps = [{"kind": "reminder", "days_after_due": 7}, {"kind": "final_reminder", "days_after_due": 14}]
    for bad in ("friendly_nudge", "../layout", "thank_you", ""):
        r = api.post("/policies", json={"name": "x", "steps": [steps[0], {**steps[1], "template": bad}]})
        assert r.status_code == 422, (bad, r.text)
        body = r.json()
        assert body["field"] == "steps[1].template"
        assert f"email/nl/{bad}.j2, email/fr/{bad}.j2 and email/en/{bad}.j2" in body["message"]
        assert "statement_reminder" in body["message"]  # and what would do

    policy = _policy(api, name="Goed", steps=steps)
    r = api.put(f"/policies/{policy['id']}", json={"name": "Goed", "steps": [{**steps[0], "template": "nudge"}]})
    assert r.status_code == 422 and r.json()["field"] == "steps[0].template"
    assert api.get(f"/policies/{policy['id']}").json()["steps"] == policy["steps"]


def test_only_templates_present_in_every_language_can_be_named(tmp_path: Path) -> None:
    languages = (("nl", ["reminder", "alleen_nl", "uniquement_nl_fr", "thank_you"]),
                 ("fr", ["reminder", "uniquement_nl_fr", "thank_you"]), ("en", ["reminder", "thank_you"]))  # fmt: skip
    for locale, names in languages:
        (tmp_path / locale).mkdir()
        for name in names:
            (tmp_path / locale / f"{name}.j2").write_text("", encoding="utf-8")
    assert step_templates(tmp_path) == ["reminder"]
    assert "formal_notice" in step_templates() and "portal_link" not in step_templates()


# --- a step's fee ------------------------------------------------------------------------------------


def test_a_step_fee_is_charged_once_and_named_in_the_mail(
    db: Session, engine: Engine, settings: Settings, api: Api, tenant: Tenant
) -> None:
    _policy(api, name="Met aanmaningskosten", priority=10, applies_to={"customer_kind": "business"},
            steps=[{"kind": "reminder", "days_after_due": 7, "fee": "7.50"},
                   {"kind": "statement_reminder", "days_after_due": 14}])  # fmt: skip
    o = db.get_one(Organisation, tenant.org_id)
    c = h.customer(db, o.id)
    inv = h.invoice(db, o, c, "F-FEE", D0, 10_000)
    box = h.mailbox(settings)

    h.run(engine, settings, db, D0 + 7 * DAY)

    read = api.get(f"/invoices/{inv.id}").json()
    assert (read["amount"], read["fees"], read["open_amount"]) == ("100.00", "7.50", "107.50")
    [mail] = box.messages()
    text = h.text_of(mail)
    assert "F-FEE" in text and "€ 100,00" in text
    assert "Aanmaningskosten: € 7,50" in text and "Totaal te betalen: € 107,50" in text
    assert "€ 7,50" in h.html_of(mail)

    # Again the same day, and every day up to the next step: no second fee, no second mail.
    for day in range(7, 14):
        h.run(engine, settings, db, D0 + day * DAY)
    assert len(box.files()) == 1
    read = api.get(f"/invoices/{inv.id}").json()
    assert (read["fees"], read["open_amount"]) == ("7.50", "107.50")

    seen = box.ids()
    h.run(engine, settings, db, D0 + 14 * DAY)  # the next step has no fee of its own
    [second] = box.new_since(seen)
    assert "Aanmaningskosten: € 7,50" in h.text_of(second) and "Totaal te betalen: € 107,50" in h.text_of(second)
    read = api.get(f"/invoices/{inv.id}").json()
    assert (read["fees"], read["open_amount"]) == ("7.50", "107.50")


# --- formal notice: collection costs and statutory interest --------------------------------------------


def test_a_business_formal_notice_puts_costs_and_interest_on_the_invoice_and_shows_them_apart(
    db: Session, engine: Engine, settings: Settings, api: Api, tenant: Tenant
) -> None:
    o = db.get_one(Organisation, tenant.org_id)
    big = h.customer(db, o.id, "Groot BV", "groot@example.com", kind="business")
    small = h.customer(db, o.id, "Klein BV", "klein@example.com", kind="business")
    big_inv = h.invoice(db, o, big, "F-1000", D0, 100_000)
    small_inv = h.invoice(db, o, small, "F-200", D0, 20_000)

    h.run(engine, settings, db, NOTICE_DAY)  # the first run: the notice, earlier steps skipped

    for inv, amounts in (
        (big_inv, ("1000.00", "150.00", "9.45", "1159.45")),  # 15% of the principal
        (small_inv, ("200.00", "40.00", "1.89", "241.89")),  # 15% would be 30.00: the minimum
    ):
        read = api.get(f"/invoices/{inv.id}").json()
        assert (read["amount"], read["costs"], read["interest"], read["open_amount"]) == amounts
        assert read["fees"] == "0.00"
    statement = api.get(f"/customers/{big.id}/statement", params={"as_of": NOTICE_DAY.isoformat()}).json()
    [total] = statement["totals"]
    assert (total["principal"], total["costs"], total["interest"], total["total"]) == (
        "1000.00", "150.00", "9.45", "1159.45")  # fmt: skip
    [line] = statement["invoices"]
    assert (line["number"], line["principal_open"], line["costs"], line["interest"]) == (
        "F-1000", "1000.00", "150.00", "9.45")  # fmt: skip

    mails = {m["To"]: m for m in h.mailbox(settings).messages()}
    mail = mails["groot@example.com"]
    assert mail["Subject"] == "Ingebrekestelling: F-1000 (Acme Groothandel)"
    text = h.text_of(mail)
    assert "F-1000" in text and ": € 1.000,00" in text  # the principal on the invoice's line
    assert "incassokosten in rekening van € 150,00" in text
    assert "Incassokosten: € 150,00" in text
    assert "Wettelijke rente: € 9,45" in text
    assert "Totaal te betalen: € 1.159,45" in text
    assert "Incassokosten: € 40,00" in h.text_of(mails["klein@example.com"])

    [letter] = db.scalars(select(Document).where(Document.customer_id == big.id))
    assert (letter.kind, letter.invoice_id, letter.title) == ("formal_notice", big_inv.id, mail["Subject"])
    # The letter's table: principal, fees, costs, interest and what is open, each in its own column.
    cells = ["€ 1.000,00", "€ 0,00", "€ 150,00", "€ 9,45", "€ 1.159,45"]
    assert '</td><td class="n">'.join(cells) in letter.html
    assert "03-03-2026–05-04-2026 10.15% = € 9,45" in letter.html  # how the interest was worked out


# --- hand-over to the collection agency -------------------------------------------------------------


def test_the_hand_over_stores_its_letter_opens_a_task_and_puts_the_invoice_in_collection(
    db: Session, engine: Engine, settings: Settings, api: Api, tenant: Tenant
) -> None:
    o = db.get_one(Organisation, tenant.org_id)
    c = h.customer(db, o.id, "Garage De Vries", "admin@devries.example", kind="business")
    inv = h.invoice(db, o, c, "F-HO", D0, 100_000)
    box = h.mailbox(settings)
    h.run(engine, settings, db, NOTICE_DAY)
    seen = box.ids()

    h.run(engine, settings, db, HANDOVER_DAY)

    [mail] = box.new_since(seen)
    assert mail["Subject"] == "Uw dossier is overgedragen aan een incassobureau (Acme Groothandel)"
    assert "F-HO" in h.text_of(mail)
    read = api.get(f"/invoices/{inv.id}").json()
    assert read["status"] == "in_collection" and read["dunning"]["next_action_on"] is None
    # Costs were charged once, at the notice; the interest runs on to the hand-over day.
    assert (read["costs"], read["interest"], read["open_amount"]) == ("150.00", "13.63", "1163.63")
    assert "Wettelijke rente: € 13,63" in h.text_of(mail)

    docs = list(db.scalars(select(Document).where(Document.customer_id == c.id).order_by(Document.created_at)))
    assert [(d.kind, d.invoice_id) for d in docs] == [("formal_notice", inv.id), ("collection_handover", inv.id)]
    dossier = docs[1]
    assert dossier.title == mail["Subject"]
    assert "F-HO" in dossier.html and "Garage De Vries" in dossier.html and "€ 1.163,63" in dossier.html

    [task] = db.scalars(select(Task).where(Task.kind == "collection_handover"))
    assert (task.status, task.customer_id, task.invoice_id, task.due_on) == ("open", c.id, inv.id, HANDOVER_DAY)
    assert "Garage De Vries" in task.title and "F-HO" in task.title
    assert h.count(db, Event, Event.kind == "invoice.handed_over") == 1

    # With the agency now: later runs leave it alone.
    seen = box.ids()
    for day in range(51, 61):
        h.run(engine, settings, db, D0 + day * DAY)
    assert box.ids() == seen
    assert h.count(db, Task, Task.kind == "collection_handover") == 1
    assert h.count(db, Document, Document.customer_id == c.id) == 2


def test_a_policy_created_for_named_customers_takes_effect_for_their_open_invoices_at_once(
    db: Session, engine: Engine, settings: Settings, api: Api, tenant: Tenant
) -> None:
    o = db.get_one(Organisation, tenant.org_id)
    c = h.customer(db, o.id, "Snel BV", "snel@example.com")
    inv = h.invoice(db, o, c, "F-NAMED", D0)  # on the default policy: first looked at on day 7
    db.commit()

    fast = _policy(api, name="Snel", steps=[{"kind": "reminder", "days_after_due": 3}], customer_ids=[c.id])

    assert api.get(f"/invoices/{inv.id}").json()["dunning"]["next_action_on"] == (D0 + 3 * DAY).isoformat()
    arrived = _daily(engine, settings, db, D0 + DAY, D0 + 4 * DAY)
    assert arrived == {"snel@example.com": [(3, "Herinnering: 1 openstaande factuur van Acme Groothandel")]}
    r = api.put(f"/policies/{fast['id']}", json={"name": "Snel", "customer_ids": [],
                                                 "steps": [{"kind": "reminder", "days_after_due": 3}]})
    assert r.status_code == 200, r.text
    # Taken off the policy: back on the default, whose next step (statement reminder) is day 14.
    assert api.get(f"/invoices/{inv.id}").json()["dunning"]["next_action_on"] == (D0 + 14 * DAY).isoformat()
