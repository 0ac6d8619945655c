"""The dunning run as a creditor and its debtors notice it: which e-mails arrive,
when, about what, and what the back office sees afterwards. Every test drives
``settle.scheduler.run`` (or the real ``settle run``) against a real database and
reads the delivered mail back from the ``file:`` outbox."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from adapters.rendering import long_date, money
from adapters.settings import Settings
from domain.law import collection_costs, earliest_costs_date
from domain.models import Document, DunningAction, Event, Invoice, Organisation, OutboxMessage, SchedulerRun, Task
from tests.conftest import Api, Tenant
from tests.integration import dunning_helpers as h

DAY = dt.timedelta(days=1)
D0 = dt.date(2026, 3, 2)  # a due date in the past, so statutory interest rates are known


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + DAY * i for i in range((end - start).days + 1)]


# --- one message per customer per run -----------------------------------------------


def test_three_invoices_at_different_steps_make_one_mail_at_the_strongest_step(
    db: Session, engine: Engine, settings: Settings
) -> None:
    o = h.org(db)
    jansen = h.customer(db, o.id, "Bakkerij Jansen", "ap@jansen.example")
    pieters = h.customer(db, o.id, "Pieters BV", "fin@pieters.example")
    day = dt.date(2026, 6, 1)
    h.invoice(db, o, jansen, "F-101", day - 7 * DAY)  # reminder
    h.invoice(db, o, jansen, "F-102", day - 14 * DAY)  # statement reminder
    h.invoice(db, o, jansen, "F-103", day - 28 * DAY)  # final reminder
    h.invoice(db, o, pieters, "F-201", day - 7 * DAY)

    summary = h.run(engine, settings, db, day)

    mails = {m["To"]: m for m in h.mailbox(settings).messages()}
    assert sorted(mails) == ["ap@jansen.example", "fin@pieters.example"]
    assert summary.messages == 2 and summary.delivered == 2
    jansen_mail, pieters_mail = mails["ap@jansen.example"], mails["fin@pieters.example"]
    assert jansen_mail["Subject"] == "Laatste herinnering van Acme Groothandel"
    body = h.text_of(jansen_mail)
    for number in ("F-101", "F-102", "F-103"):
        assert number in body
    assert "F-201" not in h.words_of(jansen_mail)
    assert pieters_mail["Subject"].startswith("Herinnering: 1 openstaande factuur")
    assert "F-201" in h.text_of(pieters_mail) and "F-101" not in h.words_of(pieters_mail)
    sent = h.outbox(db, OutboxMessage.customer_id == jansen.id)
    assert [(m.kind, m.status) for m in sent] == [("final_reminder", "sent")]


def test_the_account_statement_in_a_mail_lists_every_invoice_the_customer_still_owes_and_nothing_else(
    db: Session, engine: Engine, settings: Settings, api: Api, tenant: Tenant
) -> None:
    o = db.get_one(Organisation, tenant.org_id)
    jansen = h.customer(db, o.id, "Bakkerij Jansen", "ap@jansen.example")
    pieters = h.customer(db, o.id, "Pieters BV", "fin@pieters.example")
    day = D0 + 14 * DAY
    h.invoice(db, o, jansen, "F-101", D0)  # reaches the statement reminder on ``day``
    h.invoice(db, o, jansen, "F-102", day + 10 * DAY, 2_500)  # open, not due yet
    paid = h.invoice(db, o, jansen, "F-103", day - 3 * DAY, 4_000)
    h.invoice(db, o, pieters, "F-201", D0)
    db.commit()
    r = api.post(
        "/payments",
        json={
            "customer_id": jansen.id,
            "amount": "40.00",
            "received_on": (day - 1 * DAY).isoformat(),
            "allocations": [{"invoice_id": paid.id, "amount": "40.00"}],
        },
    )
    assert r.status_code == 201, r.text

    h.run(engine, settings, db, day)

    mails = {m["To"]: m for m in h.mailbox(settings).messages()}
    text = h.text_of(mails["ap@jansen.example"])
    assert mails["ap@jansen.example"]["Subject"].startswith("Tweede herinnering en rekeningoverzicht")
    statement = text.split("Rekeningoverzicht:", 1)[1]
    assert "F-101" in statement and "F-102" in statement and "€ 25,00" in statement
    words = h.words_of(mails["ap@jansen.example"])
    assert "F-103" not in words and "F-201" not in words
    assert "Rekeningoverzicht" not in h.text_of(mails["fin@pieters.example"])  # nothing else open: no statement


# --- exactly once -------------------------------------------------------------------


def test_running_twice_for_the_same_day_sends_nothing_the_second_time(
    db: Session, engine: Engine, settings: Settings
) -> None:
    o = h.org(db)
    for i in range(3):
        c = h.customer(db, o.id, f"Klant {i}", f"klant{i}@example.com")
        h.invoice(db, o, c, f"F-{i}", D0)
    day = D0 + 7 * DAY
    first = h.run(engine, settings, db, day)
    box = h.mailbox(settings)
    seen = box.ids()
    acts = h.count(db, DunningAction)

    second = h.run(engine, settings, db, day)

    assert first.delivered == 3 and len(seen) == 3
    assert second.examined == 0 and second.messages == 0 and second.delivered == 0
    assert box.ids() == seen
    assert h.count(db, DunningAction) == acts == 3
    assert h.count(db, SchedulerRun) == 2


def test_sixty_days_of_daily_runs_take_each_step_once(db: Session, engine: Engine, settings: Settings) -> None:
    o = h.org(db)
    shop = h.customer(db, o.id, "Winkel BV", "shop@example.com", kind="business")
    person = h.customer(db, o.id, "Piet Consument", "piet@example.com", kind="consumer", locale="en")
    b = h.invoice(db, o, shop, "F-B", D0)
    c = h.invoice(db, o, person, "F-C", D0)
    box = h.mailbox(settings)
    arrived: dict[str, list[tuple[int, str]]] = {"shop@example.com": [], "piet@example.com": []}

    for day in _days(D0, D0 + 60 * DAY):
        seen = box.ids()
        h.run(engine, settings, db, day)
        for m in box.new_since(seen):
            arrived[m["To"]].append(((day - D0).days, str(m["Subject"])))

    # The business walks the default policy step by step; the call is a task, not an e-mail.
    assert [d for d, _ in arrived["shop@example.com"]] == [7, 14, 28, 35, 50]
    assert arrived["shop@example.com"][3][1].startswith("Ingebrekestelling: F-B")
    assert h.actions(db, b.id) == [
        ("reminder", "planned"),
        ("statement_reminder", "planned"),
        ("call_task", "planned"),
        ("final_reminder", "planned"),
        ("formal_notice", "planned"),
        ("collection_handover", "planned"),
    ]
    # The consumer's hand-off waits for the fourteen-day letter's term to run out.
    handover = (earliest_costs_date(D0 + 35 * DAY) - D0).days
    assert handover > 50
    assert [d for d, _ in arrived["piet@example.com"]] == [7, 14, 28, 35, handover]
    assert arrived["piet@example.com"][0][1].startswith("Reminder: 1 open invoice")
    assert [k for k, _ in h.actions(db, c.id)] == [k for k, _ in h.actions(db, b.id)]
    tasks = sorted(((t.due_on - D0).days if t.due_on else -1, t.kind, t.customer_id) for t in db.scalars(select(Task)))
    assert tasks == sorted(
        [
            (21, "call", shop.id),
            (21, "call", person.id),
            (50, "collection_handover", shop.id),
            (handover, "collection_handover", person.id),
        ]
    )
    assert h.count(db, DunningAction) == 12
    assert h.count(db, OutboxMessage, OutboxMessage.channel == "email", OutboxMessage.status == "sent") == 10
    assert len(box.files()) == 10
    db.refresh(b)
    db.refresh(c)
    assert (b.status, b.next_action_on) == ("in_collection", None)
    assert (c.status, c.next_action_on) == ("in_collection", None)


def test_a_paid_invoice_is_never_reminded_again(
    db: Session, engine: Engine, settings: Settings, api: Api, tenant: Tenant
) -> None:
    o = db.get_one(Organisation, tenant.org_id)
    c = h.customer(db, o.id)
    paid = h.invoice(db, o, c, "F-PAID", D0, 10_000)
    other = h.invoice(db, o, c, "F-OPEN", D0 + 3 * DAY, 5_000)
    box = h.mailbox(settings)
    h.run(engine, settings, db, D0 + 7 * DAY)
    assert "F-PAID" in h.text_of(box.messages()[0])

    r = api.post(
        "/payments",
        json={
            "customer_id": c.id,
            "amount": "100.00",
            "received_on": "2026-03-10",
            "allocations": [{"invoice_id": paid.id, "amount": "100.00"}],
        },
    )
    assert r.status_code == 201, r.text

    seen = box.ids()
    for day in _days(D0 + 8 * DAY, D0 + 60 * DAY):
        h.run(engine, settings, db, day)
    later = box.new_since(seen)
    assert len(later) == 5  # F-OPEN (due three days later) walks its whole track meanwhile
    assert all("F-OPEN" in h.text_of(m) and "F-PAID" not in h.words_of(m) for m in later)
    assert h.actions(db, paid.id) == [("reminder", "planned")]
    assert len(h.actions(db, other.id)) == 6
    assert api.get(f"/invoices/{paid.id}").json()["status"] == "paid"


def test_cancelled_and_disputed_invoices_are_never_reminded(
    db: Session, engine: Engine, settings: Settings, api: Api, tenant: Tenant
) -> None:
    o = db.get_one(Organisation, tenant.org_id)
    quiet = h.customer(db, o.id, "Stil BV", "stil@example.com")
    control = h.customer(db, o.id, "Controle BV", "controle@example.com")
    cancelled = h.invoice(db, o, quiet, "F-CAN", D0)
    disputed = h.invoice(db, o, quiet, "F-DIS", D0)
    h.invoice(db, o, control, "F-CTL", D0)
    db.commit()
    assert api.post(f"/invoices/{cancelled.id}/cancel").status_code == 200
    db.execute(update(Invoice).where(Invoice.id == disputed.id).values(status="disputed"))
    db.commit()

    h.run(engine, settings, db, D0 + 40 * DAY)  # a late first run would catch everything up
    for day in _days(D0 + 41 * DAY, D0 + 60 * DAY):
        h.run(engine, settings, db, day)

    recipients = [m["To"] for m in h.mailbox(settings).messages()]
    assert recipients == ["controle@example.com"] * 2  # the control's notice and hand-over
    assert h.actions(db, cancelled.id) == [] and h.actions(db, disputed.id) == []
    assert h.count(db, Task, Task.customer_id == quiet.id) == 0


# --- catch-up -------------------------------------------------------------------------


def test_first_run_forty_days_late_sends_one_formal_notice_and_records_the_rest_as_skipped(
    db: Session, engine: Engine, settings: Settings
) -> None:
    o = h.org(db)
    c = h.customer(db, o.id)
    inv = h.invoice(db, o, c, "F-40", D0)

    summary = h.run(engine, settings, db, D0 + 40 * DAY)

    mails = h.mailbox(settings).messages()
    assert len(mails) == 1
    assert mails[0]["Subject"] == "Ingebrekestelling: F-40 (Acme Groothandel)"
    assert h.actions(db, inv.id) == [
        ("reminder", "skipped"),
        ("statement_reminder", "skipped"),
        ("call_task", "skipped"),
        ("final_reminder", "skipped"),
        ("formal_notice", "planned"),
    ]
    assert summary.skipped == 4
    assert h.count(db, Task) == 0  # a skipped call is not a task
    db.refresh(inv)
    assert inv.next_action_on == D0 + 50 * DAY


# --- pause ----------------------------------------------------------------------------


def test_a_paused_invoice_is_quiet_until_the_pause_ends_and_then_takes_the_next_step(
    db: Session, engine: Engine, settings: Settings, api: Api, tenant: Tenant
) -> None:
    # POST /pause only accepts a date after today, so this track runs around today.
    due = dt.date.today() - 7 * DAY
    until = due + 30 * DAY  # past the calendar's statement reminder (14), call (21) and final reminder (28)
    o = db.get_one(Organisation, tenant.org_id)
    c = h.customer(db, o.id)
    inv = h.invoice(db, o, c, "F-P", due)
    box = h.mailbox(settings)
    h.run(engine, settings, db, due + 7 * DAY)
    assert len(box.files()) == 1

    r = api.post(f"/invoices/{inv.id}/pause", json={"until": until.isoformat(), "reason": "betalingsregeling"})
    assert r.status_code == 200, r.text

    for day in _days(due + 8 * DAY, until - DAY):
        h.run(engine, settings, db, day)
    assert len(box.files()) == 1 and h.count(db, Task) == 0

    seen = box.ids()
    h.run(engine, settings, db, until)
    resumed = box.new_since(seen)
    assert [m["Subject"] for m in resumed] == ["Tweede herinnering en rekeningoverzicht van Acme Groothandel"]
    assert h.actions(db, inv.id) == [("reminder", "planned"), ("statement_reminder", "planned")]
    body = api.get(f"/invoices/{inv.id}").json()
    assert body["dunning"]["paused_until"] is None
    assert body["dunning"]["next_action_on"] == (until + 7 * DAY).isoformat()  # the steps keep their spacing


# --- partial payment ---------------------------------------------------------------------


def test_after_a_partial_payment_the_next_reminder_asks_for_what_is_left(
    db: Session, engine: Engine, settings: Settings, api: Api, tenant: Tenant
) -> None:
    o = db.get_one(Organisation, tenant.org_id)
    c = h.customer(db, o.id)
    h.invoice(db, o, c, "F-60", D0, 10_000)
    box = h.mailbox(settings)
    h.run(engine, settings, db, D0 + 7 * DAY)
    assert "€ 100,00" in h.text_of(box.messages()[0])

    r = api.post("/payments", json={"customer_id": c.id, "amount": "40.00", "received_on": "2026-03-12"})
    assert r.status_code == 201, r.text
    seen = box.ids()
    h.run(engine, settings, db, D0 + 14 * DAY)

    [mail] = box.new_since(seen)
    text = h.text_of(mail)
    assert "F-60" in text and "€ 60,00" in text
    assert "€ 100,00" not in text
    assert "€ 60,00" in h.html_of(mail)


# --- formal notice, costs and the fourteen-day letter -----------------------------------------


def test_business_notice_charges_collection_costs_at_once(
    db: Session, engine: Engine, settings: Settings, api: Api, tenant: Tenant
) -> None:
    o = db.get_one(Organisation, tenant.org_id)
    c = h.customer(db, o.id, kind="business")
    inv = h.invoice(db, o, c, "F-N", D0, 10_000)
    wik = collection_costs(10_000)
    assert wik == 4_000

    h.run(engine, settings, db, D0 + 35 * DAY)

    read = api.get(f"/invoices/{inv.id}").json()
    assert read["costs"] == "40.00" and read["amount"] == "100.00"
    statement = api.get(f"/customers/{c.id}/statement", params={"as_of": (D0 + 35 * DAY).isoformat()}).json()
    [total] = statement["totals"]
    assert total["costs"] == "40.00" and total["principal"] == "100.00"
    [mail] = h.mailbox(settings).messages()
    assert mail["Subject"].startswith("Ingebrekestelling")
    assert money(wik, "EUR", "nl") in h.text_of(mail)
    docs = list(db.scalars(select(Document).where(Document.customer_id == c.id)))
    assert [(d.kind, d.invoice_id) for d in docs] == [("formal_notice", inv.id)]
    assert "F-N" in docs[0].html


def test_consumer_notice_announces_costs_and_charges_them_only_after_the_fourteen_day_term(
    db: Session, engine: Engine, settings: Settings, api: Api, tenant: Tenant
) -> None:
    o = db.get_one(Organisation, tenant.org_id)
    c = h.customer(db, o.id, "Piet Consument", "piet@example.com", kind="consumer")
    inv = h.invoice(db, o, c, "F-K", D0, 10_000)
    notice_day = D0 + 35 * DAY
    term_ends = earliest_costs_date(notice_day)
    box = h.mailbox(settings)

    h.run(engine, settings, db, notice_day)

    assert api.get(f"/invoices/{inv.id}").json()["costs"] == "0.00"
    [notice] = box.messages()
    text = h.text_of(notice)
    assert money(collection_costs(10_000), "EUR", "nl") in text  # "€ 40,00"
    assert long_date(term_ends, "nl") in text
    assert [d.kind for d in db.scalars(select(Document).where(Document.customer_id == c.id))] == ["formal_notice"]

    seen = box.ids()
    for day in _days(notice_day + DAY, term_ends - DAY):
        h.run(engine, settings, db, day)
    assert api.get(f"/invoices/{inv.id}").json()["costs"] == "0.00"
    assert box.ids() == seen  # and no hand-over before the term ends either

    h.run(engine, settings, db, term_ends)
    read = api.get(f"/invoices/{inv.id}").json()
    assert read["costs"] == "40.00"
    assert read["status"] == "in_collection"
    assert h.count(db, Event, Event.kind == "invoice.costs_charged") == 1


# --- call task ------------------------------------------------------------------------------


def test_the_call_step_creates_an_open_task_naming_the_invoices_and_sends_no_mail(
    db: Session, engine: Engine, settings: Settings
) -> None:
    o = h.org(db)
    c = h.customer(db, o.id, "Garage De Vries", "admin@devries.example")
    h.invoice(db, o, c, "F-C1", D0)
    h.invoice(db, o, c, "F-C2", D0)
    box = h.mailbox(settings)
    h.run(engine, settings, db, D0 + 7 * DAY)
    h.run(engine, settings, db, D0 + 14 * DAY)
    seen = box.ids()

    summary = h.run(engine, settings, db, D0 + 21 * DAY)

    assert box.ids() == seen
    assert summary.tasks == 1 and summary.delivered == 0
    [task] = db.scalars(select(Task))
    assert task.status == "open" and task.kind == "call" and task.customer_id == c.id
    assert "F-C1" in task.title and "F-C2" in task.title
    assert task.due_on == D0 + 21 * DAY


# --- dry run ----------------------------------------------------------------------------------


def test_a_call_on_the_same_day_as_another_invoices_first_reminder_does_not_swallow_the_reminder(
    db: Session, engine: Engine, settings: Settings
) -> None:
    o = h.org(db)
    c = h.customer(db, o.id, "Garage De Vries", "admin@devries.example")
    old = h.invoice(db, o, c, "F-OLD", D0)
    new = h.invoice(db, o, c, "F-NEW", D0 + 14 * DAY)  # its reminder falls on F-OLD's call day
    box = h.mailbox(settings)
    h.run(engine, settings, db, D0 + 7 * DAY)
    h.run(engine, settings, db, D0 + 14 * DAY)
    seen = box.ids()

    h.run(engine, settings, db, D0 + 21 * DAY)

    [mail] = box.new_since(seen)  # the debtor hears about F-NEW ...
    assert mail["Subject"].startswith("Herinnering") and "F-NEW" in h.text_of(mail)
    [task] = db.scalars(select(Task))  # ... and someone calls about F-OLD
    assert task.kind == "call" and task.status == "open" and "F-OLD" in task.title
    assert h.actions(db, new.id) == [("reminder", "planned")]
    assert h.actions(db, old.id)[-1] == ("call_task", "planned")


def _state(db: Session) -> dict[str, Any]:
    db.rollback()
    return {
        "actions": h.count(db, DunningAction),
        "messages": h.count(db, OutboxMessage),
        "events": h.count(db, Event),
        "tasks": h.count(db, Task),
        "documents": h.count(db, Document),
        "runs": h.count(db, SchedulerRun),
        "invoices": sorted(
            db.execute(select(Invoice.number, Invoice.next_action_on, Invoice.dunning_step, Invoice.costs_cents))
        ),
    }


def test_dry_run_prints_the_plan_and_changes_nothing(
    db: Session, engine: Engine, settings: Settings, database_url: str
) -> None:
    o = h.org(db)
    jansen = h.customer(db, o.id, "Bakkerij Jansen", "ap@jansen.example")
    late = h.customer(db, o.id, "Laat BV", "laat@example.com")
    h.invoice(db, o, jansen, "F-D1", D0)
    h.invoice(db, o, late, "F-D2", D0 - 30 * DAY)
    db.commit()
    before = _state(db)
    env = h.cli_env(database_url, settings.mail_url)

    out = h.settle_run(env, "--as-of", (D0 + 7 * DAY).isoformat(), "--dry-run")

    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert any(ln.startswith("reminder") and "Bakkerij Jansen <ap@jansen.example>: F-D1" in ln for ln in lines)
    assert any(ln.startswith("formal_notice") and "F-D2" in ln and "skipping" in ln for ln in lines)
    assert "dry run, nothing changed" in lines[-1]
    assert _state(db) == before
    assert h.mailbox(settings).files() == []

    # The same command without --dry-run does what the plan said.
    real = h.settle_run(env, "--as-of", (D0 + 7 * DAY).isoformat())
    assert real.returncode == 0, real.stderr
    after = _state(db)
    assert after["actions"] == before["actions"] + 6 and after["messages"] == before["messages"] + 2
    assert len(h.mailbox(settings).files()) == 2


def test_a_reminder_replies_to_the_organisations_contact_address(
    db: Session, engine: Engine, settings: Settings
) -> None:
    """A debtor who answers a reminder reaches a person, not the no-reply sender."""
    with_contact = h.org(db, "Acme Groothandel")
    with_contact.email = "debiteuren@acme.example"
    without = h.org(db, "Zonder Adres BV")
    day = dt.date(2026, 6, 1)
    h.invoice(db, with_contact, h.customer(db, with_contact.id, "Bakkerij Jansen", "ap@jansen.example"), "F-1",
              day - 7 * DAY)  # fmt: skip
    h.invoice(db, without, h.customer(db, without.id, "Pieters BV", "fin@pieters.example"), "F-2", day - 7 * DAY)
    db.commit()

    h.run(engine, settings, db, day)

    mails = {m["To"]: m for m in h.mailbox(settings).messages()}
    assert mails["ap@jansen.example"]["Reply-To"] == "debiteuren@acme.example"
    assert mails["fin@pieters.example"]["Reply-To"] is None
