"""A payment plan through ``settle run`` with the clock moved day by day: reminders before each
instalment, payments by bank file and by provider allocated in order, a missed instalment's one
reminder, the break, dunning resuming where it stood, and an early full payment completing it."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from adapters.portal_mail import PortalMailer
from adapters.settings import Settings
from domain import arrangements, checkout, debtor_requests, payments, reconcile
from domain.arrangement_models import Arrangement, ArrangementInstalment
from domain.models import Event, Invoice, Organisation, OutboxMessage
from tests.integration import dunning_helpers as d
from tests.integration.test_bank_reconcile import camt

D0 = dt.date(2026, 3, 2)
DUNNING = ("reminder", "statement_reminder", "final_reminder", "formal_notice", "collection_handover")


def _setup(db: Session) -> tuple[Organisation, Any, Invoice]:
    org = d.org(db)
    org.iban = "NL91ABNA0417164300"
    debtor = d.customer(db, org.id)
    inv = d.invoice(db, org, debtor, "F-1", D0 - dt.timedelta(days=10), 10_000)
    db.commit()
    return org, debtor, inv


def _kinds(db: Session, seen: set[str]) -> list[str]:
    """The outbox rows queued since ``seen`` (updated), by kind."""
    rows = db.execute(select(OutboxMessage.id, OutboxMessage.kind).order_by(OutboxMessage.created_at)).all()
    new = [kind for mid, kind in rows if mid not in seen]
    seen.update(mid for mid, _ in rows)
    return new


def _events(db: Session, kind: str) -> list[Event]:
    return list(db.scalars(select(Event).where(Event.kind == kind).order_by(Event.id)))


def test_a_plan_day_by_day_reminds_allocates_breaks_and_dunning_resumes_where_it_stood(
    engine: Engine, settings: Settings, db: Session
) -> None:
    org, debtor, inv = _setup(db)
    seen: set[str] = set()
    d.run(engine, settings, db, D0 - dt.timedelta(days=3))  # the first reminder, step 1, before the plan
    assert _kinds(db, seen) == ["reminder"]
    first = D0 + dt.timedelta(days=7)
    plan = arrangements.propose(db, debtor, invoice_ids=[], instalments=3, first_due_date=first,
                                interval="monthly", as_of=D0, origin="api", actor="test")  # fmt: skip
    db.commit()
    i1, i2, i3 = arrangements.due_dates(first, 3, "monthly")
    mailer = PortalMailer(settings)
    by_day: dict[dt.date, list[str]] = {}
    day = D0
    while day <= i3 + dt.timedelta(days=12):
        if day == i1 - dt.timedelta(days=2):  # instalment 1 by bank transfer, with the invoice's reference
            data = camt({"amount": "33.33", "ref": inv.payment_reference, "date": day.isoformat()}, stmt_id="S1")
            reconcile.import_statement(db, org, data, "s1.xml")
            db.commit()
            assert [e.data["instalment"] for e in _events(db, "arrangement.instalment_paid")] == [1]  # at once
        if day == i2 - dt.timedelta(days=1):  # instalment 2 from the portal's pay button, through a provider
            ids, cents = arrangements.instalment_payment(db, debtor, _instalment(db, plan, 2).id)
            assert cents == 3333
            started = checkout.start(db, debtor, ids, "sandbox", amount_cents=cents)
            db.commit()
            assert checkout.apply_status(db, started, "paid", day, composer=mailer)
            db.commit()
        d.run(engine, settings, db, day)
        if day == i3 + dt.timedelta(days=3):
            d.run(engine, settings, db, day)  # run twice: nothing is sent twice
        by_day[day] = [k for k in _kinds(db, seen) if k != "thank_you"]
        day += dt.timedelta(days=1)
    sent = {day: kinds for day, kinds in by_day.items() if kinds}
    broken_on = i3 + dt.timedelta(days=3 + 7)
    assert sent == {
        i1 - dt.timedelta(days=3): ["instalment_reminder"],
        i2 - dt.timedelta(days=3): ["instalment_reminder"],
        i3 - dt.timedelta(days=3): ["instalment_reminder"],
        i3 + dt.timedelta(days=3): ["instalment_missed"],
        broken_on: ["arrangement_broken"],
        # the track resumes where it stood: step 2, the day after the plan broke
        broken_on + dt.timedelta(days=1): ["statement_reminder"],
    }, sent
    db.expire_all()
    plan = db.get_one(Arrangement, plan.id)
    assert (plan.status, plan.paid_cents, plan.ended_on) == ("broken", 6666, broken_on)
    rows = list(db.scalars(select(ArrangementInstalment).where(ArrangementInstalment.arrangement_id == plan.id)
                           .order_by(ArrangementInstalment.position)))  # fmt: skip
    assert [(r.status, r.paid_cents) for r in rows] == [("paid", 3333), ("paid", 3333), ("missed", 0)]
    paid_events = _events(db, "arrangement.instalment_paid")
    assert [e.data["instalment"] for e in paid_events] == [1, 2]
    assert len(_events(db, "arrangement.instalment_missed")) == 1 and len(_events(db, "arrangement.broken")) == 1
    after = db.get_one(Invoice, inv.id)
    # no fee, cost or interest for the months the plan held; 33.34 still open, at step 2
    assert (after.open_cents, after.costs_cents, after.fees_cents, after.dunning_step) == (3334, 0, 0, 2)
    assert after.pause_reason is None and after.status == "open"
    broken_mail = [m for m in d.mailbox(settings).messages() if "vervallen" in str(m["Subject"])]
    assert len(broken_mail) == 1 and "€ 33,34" in d.words_of(broken_mail[0])
    reminders = [m for m in d.mailbox(settings).messages() if "betalingsregeling:" in str(m["Subject"])]
    assert [str(m["Subject"]).split(":")[0] for m in reminders] == [
        "Termijn 1 van uw betalingsregeling", "Termijn 2 van uw betalingsregeling",
        "Termijn 3 van uw betalingsregeling"]  # fmt: skip
    assert "€ 33,34" in str(reminders[2]["Subject"]) and "#arrangement" in d.html_of(reminders[2])


def _instalment(db: Session, plan: Arrangement, position: int) -> ArrangementInstalment:
    return db.scalars(select(ArrangementInstalment).where(
        ArrangementInstalment.arrangement_id == plan.id, ArrangementInstalment.position == position)).one()  # fmt: skip


def test_paying_the_whole_rest_early_completes_the_plan(engine: Engine, settings: Settings, db: Session) -> None:
    org, debtor, inv = _setup(db)
    plan = arrangements.propose(db, debtor, invoice_ids=[], instalments=4, first_due_date=D0 + dt.timedelta(days=7),
                                interval="weekly", as_of=D0, origin="api")  # fmt: skip
    db.commit()
    d.run(engine, settings, db, D0 + dt.timedelta(days=4))
    payments.register_manual(db, org.id, customer_id=debtor.id, amount_cents=10_000, currency="EUR",
                             received_on=D0 + dt.timedelta(days=5))  # fmt: skip
    db.commit()
    seen: set[str] = set()
    _kinds(db, seen)
    for n in range(5, 40):
        d.run(engine, settings, db, D0 + dt.timedelta(days=n))
    assert _kinds(db, seen) == []  # no reminders of later instalments, no dunning
    done = db.get_one(Arrangement, plan.id)
    assert (done.status, done.paid_cents, done.ended_on) == ("completed", 10_000, D0 + dt.timedelta(days=5))
    assert [e.data["instalment"] for e in _events(db, "arrangement.instalment_paid")] == [1, 2, 3, 4]
    assert len(_events(db, "arrangement.completed")) == 1
    assert db.get_one(Invoice, inv.id).status == "paid"


def test_two_runs_at_once_send_each_message_once(engine: Engine, settings: Settings, db: Session) -> None:
    org, debtor, _ = _setup(db)
    others = [d.customer(db, org.id, f"Klant {n}", f"k{n}@x.example") for n in range(6)]
    for n, c in enumerate(others):
        d.invoice(db, org, c, f"G-{n}", D0 - dt.timedelta(days=10), 5_000 + n)
    db.commit()
    for c in [debtor, *others]:
        arrangements.propose(db, c, invoice_ids=[], instalments=2, first_due_date=D0 + dt.timedelta(days=3),
                             interval="weekly", as_of=D0, origin="api")  # fmt: skip
    db.commit()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def one() -> None:
        try:
            barrier.wait()
            d.scheduler.run(engine, settings, as_of=D0)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    db.expire_all()
    kinds = [k for (k,) in db.execute(select(OutboxMessage.kind).where(OutboxMessage.kind == "instalment_reminder"))]
    assert len(kinds) == 7


def test_a_consumers_term_before_costs_is_not_eaten_by_the_plan(engine: Engine, settings: Settings,
                                                                 db: Session) -> None:  # fmt: skip
    org = d.org(db)
    debtor = d.customer(db, org.id, "Jan Bakker", "jan@bakker.example", kind="consumer")
    inv = d.invoice(db, org, debtor, "F-9", D0 - dt.timedelta(days=35), 50_000)
    db.commit()
    d.run(engine, settings, db, D0)  # the fourteen-day letter (formal notice): costs wait for its term
    costs_from = db.get_one(Invoice, inv.id).costs_due_on
    assert costs_from is not None and costs_from > D0 + dt.timedelta(days=14)
    accepted = D0 + dt.timedelta(days=3)
    arrangements.propose(db, debtor, invoice_ids=[], instalments=2, first_due_date=D0 + dt.timedelta(days=5),
                         interval="weekly", as_of=accepted, origin="api")  # fmt: skip
    db.commit()
    broken_on = D0 + dt.timedelta(days=5 + 3 + 7)  # nothing paid: missed after 3 days, broken 7 after that
    resumed_costs = broken_on + dt.timedelta(days=1) + (costs_from - accepted)
    seen: set[str] = set()
    _kinds(db, seen)
    charged: dict[dt.date, int] = {}
    sent: dict[dt.date, list[str]] = {}
    day = accepted
    while day <= resumed_costs + dt.timedelta(days=1):
        d.run(engine, settings, db, day)
        charged[day] = db.get_one(Invoice, inv.id).costs_cents
        sent[day] = _kinds(db, seen)
        day += dt.timedelta(days=1)
    assert sent[broken_on] == ["arrangement_broken"]
    # no costs while the plan held, nor in what was left of the letter's term after it broke
    assert all(cents == 0 for d_, cents in charged.items() if d_ < resumed_costs)
    assert charged[resumed_costs] > 0
    assert [k for d_, ks in sent.items() if d_ > broken_on for k in ks] == ["collection_handover"]
    assert sent[resumed_costs] == ["collection_handover"]


def test_a_promise_asked_on_a_plans_invoice_does_not_let_dunning_through(
    engine: Engine, settings: Settings, db: Session
) -> None:
    _, debtor, inv = _setup(db)
    arrangements.propose(db, debtor, invoice_ids=[], instalments=3, first_due_date=D0 + dt.timedelta(days=20),
                         interval="monthly", as_of=D0, origin="api")  # fmt: skip
    db.commit()
    # the debtor also promises a date in the portal: that pause would lapse long before the plan ends
    debtor_requests.create(db, debtor, kind="promise", invoice_ids=[inv.id], message=None, reason=None,
                           date=D0 + dt.timedelta(days=2), as_of=D0)  # fmt: skip
    db.commit()
    seen: set[str] = set()
    _kinds(db, seen)
    for n in range(0, 12):
        d.run(engine, settings, db, D0 + dt.timedelta(days=n))
    assert _kinds(db, seen) == []  # no dunning while the plan holds (its first reminder is later)
    held = db.get_one(Invoice, inv.id)
    assert held.pause_reason == "payment arrangement" and held.next_action_on > D0 + dt.timedelta(days=60)


# --- a proposal waiting for a decision holds dunning (for the terms' decision_days) ----------------


def _waiting(db: Session, org: Organisation, debtor: Any, as_of: dt.date, **terms: Any) -> Arrangement:
    """A debtor's proposal from the portal outside the terms (six instalments, three allowed): it waits."""
    arrangements.set_terms(db, org.id, None, arrangements.Terms(outside="review", max_instalments=3, **terms))
    plan = arrangements.propose(db, debtor, invoice_ids=[], instalments=6, first_due_date=D0 + dt.timedelta(days=20),
                                interval="weekly", as_of=as_of, origin="portal")  # fmt: skip
    db.commit()
    assert plan.status == "proposed"
    return plan


def _days(engine: Engine, settings: Settings, db: Session, first: dt.date, last: dt.date,
          seen: set[str]) -> dict[dt.date, list[str]]:  # fmt: skip
    """``settle run`` each day from ``first`` to ``last``: the days something was queued, and what."""
    sent: dict[dt.date, list[str]] = {}
    day = first
    while day <= last:
        d.run(engine, settings, db, day)
        if kinds := _kinds(db, seen):
            sent[day] = kinds
        day += dt.timedelta(days=1)
    return sent


def test_a_proposal_waiting_for_a_decision_holds_dunning_and_a_rejection_resumes_it(
    engine: Engine, settings: Settings, db: Session
) -> None:
    org, debtor, inv = _setup(db)  # due D0-10: step 1 on D0-3, step 2 (statement_reminder) on D0+4
    seen: set[str] = set()
    d.run(engine, settings, db, D0 - dt.timedelta(days=3))
    assert _kinds(db, seen) == ["reminder"]
    plan = _waiting(db, org, debtor, D0 - dt.timedelta(days=2))
    assert plan.held_until == D0 + dt.timedelta(days=12)  # 14 days, the default decision_days
    held = db.get_one(Invoice, inv.id)
    assert (held.pause_reason, held.paused_until) == ("payment arrangement proposed", D0 + dt.timedelta(days=12))
    # the next mornings: no reminder, though step 2 falls due on D0+4
    assert _days(engine, settings, db, D0 - dt.timedelta(days=2), D0 + dt.timedelta(days=5), seen) == {}
    arrangements.decide(db, org.id, plan.id, "reject", as_of=D0 + dt.timedelta(days=5), actor="test",
                        composer=PortalMailer(settings))  # fmt: skip
    db.commit()
    sent = _days(engine, settings, db, D0 + dt.timedelta(days=5), D0 + dt.timedelta(days=9), seen)
    # the answer on the day, dunning the next day where it stood (step 2, not a burst, no step skipped)
    assert sent == {D0 + dt.timedelta(days=5): ["arrangement_rejected"],
                    D0 + dt.timedelta(days=6): ["statement_reminder"]}  # fmt: skip
    assert [k for k, _ in d.actions(db, inv.id)] == ["reminder", "statement_reminder"]  # none skipped
    after = db.get_one(Invoice, inv.id)
    assert after.pause_reason is None and (after.fees_cents, after.costs_cents) == (0, 0)


def test_a_proposal_nobody_decides_lets_dunning_resume_after_decision_days_and_accepting_holds_again(
    engine: Engine, settings: Settings, db: Session
) -> None:
    org, debtor, inv = _setup(db)
    seen: set[str] = set()
    d.run(engine, settings, db, D0 - dt.timedelta(days=3))
    _kinds(db, seen)
    plan = _waiting(db, org, debtor, D0 - dt.timedelta(days=2), decision_days=10)
    lapse = D0 + dt.timedelta(days=8)
    sent = _days(engine, settings, db, D0 - dt.timedelta(days=2), lapse, seen)
    d.run(engine, settings, db, lapse)  # run twice on the day: the hold lapses once
    assert sent == {lapse: ["statement_reminder"]} and _kinds(db, seen) == []
    [lapsed] = _events(db, "arrangement.hold_lapsed")
    assert lapsed.data["held_until"] == lapse.isoformat() and lapsed.data["invoices"] == ["F-1"]
    assert db.get_one(Arrangement, plan.id).status == "proposed"  # still waiting: the back office may accept it
    arrangements.decide(db, org.id, plan.id, "accept", as_of=lapse + dt.timedelta(days=1), actor="test")
    db.commit()
    assert db.get_one(Invoice, inv.id).pause_reason == "payment arrangement"
    sent = _days(engine, settings, db, lapse + dt.timedelta(days=1), D0 + dt.timedelta(days=20), seen)
    assert sent == {D0 + dt.timedelta(days=17): ["instalment_reminder"]}  # no dunning while the plan holds


def test_a_longer_pause_is_not_cut_short_and_a_shorter_one_does_not_let_dunning_through(
    engine: Engine, settings: Settings, db: Session
) -> None:
    org, debtor, inv = _setup(db)
    other = d.customer(db, org.id, "Klant Twee", "twee@x.example")
    inv2 = d.invoice(db, org, other, "G-1", D0 - dt.timedelta(days=10), 10_000)
    db.commit()
    # an extension asked before the proposal, running past the proposal's hold: kept as it is
    debtor_requests.create(db, debtor, kind="extension", invoice_ids=[inv.id], message=None, reason=None,
                           date=D0 + dt.timedelta(days=18), as_of=D0 - dt.timedelta(days=2))  # fmt: skip
    db.commit()
    first = _waiting(db, org, debtor, D0 - dt.timedelta(days=2))
    kept = db.get_one(Invoice, inv.id)
    assert (kept.pause_reason, kept.paused_until) == ("extension requested", D0 + dt.timedelta(days=18))
    arrangements.decide(db, org.id, first.id, "reject", as_of=D0, actor="test")
    db.commit()
    kept = db.get_one(Invoice, inv.id)  # the rejection ends only the proposal's own hold
    assert (kept.pause_reason, kept.paused_until) == ("extension requested", D0 + dt.timedelta(days=18))
    # the other debtor proposes, then promises a date that would lapse long before the decision is due
    arrangements.propose(db, other, invoice_ids=[], instalments=6, first_due_date=D0 + dt.timedelta(days=20),
                         interval="weekly", as_of=D0 - dt.timedelta(days=2), origin="portal")  # fmt: skip
    db.commit()
    debtor_requests.create(db, other, kind="promise", invoice_ids=[inv2.id], message=None, reason=None,
                           date=D0 + dt.timedelta(days=2), as_of=D0)  # fmt: skip
    db.commit()
    seen: set[str] = set()
    _kinds(db, seen)
    assert _days(engine, settings, db, D0, D0 + dt.timedelta(days=11), seen) == {}
    back = db.get_one(Invoice, inv2.id)
    assert (back.pause_reason, back.paused_until) == ("payment arrangement proposed", D0 + dt.timedelta(days=12))


def test_the_dry_run_lists_what_the_plans_part_of_a_run_would_do(
    engine: Engine, settings: Settings, db: Session, database_url: str
) -> None:
    org, debtor, inv = _setup(db)
    plan = arrangements.propose(db, debtor, invoice_ids=[], instalments=3, first_due_date=D0 + dt.timedelta(days=7),
                                interval="monthly", as_of=D0, origin="api")  # fmt: skip
    other = d.customer(db, org.id, "Klant Twee", "twee@x.example")
    d.invoice(db, org, other, "G-1", D0 - dt.timedelta(days=10), 10_000)
    db.commit()
    waiting = _waiting(db, org, other, D0 - dt.timedelta(days=2), decision_days=3)
    day = D0 + dt.timedelta(days=4)  # instalment 1's reminder day; the other's proposal hold ran out on D0+1
    notices = d.scheduler.preview_plans(engine, as_of=day)
    assert [(n.kind, n.arrangement_id, n.instalment, n.amount_cents) for n in notices] == [
        ("instalment_reminder", plan.id, 1, 3333), ("hold_lapsed", waiting.id, None, 10_000)]  # fmt: skip
    out = d.settle_run(d.cli_env(database_url, settings.mail_url), "--as-of", day.isoformat(), "--dry-run")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert any(ln.startswith("instalment_reminder  email  Bakkerij Jansen <ap@jansen.example>:")
               and "instalment 1, EUR 33.33" in ln for ln in lines), lines  # fmt: skip
    assert any(ln.startswith("hold_lapsed") and "Klant Twee" in ln for ln in lines), lines
    assert lines[-1].startswith("dry run, nothing changed") and "1 instalment_reminder, 1 hold_lapsed" in lines[-1]
    db.expire_all()
    assert db.scalars(select(ArrangementInstalment.reminded_on)
                      .where(ArrangementInstalment.arrangement_id == plan.id)).all() == [None, None, None]  # fmt: skip
    assert _events(db, "arrangement.hold_lapsed") == [] and db.scalar(select(OutboxMessage.id)) is None
    d.run(engine, settings, db, day)  # the real run does what the dry run said, and then there is nothing left
    assert len(_events(db, "arrangement.hold_lapsed")) == 1
    assert d.scheduler.preview_plans(engine, as_of=day) == []
    mail = [m for m in d.mailbox(settings).messages() if "Termijn 1" in str(m["Subject"])]
    assert len(mail) == 1 and inv.number


def test_a_promise_the_proposals_hold_replaced_comes_back_when_the_proposal_is_rejected(
    engine: Engine, settings: Settings, db: Session
) -> None:
    org, debtor, inv = _setup(db)
    seen: set[str] = set()
    d.run(engine, settings, db, D0 - dt.timedelta(days=3))
    _kinds(db, seen)
    promised = D0 + dt.timedelta(days=8)  # before the proposal's hold ends (D0+12), after the rejection
    debtor_requests.create(db, debtor, kind="promise", invoice_ids=[inv.id], message=None, reason=None,
                           date=promised, as_of=D0 - dt.timedelta(days=3))  # fmt: skip
    db.commit()
    plan = _waiting(db, org, debtor, D0 - dt.timedelta(days=2))
    assert db.get_one(Invoice, inv.id).pause_reason == "payment arrangement proposed"
    arrangements.decide(db, org.id, plan.id, "reject", as_of=D0, actor="test")
    db.commit()
    back = db.get_one(Invoice, inv.id)
    assert (back.pause_reason, back.paused_until) == ("promise requested", promised)
    # no reminder before the promised day; then the step that fell due meanwhile (step 2, D0+4)
    assert _days(engine, settings, db, D0, promised + dt.timedelta(days=1), seen) == {promised: ["statement_reminder"]}


def test_a_consumers_term_before_costs_keeps_what_was_left_when_the_proposal_was_made(
    engine: Engine, settings: Settings, db: Session
) -> None:
    org = d.org(db)
    debtor = d.customer(db, org.id, "Jan Bakker", "jan@bakker.example", kind="consumer")
    inv = d.invoice(db, org, debtor, "F-9", D0 - dt.timedelta(days=35), 50_000)
    db.commit()
    d.run(engine, settings, db, D0)  # the fourteen-day letter (formal notice): costs wait for its term
    costs_from = db.get_one(Invoice, inv.id).costs_due_on
    assert costs_from is not None and costs_from > D0 + dt.timedelta(days=14)
    proposed = D0 + dt.timedelta(days=3)
    plan = _waiting(db, org, debtor, proposed)
    rejected = D0 + dt.timedelta(days=10)
    seen: set[str] = set()
    _kinds(db, seen)
    charged: dict[dt.date, int] = {}
    sent: dict[dt.date, list[str]] = {}
    resumed_costs = rejected + dt.timedelta(days=1) + (costs_from - proposed)
    day = proposed
    while day <= resumed_costs + dt.timedelta(days=1):
        if day == rejected:
            arrangements.decide(db, org.id, plan.id, "reject", as_of=day, actor="test")
            db.commit()
        d.run(engine, settings, db, day)
        charged[day] = db.get_one(Invoice, inv.id).costs_cents
        sent[day] = _kinds(db, seen)
        day += dt.timedelta(days=1)
    # no costs while the proposal waited, nor in what was left of the letter's term after the answer
    assert all(cents == 0 for d_, cents in charged.items() if d_ < resumed_costs)
    assert charged[resumed_costs] > 0
    assert [k for ks in sent.values() for k in ks] == ["collection_handover"]
    assert sent[resumed_costs] == ["collection_handover"]
