"""Payment arrangements (betalingsregelingen): pay a balance in instalments.

A debtor proposes a plan in the portal (or the back office makes one, e.g. agreed by phone);
the organisation's ``Terms`` decide whether a debtor's proposal is accepted without a person.
While an accepted plan holds, its invoices are not dunned; the engine (``run_day``, called by
``settle run`` before the dunning claims) reminds the debtor before each instalment, notices
payments, and breaks the plan when an instalment stays unpaid after its reminder.

The pure part (no database, no clock):

- ``split`` and ``due_dates``: the schedule. Equal instalments in whole cents, the rounding
  on the last one (EUR 100.00 in 3: 33.33, 33.33, 33.34), so the instalments add up to the
  balance to the cent. Monthly dates keep the first date's day of the month (31 January,
  28 February, 31 March).
- ``check``: which of the terms a proposal stays outside (``Outside``), and the hard limits no
  plan may break whoever makes it (``ValidationError``).
- ``allocate``: what has been paid towards the plan, spread over its instalments in order.
- ``decide_day``: what one plan needs on ``as_of``: instalments paid, a reminder before an
  instalment, a missed instalment's one reminder, the break, the completion.

Paid towards a plan is read from its invoices: the balance it was made for minus what is still
open on them. So every way money arrives (a bank line reconciled, a provider's webhook, a
payment registered by hand, a credit note) counts, in order, without any of them knowing
about plans.

Holding the invoices is a pause (``Invoice.paused_until``, ``pause_reason`` "payment
arrangement") until well after the plan's last instalment. When the plan is broken or
cancelled the pause ends the next day, so the track resumes where it stood with its next step
(``domain.dunning.rules.anchor_after_pause``): no step, fee or collection cost comes for the
days the plan held. Statutory interest keeps running from the due date as the law has it
(art. 6:119/6:119a BW); the plan itself adds no interest or costs.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from domain import outbox
from domain.arrangement_models import LIVE, Arrangement, ArrangementInstalment, ArrangementTerms
from domain.dunning.messages import Rendered
from domain.errors import Conflict, NotFound, ValidationError
from domain.events import record
from domain.invoices import UNSETTLED
from domain.models import Customer, DebtorRequest, Invoice, Organisation, Policy
from domain.money import format_amount
from domain.policies import PolicyBook, end_pause, policy_for, schedule
from domain.statement import TermsRow

STATUSES = ("proposed", "accepted", "rejected", "cancelled", "broken", "completed")
INTERVALS = ("weekly", "monthly")
OUTSIDE = ("review", "not_offered")
PAUSE_REASON = "payment arrangement"
# A proposal waiting for the back office holds its invoices too, under a reason of its own: a
# rejection, a cancellation or the end of the wait releases only the hold the proposal made.
PROPOSED_REASON = "payment arrangement proposed"
# Hard limits, whoever makes the plan: a plan of one instalment is a promise, not a plan.
MIN_INSTALMENTS, MAX_INSTALMENTS = 2, 60
MAX_FIRST_DAYS = 365
MAX_NOTE = 2000


@dataclass(frozen=True)
class Terms:
    """The limits under which a debtor's proposal is accepted without a person.

    ``outside``: what happens to a proposal outside them: ``review`` (it waits for a decision
    in the back office) or ``not_offered`` (the portal refuses it, and does not offer a plan at
    all for a balance below ``min_balance_cents``). ``reminder_days_before``: the reminder
    before each instalment; ``missed_after_days``: the days after an instalment's date before
    it counts as missed and gets its one reminder; ``broken_after_days``: the days after that
    reminder before the plan is broken. ``decision_days``: how long a proposal waiting for a
    decision holds its invoices' dunning (a debtor who asked for a plan gets no reminder about
    it the next morning); bounded, so that a proposal nobody looks at does not stop dunning for
    good. 0: a waiting proposal holds nothing."""

    allowed: bool = True
    min_balance_cents: int = 5_000
    max_instalments: int = 6
    max_term_months: int = 6
    min_instalment_cents: int = 1_000
    intervals: tuple[str, ...] = INTERVALS
    first_within_days: int = 30
    outside: str = "not_offered"
    reminder_days_before: int = 3
    missed_after_days: int = 3
    broken_after_days: int = 7
    decision_days: int = 14

    @classmethod
    def of(cls, row: ArrangementTerms | TermsRow) -> Terms:
        """The terms of a stored row. The statement page's ``TermsRow`` does not carry
        ``decision_days`` (the portal's form does not need it; ``propose`` reads the rows itself):
        from one, it is the default."""
        return cls(
            allowed=row.allowed, min_balance_cents=row.min_balance_cents, max_instalments=row.max_instalments,
            max_term_months=row.max_term_months, min_instalment_cents=row.min_instalment_cents,
            intervals=tuple(row.intervals), first_within_days=row.first_within_days, outside=row.outside,
            reminder_days_before=row.reminder_days_before, missed_after_days=row.missed_after_days,
            broken_after_days=row.broken_after_days,
            decision_days=row.decision_days if isinstance(row, ArrangementTerms) else cls.decision_days,
        )  # fmt: skip


DEFAULT_TERMS = Terms()
TERM_FIELDS = tuple(Terms.__dataclass_fields__)


# --- the schedule ---------------------------------------------------------------------------


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved ``months`` on, on the same day of the month or the month's last day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def split(total_cents: int, count: int) -> list[int]:
    """``count`` equal instalments in whole cents; what does not divide goes on the last one."""
    base = total_cents // count
    return [base] * (count - 1) + [total_cents - base * (count - 1)]


def due_dates(first: dt.date, count: int, interval: str) -> list[dt.date]:
    if interval == "weekly":
        return [first + dt.timedelta(weeks=i) for i in range(count)]
    return [add_months(first, i) for i in range(count)]


@dataclass(frozen=True)
class Planned:
    position: int
    due_date: dt.date
    amount_cents: int


def schedule_of(total_cents: int, count: int, first: dt.date, interval: str) -> list[Planned]:
    return [
        Planned(i + 1, day, cents)
        for i, (day, cents) in enumerate(zip(due_dates(first, count, interval), split(total_cents, count), strict=True))
    ]


@dataclass(frozen=True)
class Outside:
    """One of the terms a proposal stays outside: the form field it is about and why."""

    field: str
    code: str
    message: str


def check(
    terms: Terms, *, total_cents: int, count: int, first: dt.date, interval: str, as_of: dt.date, currency: str
) -> list[Outside]:
    """The terms the proposal stays outside (none: it is accepted without a person). The hard
    limits raise ``ValidationError`` naming the field, whatever the terms."""
    if interval not in INTERVALS:
        raise ValidationError("interval must be weekly or monthly", "interval")
    if not MIN_INSTALMENTS <= count <= MAX_INSTALMENTS:
        raise ValidationError(f"instalments must be between {MIN_INSTALMENTS} and {MAX_INSTALMENTS}", "instalments")
    if total_cents <= 0:
        raise ValidationError("there is nothing open to pay in instalments", "invoice_ids")
    if total_cents < count:
        raise ValidationError("each instalment must be at least 0.01", "instalments")
    if first < as_of:
        raise ValidationError("first_due_date must be today or later", "first_due_date")
    if first > as_of + dt.timedelta(days=MAX_FIRST_DAYS):
        raise ValidationError(f"first_due_date must be within {MAX_FIRST_DAYS} days", "first_due_date")
    out: list[Outside] = []
    if not terms.allowed:
        out.append(Outside("invoice_ids", "not_allowed", "payment plans are not offered"))
    if total_cents < terms.min_balance_cents:
        out.append(Outside("invoice_ids", "min_balance",
                           f"a plan is for a balance of at least {currency} {format_amount(terms.min_balance_cents)}"))
    if count > terms.max_instalments:
        out.append(Outside("instalments", "max_instalments", f"at most {terms.max_instalments} instalments"))
    if split(total_cents, count)[0] < terms.min_instalment_cents:
        out.append(Outside("instalments", "min_instalment",
                           f"each instalment must be at least {currency} {format_amount(terms.min_instalment_cents)}"))
    if interval not in terms.intervals:
        out.append(Outside("interval", "interval", f"instalments are {' or '.join(terms.intervals)}"))
    if first > as_of + dt.timedelta(days=terms.first_within_days):
        out.append(Outside("first_due_date", "first_within",
                           f"the first instalment must be within {terms.first_within_days} days"))
    last = due_dates(first, count, interval)[-1]
    if last > add_months(as_of, terms.max_term_months):
        out.append(Outside("instalments", "max_term", f"the plan must end within {terms.max_term_months} months"))
    return out


def offered(terms: Terms, balance_cents: int) -> bool:
    """Whether the portal offers a plan at all for this balance."""
    if not terms.allowed or balance_cents <= 0:
        return False
    return terms.outside == "review" or balance_cents >= terms.min_balance_cents


def allocate(amounts: Sequence[int], paid_cents: int) -> list[int]:
    """What has been paid towards the plan, over its instalments in order."""
    out: list[int] = []
    rest = max(0, paid_cents)
    for cents in amounts:
        share = min(cents, rest)
        out.append(share)
        rest -= share
    return out


# --- one day of one plan (pure) ---------------------------------------------------------------


@dataclass(frozen=True)
class InstalmentState:
    id: str
    position: int
    due_date: dt.date
    amount_cents: int
    paid_cents: int
    status: str
    reminded_on: dt.date | None
    missed_on: dt.date | None


@dataclass(frozen=True)
class PlanState:
    id: str
    total_cents: int
    reminder_days_before: int
    missed_after_days: int
    broken_after_days: int
    instalments: tuple[InstalmentState, ...]


@dataclass
class Day:
    """What ``decide_day`` found for one plan: the instalments as they are now, and what to send."""

    instalments: list[InstalmentState]
    paid: list[int] = field(default_factory=list)  # positions newly paid
    reminders: list[int] = field(default_factory=list)  # positions reminded before their date
    missed: list[int] = field(default_factory=list)  # positions missed (their one reminder)
    broken: int | None = None  # the position that broke the plan
    completed: bool = False


def decide_day(plan: PlanState, paid_cents: int, as_of: dt.date) -> Day:
    """One day of one accepted plan. Order matters: money first (a paid instalment is never
    reminded), then the break (only after the missed instalment's reminder and its days), then
    the reminders. After days without a run, a missed instalment still gets its reminder
    before the plan can break, and only the next instalment's reminder goes out."""
    shares = allocate([i.amount_cents for i in plan.instalments], paid_cents)
    day = Day([])
    for inst, share in zip(plan.instalments, shares, strict=True):
        status = "paid" if share == inst.amount_cents else ("missed" if inst.missed_on else "pending")
        if status == "paid" and inst.status != "paid":
            day.paid.append(inst.position)
        day.instalments.append(replace(inst, paid_cents=share, status=status))
    if paid_cents >= plan.total_cents:
        day.completed = True
        return day
    for inst in day.instalments:
        if inst.status == "paid":
            continue
        if inst.missed_on is not None:
            if as_of >= inst.missed_on + dt.timedelta(days=plan.broken_after_days):
                day.broken = inst.position
                return day
            continue
        if as_of >= inst.due_date + dt.timedelta(days=plan.missed_after_days):
            day.missed.append(inst.position)
            continue
        if inst.reminded_on is None and as_of >= inst.due_date - dt.timedelta(days=plan.reminder_days_before):
            day.reminders.append(inst.position)
        break  # only the first instalment not yet due is looked at
    return day


# --- terms in the database -------------------------------------------------------------------


def terms_row(session: Session, org_id: str, policy_id: str | None) -> ArrangementTerms | None:
    cond = ArrangementTerms.policy_id.is_(None) if policy_id is None else ArrangementTerms.policy_id == policy_id
    return session.scalar(select(ArrangementTerms).where(ArrangementTerms.org_id == org_id, cond))


def org_terms(session: Session, org_id: str) -> Terms:
    row = terms_row(session, org_id, None)
    return Terms.of(row) if row is not None else DEFAULT_TERMS


def terms_for(session: Session, customer: Customer, rows: Sequence[ArrangementTerms | TermsRow] | None = None) -> Terms:
    """The customer's policy's terms if it overrides them, else the organisation's. ``rows``: the
    organisation's terms rows when already read (the statement page reads them in its one round
    trip, ``domain.statement.read``); otherwise one query, and a second only when a policy of the
    organisation has terms of its own."""
    if rows is None:
        rows = session.scalars(select(ArrangementTerms).where(ArrangementTerms.org_id == customer.org_id)).all()
    by_policy = {r.policy_id: r for r in rows}
    if any(key is not None for key in by_policy):
        policy = policy_for(session, customer)
        if policy is not None and policy.id in by_policy:
            return Terms.of(by_policy[policy.id])
    found = by_policy.get(None)
    return Terms.of(found) if found is not None else DEFAULT_TERMS


def validate_terms(terms: Terms) -> Terms:
    def positive(name: str, value: int, low: int = 0, high: int = 60) -> None:
        if not low <= value <= high:
            raise ValidationError(f"{name} must be between {low} and {high}", name)

    for name, cents in (("min_balance", terms.min_balance_cents), ("min_instalment", terms.min_instalment_cents)):
        if not 0 <= cents < 10**14:
            raise ValidationError(f"{name} must be an amount of at least 0.00", name)
    positive("max_instalments", terms.max_instalments, MIN_INSTALMENTS, MAX_INSTALMENTS)
    positive("max_term_months", terms.max_term_months, 1, 60)
    positive("first_within_days", terms.first_within_days, 0, MAX_FIRST_DAYS)
    positive("reminder_days_before", terms.reminder_days_before, 0, 30)
    positive("missed_after_days", terms.missed_after_days, 0, 60)
    positive("broken_after_days", terms.broken_after_days, 1, 60)
    positive("decision_days", terms.decision_days, 0, 60)
    if not terms.intervals or any(i not in INTERVALS for i in terms.intervals) or len(set(terms.intervals)) != len(
        terms.intervals
    ):
        raise ValidationError("intervals must be weekly, monthly or both", "intervals")
    if terms.outside not in OUTSIDE:
        raise ValidationError("outside must be review or not_offered", "outside")
    return terms


def set_terms(session: Session, org_id: str, policy_id: str | None, terms: Terms) -> Terms:
    """Store the organisation's terms (``policy_id`` None) or a policy's override."""
    validate_terms(terms)
    if policy_id is not None and session.scalar(
        select(Policy.id).where(Policy.id == policy_id, Policy.org_id == org_id)
    ) is None:
        raise NotFound(f"no policy {policy_id!r}", "policy_id")
    row = terms_row(session, org_id, policy_id)
    values = {name: getattr(terms, name) for name in TERM_FIELDS}
    values["intervals"] = list(terms.intervals)
    if row is None:
        row = ArrangementTerms(org_id=org_id, policy_id=policy_id, **values)
        session.add(row)
    else:
        for name, value in values.items():
            setattr(row, name, value)
    session.flush()
    record(session, org_id, "arrangement.terms_changed", row, policy_id=policy_id, **values)
    return terms


def clear_terms(session: Session, org_id: str, policy_id: str) -> None:
    row = terms_row(session, org_id, policy_id)
    if row is None:
        raise NotFound(f"policy {policy_id!r} has no terms of its own", "policy_id")
    session.delete(row)
    record(session, org_id, "arrangement.terms_changed", None, policy_id=policy_id, cleared=True)


# --- proposing, deciding ---------------------------------------------------------------------


class Composer(Protocol):
    """Supplied by the caller (``adapters.portal_mail.PortalMailer``): a link and the words of
    the plan's e-mails (``kind``: ``arrangement_accepted``, ``arrangement_rejected``,
    ``instalment_reminder``, ``instalment_missed``, ``arrangement_broken``)."""

    def portal_url(self, session: Session, customer: Customer) -> str: ...

    def arrangement_notice(self, kind: str, org: Organisation, customer: Customer, arrangement: Arrangement,
                           instalments: list[ArrangementInstalment], instalment: ArrangementInstalment | None,
                           url: str, as_of: dt.date) -> Rendered: ...  # fmt: skip


def _candidates(session: Session, customer: Customer, invoice_ids: list[str]) -> list[Invoice]:
    """The invoices a plan may be for: the customer's open ones (not disputed, not with the agency),
    locked; none chosen means all of them."""
    rows = list(
        session.scalars(
            select(Invoice)
            .where(
                Invoice.org_id == customer.org_id,
                Invoice.customer_id == customer.id,
                Invoice.status == "open",
                Invoice.open_cents > 0,
            )
            .order_by(Invoice.due_date, Invoice.issue_date, Invoice.number)
            .with_for_update()
        )
    )
    if not invoice_ids:
        picked = rows
    else:
        by_id = {inv.id: inv for inv in rows}
        if any(i not in by_id for i in invoice_ids):
            raise ValidationError("choose among the open invoices of this customer", "invoice_ids")
        wanted = set(invoice_ids)
        picked = [inv for inv in rows if inv.id in wanted]
    if not picked:
        raise ValidationError("there is nothing open to pay in instalments", "invoice_ids")
    if len({inv.currency for inv in picked}) > 1:
        raise ValidationError("a plan is for invoices in one currency", "invoice_ids")
    return picked


def live_of(session: Session, org_id: str, customer_id: str) -> Arrangement | None:
    return session.scalar(
        select(Arrangement).where(
            Arrangement.org_id == org_id, Arrangement.customer_id == customer_id, Arrangement.status.in_(LIVE)
        )
    )


@dataclass(frozen=True)
class Proposal:
    """A plan as it would be: the schedule and the terms it stays outside."""

    invoices: list[Invoice]
    currency: str
    total_cents: int
    schedule: list[Planned]
    outside: list[Outside]
    terms: Terms


def preview(
    session: Session, customer: Customer, *, invoice_ids: list[str], instalments: int, first_due_date: dt.date,
    interval: str, as_of: dt.date, terms: Terms | None = None,
) -> Proposal:  # fmt: skip
    """The schedule of a plan and where it stands against the terms; nothing is written."""
    chosen = _candidates(session, customer, invoice_ids)
    total = sum(inv.open_cents for inv in chosen)
    terms = terms or terms_for(session, customer)
    outside = check(terms, total_cents=total, count=instalments, first=first_due_date, interval=interval,
                    as_of=as_of, currency=chosen[0].currency)  # fmt: skip
    return Proposal(chosen, chosen[0].currency, total, schedule_of(total, instalments, first_due_date, interval),
                    outside, terms)  # fmt: skip


def propose(
    session: Session, customer: Customer, *, invoice_ids: list[str], instalments: int, first_due_date: dt.date,
    interval: str, as_of: dt.date, origin: str, actor: str | None = None, note: str | None = None,
) -> Arrangement:  # fmt: skip
    """Make a plan. From the portal, within the terms it is accepted at once; outside them it
    waits for a decision (``review``) or is refused naming the field (``not_offered``). The back
    office (``origin`` ``api``) is the person deciding: its plan is accepted at once, within
    the hard limits only, so it never waits. A plan that waits holds its invoices' dunning for
    the terms' ``decision_days`` (``hold_proposal``)."""
    if live_of(session, customer.org_id, customer.id) is not None:
        raise Conflict("this customer already has a payment plan that is proposed or running", "customer_id")
    text = (note or "").strip() or None
    if text is not None and len(text) > MAX_NOTE:
        raise ValidationError(f"note is longer than {MAX_NOTE} characters", "note")
    found = preview(session, customer, invoice_ids=invoice_ids, instalments=instalments,
                    first_due_date=first_due_date, interval=interval, as_of=as_of)  # fmt: skip
    outside = found.outside if origin == "portal" else []
    if outside and (found.terms.outside == "not_offered" or any(o.code == "not_allowed" for o in outside)):
        first = outside[0]
        raise ValidationError(first.message, first.field)
    terms = found.terms
    arrangement = Arrangement(
        org_id=customer.org_id, customer_id=customer.id, status="proposed", origin=origin,
        within_terms=not found.outside, outside_reasons=[o.code for o in found.outside],
        invoice_ids=[inv.id for inv in found.invoices], currency=found.currency, total_cents=found.total_cents,
        paid_cents=0, interval=interval, reminder_days_before=terms.reminder_days_before,
        missed_after_days=terms.missed_after_days, broken_after_days=terms.broken_after_days, proposed_on=as_of,
        note=text,
    )  # fmt: skip
    session.add(arrangement)
    try:
        session.flush()  # the unique live-plan index: of two proposals racing, one lands
    except IntegrityError:
        raise Conflict("this customer already has a payment plan that is proposed or running", "customer_id") from None
    for p in found.schedule:
        session.add(ArrangementInstalment(org_id=customer.org_id, arrangement_id=arrangement.id, position=p.position,
                                          due_date=p.due_date, amount_cents=p.amount_cents, paid_cents=0,
                                          status="pending"))  # fmt: skip
    session.flush()
    waits = origin == "portal" and bool(outside)
    if waits:
        hold_proposal(session, arrangement, terms.decision_days, as_of)
    record(session, customer.org_id, "arrangement.proposed", arrangement, actor=actor, origin=origin,
           total_cents=found.total_cents, instalments=instalments, interval=interval,
           first_due_date=first_due_date.isoformat(), outside=[o.code for o in found.outside],
           invoices=[inv.number for inv in found.invoices],
           held_until=arrangement.held_until.isoformat() if arrangement.held_until else None)  # fmt: skip
    if not waits:
        _accept(session, arrangement, as_of, actor=actor or f"customer:{customer.id}", automatic=origin == "portal")
    return arrangement


def hold_proposal(session: Session, arrangement: Arrangement, days: int, as_of: dt.date) -> None:
    """A proposal waiting for a decision holds its invoices' dunning until ``days`` from now
    (``held_until``): the debtor who asked for a plan gets no reminder about these invoices while
    the back office decides. A pause already running longer (an extension asked before) is kept
    as it is, and its reason with it, so that releasing the proposal never cuts it short."""
    if days <= 0:
        return
    until = as_of + dt.timedelta(days=days)
    arrangement.held_until = until
    policy = policy_for(session, session.get_one(Customer, arrangement.customer_id))
    _hold(_plan_invoices(session, arrangement), until, lambda _inv: policy)


def _hold(invoices: Sequence[Invoice], until: dt.date, policy_of: Callable[[Invoice], Policy | None]) -> int:
    """Put the proposal's hold (``PROPOSED_REASON`` until ``until``) on the open invoices not
    paused as long already; how many it held."""
    loose = [inv for inv in invoices if inv.status == "open" and (inv.paused_until is None or inv.paused_until < until)]
    for inv in loose:
        inv.paused_until = until
        inv.pause_reason = PROPOSED_REASON
        schedule(inv, policy_of(inv))
    return len(loose)


def instalments_of(session: Session, arrangement_ids: Sequence[str]) -> dict[str, list[ArrangementInstalment]]:
    out: dict[str, list[ArrangementInstalment]] = {i: [] for i in arrangement_ids}
    if arrangement_ids:
        for row in session.scalars(
            select(ArrangementInstalment)
            .where(ArrangementInstalment.arrangement_id.in_(list(arrangement_ids)))
            .order_by(ArrangementInstalment.arrangement_id, ArrangementInstalment.position)
        ):
            out[row.arrangement_id].append(row)
    return out


def hold_until(arrangement: Arrangement, instalments: Sequence[ArrangementInstalment]) -> dt.date:
    """How long the invoices are held: past the day the last instalment could break the plan.
    The plan ends the hold itself (broken, cancelled, completed) long before, as a rule."""
    last = max(i.due_date for i in instalments)
    return last + dt.timedelta(days=arrangement.missed_after_days + arrangement.broken_after_days + 1)


def _plan_invoices(session: Session, arrangement: Arrangement) -> list[Invoice]:
    return list(
        session.scalars(
            select(Invoice)
            .where(Invoice.org_id == arrangement.org_id, Invoice.id.in_(arrangement.invoice_ids))
            .order_by(Invoice.due_date, Invoice.number)
            .with_for_update()
        )
    )


def _accept(session: Session, arrangement: Arrangement, as_of: dt.date, *, actor: str | None, automatic: bool) -> None:
    instalments = instalments_of(session, [arrangement.id])[arrangement.id]
    until = hold_until(arrangement, instalments)
    customer = session.get_one(Customer, arrangement.customer_id)
    policy = policy_for(session, customer)
    for inv in _plan_invoices(session, arrangement):
        if inv.status in UNSETTLED:
            # The proposal's hold (or a longer pause) goes on as the plan's, never shorter.
            inv.paused_until = max(until, inv.paused_until or until)
            inv.pause_reason = PAUSE_REASON
            schedule(inv, policy)
    arrangement.status = "accepted"
    arrangement.decided_on = as_of
    record(session, arrangement.org_id, "arrangement.accepted", arrangement, actor=actor, automatic=automatic,
           held_until=until.isoformat())  # fmt: skip


def get(session: Session, org_id: str, arrangement_id: str, *, for_update: bool = False) -> Arrangement:
    stmt = select(Arrangement).where(Arrangement.id == arrangement_id, Arrangement.org_id == org_id)
    found = session.scalar(stmt.with_for_update() if for_update else stmt)
    if found is None:
        raise NotFound(f"no arrangement {arrangement_id!r}", "arrangement_id")
    return found


def _by_id(session: Session, model: Any, ids: set[str]) -> dict[str, Any]:
    return {row.id: row for row in session.scalars(select(model).where(model.id.in_(sorted(ids))))}


def _held(session: Session, plans: Sequence[Arrangement]) -> list[Invoice]:
    """The open invoices the plans hold, locked, in one query."""
    ids = sorted({i for p in plans for i in p.invoice_ids})
    if not ids:
        return []
    return list(
        session.scalars(
            select(Invoice)
            .where(Invoice.id.in_(ids), Invoice.status == "open", Invoice.pause_reason == PAUSE_REASON)
            .order_by(Invoice.id)
            .with_for_update()
        )
    )


def _release(session: Session, plans: Sequence[Arrangement], as_of: dt.date) -> None:
    """End the hold on the plans' open invoices tomorrow: the track resumes where it stood, its
    next step the next day (never on the day the debtor hears the plan ended)."""
    invoices = _held(session, plans)
    if not invoices:
        return
    customers = _by_id(session, Customer, {i.customer_id for i in invoices})
    began = {i: _hold_began(p) for p in plans for i in p.invoice_ids}
    books: dict[str, PolicyBook] = {}
    resume = as_of + dt.timedelta(days=1)
    promised = _asked_pauses(session, invoices, resume)
    for inv in invoices:
        book = books.get(inv.org_id)
        if book is None:
            book = books[inv.org_id] = PolicyBook.load(session, inv.org_id, customers.values())
        inv.paused_until = resume
        if inv.id in promised:
            inv.paused_until, inv.pause_reason = promised[inv.id]
        schedule(inv, book.policy_for(customers[inv.customer_id]))
        _resume_costs(inv, customers[inv.customer_id], began[inv.id], resume)


def _asked_pauses(session: Session, invoices: Sequence[Invoice], after: dt.date) -> dict[str, tuple[dt.date, str]]:
    """The pauses the debtor asked for that still run past ``after`` (a promise to pay, open or
    accepted; an extension still waiting for its decision), by invoice: the latest, with the
    reason ``domain.debtor_requests`` gives it. A plan's or a proposal's hold took their place
    while it held; when it ends, they come back rather than dunning before the promised day.
    One query."""
    if not invoices:
        return {}
    wanted = {inv.id for inv in invoices}
    rows = session.scalars(
        select(DebtorRequest).where(
            DebtorRequest.org_id.in_(sorted({inv.org_id for inv in invoices})),
            DebtorRequest.customer_id.in_(sorted({inv.customer_id for inv in invoices})),
            ((DebtorRequest.kind == "promise") & DebtorRequest.status.in_(("open", "accepted")))
            | ((DebtorRequest.kind == "extension") & (DebtorRequest.status == "open")),
            DebtorRequest.requested_date > after,
        )
    )
    out: dict[str, tuple[dt.date, str]] = {}
    for req in rows:
        assert req.requested_date is not None
        for inv_id in req.invoice_ids:
            if inv_id in wanted and (inv_id not in out or out[inv_id][0] < req.requested_date):
                out[inv_id] = (req.requested_date, f"{req.kind} requested")
    return out


def _hold_began(plan: Arrangement) -> dt.date:
    """The day the plan's hold began: the day it was proposed when it was accepted while the
    proposal still held its invoices, else the day it was accepted."""
    decided = plan.decided_on or plan.proposed_on
    if plan.held_until is not None and decided <= plan.held_until:
        return plan.proposed_on
    return decided


def _resume_costs(inv: Invoice, customer: Customer, began: dt.date, resume: dt.date) -> None:
    """The consumer's term before costs (the fourteen-day letter, Book XIX's waiting period) that
    was still running when a hold began: what was left of it runs again from the resume day."""
    waiting = inv.costs_due_on if customer.kind == "consumer" and not inv.costs_cents else None
    if inv.status == "open" and waiting is not None and waiting > began:
        inv.costs_due_on = resume + (waiting - began)
        if inv.next_action_on is None or inv.costs_due_on < inv.next_action_on:
            inv.next_action_on = inv.costs_due_on


def _release_proposals(session: Session, plans: Sequence[Arrangement], as_of: dt.date, *,
                       lapsed: bool = False) -> list[Invoice]:  # fmt: skip
    """End the holds these proposals put on their invoices (only those: a pause of another reason
    is not the proposal's to end); the invoices released. Rejected or cancelled, the hold ends the
    next day, like a plan's (never a reminder on the day the debtor hears the answer). A wait that
    ran out (``lapsed``, the proposal still undecided) ends on its ``held_until`` day: the pause is
    lifted now, before the dunning claims, as the engine would lift it (the anchor moves so that
    the next step falls on that day, ``domain.dunning.rules.anchor_after_pause``). Either way
    dunning resumes with the step the invoice stood at, and a consumer's term before costs keeps
    what was left of it."""
    ids = sorted({i for p in plans for i in p.invoice_ids})
    if not ids:
        return []
    stmt = select(Invoice).where(Invoice.id.in_(ids), Invoice.status.in_(UNSETTLED),
                                 Invoice.pause_reason == PROPOSED_REASON)  # fmt: skip
    if lapsed:
        stmt = stmt.where(Invoice.paused_until <= as_of)
    invoices = list(session.scalars(stmt.order_by(Invoice.id).with_for_update()))
    if not invoices:
        return []
    owner = {i: p for p in plans for i in p.invoice_ids}
    customers = _by_id(session, Customer, {i.customer_id for i in invoices})
    books: dict[str, PolicyBook] = {}
    tomorrow = as_of + dt.timedelta(days=1)
    promised = {} if lapsed else _asked_pauses(session, invoices, tomorrow)
    for inv in invoices:
        book = books.get(inv.org_id)
        if book is None:
            book = books[inv.org_id] = PolicyBook.load(session, inv.org_id, customers.values())
        policy = book.policy_for(customers[inv.customer_id])
        resume = min(inv.paused_until or tomorrow, tomorrow)
        if lapsed:
            end_pause(inv, policy, resume)
        elif inv.id in promised:  # a promise made before the proposal, which the proposal's hold replaced
            inv.paused_until, inv.pause_reason = promised[inv.id]
        else:
            inv.paused_until = resume
        schedule(inv, policy)
        _resume_costs(inv, customers[inv.customer_id], owner[inv.id].proposed_on, resume)
    return invoices


def decide(
    session: Session, org_id: str, arrangement_id: str, decision: str, *, as_of: dt.date, actor: str | None,
    note: str | None = None, composer: Composer | None = None,
) -> Arrangement:  # fmt: skip
    """``accept`` or ``reject`` a proposed plan, or ``cancel`` a proposed or accepted one. The
    debtor is told by e-mail of an acceptance or a rejection (once: ``decision_key``)."""
    arrangement = get(session, org_id, arrangement_id, for_update=True)
    wanted = {"accept": ("proposed",), "reject": ("proposed",), "cancel": LIVE}[decision]
    if arrangement.status not in wanted:
        raise Conflict(f"this arrangement is {arrangement.status}", "status")
    text = (note or "").strip() or None
    if text is not None and len(text) > MAX_NOTE:
        raise ValidationError(f"note is longer than {MAX_NOTE} characters", "note")
    if text:
        arrangement.note = text
    if decision == "accept":
        if any(inv.status != "open" for inv in _plan_invoices(session, arrangement)):
            # An invoice paid, disputed or handed over since the proposal: the plan no longer adds up.
            raise Conflict("an invoice of this plan is no longer open: make a new plan", "invoice_ids")
        first = min(i.due_date for i in instalments_of(session, [arrangement.id])[arrangement.id])
        if first < as_of:
            # Accepted late, it would be missed before the debtor heard of it.
            raise Conflict("the first instalment's date has passed: make a new plan", "first_due_date")
        _accept(session, arrangement, as_of, actor=actor, automatic=False)
    elif decision == "reject":
        arrangement.status = "rejected"
        arrangement.decided_on = as_of
        arrangement.ended_on = as_of
        _release_proposals(session, [arrangement], as_of)
        record(session, org_id, "arrangement.rejected", arrangement, actor=actor, note=text)
    else:
        was = arrangement.status
        arrangement.status = "cancelled"
        arrangement.ended_on = as_of
        if was == "accepted":
            _release(session, [arrangement], as_of)
        else:
            _release_proposals(session, [arrangement], as_of)
        record(session, org_id, "arrangement.cancelled", arrangement, actor=actor, was=was, note=text)
    session.flush()
    if composer is not None and decision in ("accept", "reject"):
        notify_decision(session, arrangement, composer, as_of)
    return arrangement


def decision_key(arrangement_id: str) -> str:
    return f"arrangement_decided:{arrangement_id}"


def notify_decision(session: Session, arrangement: Arrangement, composer: Composer, as_of: dt.date) -> None:
    """The e-mail that tells the debtor a plan was accepted (with its schedule) or rejected."""
    customer = session.get_one(Customer, arrangement.customer_id)
    org = session.get_one(Organisation, arrangement.org_id)
    kind = "arrangement_accepted" if arrangement.status == "accepted" else "arrangement_rejected"
    key = decision_key(arrangement.id)
    if outbox.existing_keys(session, [key]):
        return
    instalments = instalments_of(session, [arrangement.id])[arrangement.id]
    rendered = composer.arrangement_notice(kind, org, customer, arrangement, instalments, None,
                                           composer.portal_url(session, customer), as_of)  # fmt: skip
    outbox.add(session, org_id=org.id, customer_id=customer.id, kind=kind, key=key, to=customer.email,
               subject=rendered.subject, text=rendered.text, html=rendered.html)  # fmt: skip


def filters(org_id: str, *, status: str | None, customer_id: str | None) -> list[Any]:
    conds: list[Any] = [Arrangement.org_id == org_id]
    if status is not None:
        if status not in STATUSES:
            raise ValidationError(f"status must be one of {', '.join(STATUSES)}", "status")
        conds.append(Arrangement.status == status)
    if customer_id is not None:
        conds.append(Arrangement.customer_id == customer_id)
    return conds


def open_cents(session: Session, invoice_ids: Sequence[str]) -> dict[str, int]:
    """What is still open on each of these invoices (settled ones: 0), in one query."""
    if not invoice_ids:
        return {}
    rows = session.execute(
        select(Invoice.id, Invoice.status, Invoice.open_cents).where(Invoice.id.in_(list(invoice_ids)))
    )
    return {i: (cents if status in UNSETTLED else 0) for i, status, cents in rows}


def paid_towards(arrangement: Arrangement, open_by_invoice: dict[str, int]) -> int:
    return arrangement.total_cents - sum(open_by_invoice.get(i, 0) for i in arrangement.invoice_ids)


@dataclass(frozen=True)
class InstalmentView:
    """An instalment as the portal and the API show it: what is paid on it as of now."""

    id: str
    position: int
    due_date: dt.date
    amount_cents: int
    paid_cents: int
    status: str  # pending | paid | missed


def views(arrangement: Arrangement, rows: Sequence[ArrangementInstalment],
          open_by_invoice: dict[str, int] | None) -> tuple[int, list[InstalmentView]]:  # fmt: skip
    """(paid towards the plan, its instalments): for a running plan from its invoices as they
    are now, whether or not a run has seen the payment yet (the run records it, and its event,
    under its lock); for any other, as it ended."""
    paid = arrangement.paid_cents
    if arrangement.status == "accepted" and open_by_invoice is not None:
        paid = max(0, paid_towards(arrangement, open_by_invoice))
    shares = allocate([r.amount_cents for r in rows], paid)
    out = []
    for r, share in zip(rows, shares, strict=True):
        status = "paid" if share == r.amount_cents else ("missed" if r.missed_on else "pending")
        out.append(InstalmentView(r.id, r.position, r.due_date, r.amount_cents, share, status))
    return paid, out


def current(session: Session, arrangement: Arrangement) -> tuple[int, list[InstalmentView]]:
    rows = instalments_of(session, [arrangement.id])[arrangement.id]
    return views(arrangement, rows, open_cents(session, arrangement.invoice_ids))


def next_due(instalments: Sequence[InstalmentView]) -> InstalmentView | None:
    return next((i for i in instalments if i.status != "paid"), None)


def instalment_payment(session: Session, customer: Customer, instalment_id: str) -> tuple[list[str], int]:
    """The invoices and the amount a payment of one instalment is for: exactly what is still due
    on that instalment (on the oldest instalment not paid, whichever the debtor pressed: money
    goes to the instalments in order)."""
    arrangement = live_of(session, customer.org_id, customer.id)
    if arrangement is None or arrangement.status != "accepted":
        raise ValidationError("there is no running payment plan", "instalment_id")
    _, instalments = current(session, arrangement)
    chosen = next((i for i in instalments if i.id == instalment_id), None)
    if chosen is None or chosen.status == "paid":
        raise ValidationError("choose an instalment still to pay", "instalment_id")
    due = chosen.amount_cents - chosen.paid_cents
    still_open = [i for i, cents in open_cents(session, arrangement.invoice_ids).items() if cents > 0]
    return [i for i in arrangement.invoice_ids if i in still_open], due


# --- the run's stage ---------------------------------------------------------------------------


@dataclass
class DaySummary:
    plans: int = 0
    reminders: int = 0
    missed: int = 0
    broken: int = 0
    completed: int = 0
    paid: int = 0
    lapsed: int = 0  # proposals whose hold on dunning ran out undecided
    held: int = 0  # a waiting proposal's invoices put back on hold


def instalment_key(kind: str, instalment_id: str) -> str:
    return f"{kind}:{instalment_id}"


def run_day(
    factory: sessionmaker[Session], *, as_of: dt.date, composer: Composer, org_id: str | None = None,
    batch_size: int = 200,
) -> DaySummary:  # fmt: skip
    """The plans' part of a run, before the dunning claims: in batches of accepted plans, each
    batch locked (PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so two runs at once share the plans;
    SQLite: the single writer), decided (``decide_day``) and written in one transaction with its
    events and outbox rows. Each message has its key (``instalment_reminder:<instalment>``,
    ``instalment_missed:<instalment>``, ``arrangement_broken:<plan>``) and each instalment's day
    is set by compare-and-set, so a message is queued once whatever runs at once or again.
    The few messages of a batch are rendered in its transaction (like a portal acknowledgement).
    Then the proposals waiting for a decision (``_proposal_batch``)."""
    summary = DaySummary()
    after = ""
    while True:
        with factory() as session:
            stmt = (
                select(Arrangement)
                .where(Arrangement.status == "accepted", Arrangement.id > after)
                .order_by(Arrangement.id)
                .limit(batch_size)
            )
            if org_id is not None:
                stmt = stmt.where(Arrangement.org_id == org_id)
            if session.get_bind().dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True)
            plans = list(session.scalars(stmt))
            if not plans:
                break
            after = plans[-1].id
            _day_batch(session, plans, as_of, composer, summary)
            session.commit()
    after = ""
    while True:
        with factory() as session:
            plans = list(session.scalars(_waiting(as_of, org_id, after, batch_size, session, lock=True)))
            if not plans:
                return summary
            after = plans[-1].id
            _proposal_batch(session, plans, as_of, summary)
            session.commit()


def _waiting(as_of: dt.date, org_id: str | None, after: str, batch_size: int, session: Session, *,
             lock: bool) -> Any:  # fmt: skip
    """A batch of the proposals that hold their invoices while they wait for a decision."""
    stmt = (
        select(Arrangement)
        .where(Arrangement.status == "proposed", Arrangement.held_until.is_not(None), Arrangement.id > after)
        .order_by(Arrangement.id)
        .limit(batch_size)
    )
    if org_id is not None:
        stmt = stmt.where(Arrangement.org_id == org_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return stmt


def _proposal_batch(session: Session, plans: list[Arrangement], as_of: dt.date, summary: DaySummary) -> None:
    """Proposals waiting for a decision: a hold whose wait ran out (``held_until`` today or
    before) is released, so dunning resumes today where it stood, and the back office sees
    ``arrangement.hold_lapsed`` (the proposal still waits: accepting it holds the invoices
    again); a hold still running is put back on invoices something else paused or resumed for a
    shorter time meanwhile (a promise asked in the portal, ``/resume``), as a plan's is
    (``_rehold``): to dun them before the wait ends, reject the proposal. A longer pause is left
    as it is."""
    ended = [p for p in plans if p.held_until is not None and p.held_until <= as_of]
    released = _release_proposals(session, ended, as_of, lapsed=True)
    for plan in ended:
        mine = [inv for inv in released if inv.id in plan.invoice_ids]
        if mine:
            summary.lapsed += 1
            record(session, plan.org_id, "arrangement.hold_lapsed", plan,
                   held_until=plan.held_until.isoformat() if plan.held_until else None,
                   invoices=[inv.number for inv in mine])  # fmt: skip
    running = [p for p in plans if p.held_until is not None and p.held_until > as_of]
    ids = sorted({i for p in running for i in p.invoice_ids})
    if not ids:
        return
    loose = list(
        session.scalars(
            select(Invoice)
            .where(Invoice.id.in_(ids), Invoice.status == "open",
                   (Invoice.pause_reason.is_(None)) | (Invoice.pause_reason != PROPOSED_REASON))
            .order_by(Invoice.id)
            .with_for_update()
        )
    )  # fmt: skip
    if not loose:
        return
    customers = _by_id(session, Customer, {i.customer_id for i in loose})
    books: dict[str, PolicyBook] = {}

    def policy_of(inv: Invoice) -> Policy | None:
        book = books.get(inv.org_id)
        if book is None:
            book = books[inv.org_id] = PolicyBook.load(session, inv.org_id, customers.values())
        return book.policy_for(customers[inv.customer_id])

    for plan in running:
        assert plan.held_until is not None
        summary.held += _hold([inv for inv in loose if inv.id in plan.invoice_ids], plan.held_until, policy_of)


def _day_batch(session: Session, plans: list[Arrangement], as_of: dt.date, composer: Composer,
               summary: DaySummary) -> None:  # fmt: skip
    instalments = instalments_of(session, [p.id for p in plans])
    opened = open_cents(session, sorted({i for p in plans for i in p.invoice_ids}))
    customers = _by_id(session, Customer, {p.customer_id for p in plans})
    orgs = _by_id(session, Organisation, {p.org_id for p in plans})
    messages: list[dict[str, Any]] = []
    wanted: list[tuple[str, str, Arrangement, ArrangementInstalment | None]] = []
    released: list[Arrangement] = []
    extended: list[Arrangement] = []
    for plan in plans:
        summary.plans += 1
        rows = instalments[plan.id]
        state = PlanState(plan.id, plan.total_cents, plan.reminder_days_before, plan.missed_after_days,
                          plan.broken_after_days, tuple(_state(r) for r in rows))  # fmt: skip
        paid = paid_towards(plan, opened)
        day = decide_day(state, paid, as_of)
        by_pos = {r.position: r for r in rows}
        if _apply_paid(session, plan, rows, day, paid, as_of, summary):
            released.append(plan)
            continue
        for pos in day.reminders:
            wanted.append(("instalment_reminder", instalment_key("instalment_reminder", by_pos[pos].id), plan,
                           by_pos[pos]))  # fmt: skip
        for pos in day.missed:
            wanted.append(("instalment_missed", instalment_key("instalment_missed", by_pos[pos].id), plan, by_pos[pos]))
        if day.broken is not None:
            wanted.append(("arrangement_broken", f"arrangement_broken:{plan.id}", plan, by_pos[day.broken]))
    session.flush()
    # Compare-and-set on the instalments: a day set by another run (or an earlier one) sends nothing.
    reminded = _claim_days(session, [i.id for k, _, _, i in wanted if k == "instalment_reminder" and i], "reminded_on",
                           as_of)  # fmt: skip
    missed = _claim_days(session, [i.id for k, _, _, i in wanted if k == "instalment_missed" and i], "missed_on", as_of)
    known = outbox.existing_keys(session, [key for _, key, _, _ in wanted])
    for kind, key, plan, inst in wanted:
        if key in known or inst is None:
            continue
        if kind == "instalment_reminder" and inst.id not in reminded:
            continue
        if kind == "instalment_missed" and inst.id not in missed:
            continue
        customer, org = customers[plan.customer_id], orgs[plan.org_id]
        if kind == "instalment_missed":
            inst.status, inst.missed_on = "missed", as_of
            summary.missed += 1
            record(session, plan.org_id, "arrangement.instalment_missed", plan, instalment=inst.position,
                   due_date=inst.due_date.isoformat(), open_cents=inst.amount_cents - inst.paid_cents)  # fmt: skip
            extended.append(plan)
        elif kind == "instalment_reminder":
            inst.reminded_on = as_of
            summary.reminders += 1
        else:
            plan.status = "broken"
            plan.ended_on = as_of
            summary.broken += 1
            record(session, plan.org_id, "arrangement.broken", plan, instalment=inst.position,
                   paid_cents=plan.paid_cents, open_cents=plan.total_cents - plan.paid_cents)  # fmt: skip
            released.append(plan)
        rendered = composer.arrangement_notice(kind, org, customer, plan, instalments[plan.id], inst,
                                               composer.portal_url(session, customer), as_of)  # fmt: skip
        messages.append(outbox.row(org_id=org.id, customer_id=customer.id, kind=kind, key=key, to=customer.email,
                                   subject=rendered.subject, text=rendered.text, html=rendered.html))  # fmt: skip
    _release(session, released, as_of)
    _extend_hold(session, extended, as_of)
    ended = {p.id for p in released} | {p.id for p in plans if p.status != "accepted"}
    _rehold(session, [p for p in plans if p.id not in ended], instalments, as_of)
    session.flush()
    outbox.insert(session, messages)


@dataclass(frozen=True)
class PlanNotice:
    """One thing a run would do for a payment plan (``preview_day``): ``kind`` is the message's
    (``instalment_reminder``, ``instalment_missed``, ``arrangement_broken``) or, without a
    message, ``instalment_paid``, ``arrangement_completed`` or ``hold_lapsed`` (a waiting
    proposal's hold ends, so its invoices are dunned again from this run)."""

    kind: str
    arrangement_id: str
    customer_id: str
    customer_name: str
    to: str | None
    instalment: int | None
    amount_cents: int
    currency: str


def preview_day(session: Session, as_of: dt.date, org_id: str | None = None) -> list[PlanNotice]:
    """What ``run_day`` on ``as_of`` would do, reading only (no lock, nothing written): the same
    ``decide_day`` over the accepted plans as they stand, less the messages already queued, and
    the proposals whose wait runs out. For ``settle run --dry-run`` and the dunning preview; a
    handful of queries whatever the number of plans."""
    stmt = select(Arrangement).where(Arrangement.status == "accepted").order_by(Arrangement.id)
    waiting = select(Arrangement).where(Arrangement.status == "proposed", Arrangement.held_until <= as_of)
    if org_id is not None:
        stmt, waiting = stmt.where(Arrangement.org_id == org_id), waiting.where(Arrangement.org_id == org_id)
    plans = list(session.scalars(stmt))
    lapsing = list(session.scalars(waiting.order_by(Arrangement.id)))
    if lapsing:
        ids = sorted({i for p in lapsing for i in p.invoice_ids})
        still = set(session.scalars(select(Invoice.id).where(
            Invoice.id.in_(ids), Invoice.status.in_(UNSETTLED), Invoice.pause_reason == PROPOSED_REASON,
            Invoice.paused_until <= as_of)))  # fmt: skip
        lapsing = [p for p in lapsing if still.intersection(p.invoice_ids)]
    if not plans and not lapsing:
        return []
    instalments = instalments_of(session, [p.id for p in plans])
    opened = open_cents(session, sorted({i for p in plans for i in p.invoice_ids}))
    customers = _by_id(session, Customer, {p.customer_id for p in [*plans, *lapsing]})
    out: list[PlanNotice] = []
    keyed: list[tuple[str, PlanNotice]] = []
    for plan in plans:
        rows = instalments[plan.id]
        by_pos = {r.position: r for r in rows}
        customer = customers[plan.customer_id]
        paid = paid_towards(plan, opened)
        state = PlanState(plan.id, plan.total_cents, plan.reminder_days_before, plan.missed_after_days,
                          plan.broken_after_days, tuple(_state(r) for r in rows))  # fmt: skip
        day = decide_day(state, paid, as_of)

        def notice(kind: str, pos: int | None, cents: int, plan: Arrangement = plan,
                   customer: Customer = customer) -> PlanNotice:  # fmt: skip
            return PlanNotice(kind, plan.id, customer.id, customer.name, customer.email, pos, cents, plan.currency)

        out += [notice("instalment_paid", pos, by_pos[pos].amount_cents) for pos in day.paid]
        if day.completed:
            out.append(notice("arrangement_completed", None, plan.total_cents))
            continue
        now = {i.position: i for i in day.instalments}
        for pos in day.reminders:
            keyed.append((instalment_key("instalment_reminder", by_pos[pos].id),
                          notice("instalment_reminder", pos, now[pos].amount_cents - now[pos].paid_cents)))  # fmt: skip
        for pos in day.missed:
            keyed.append((instalment_key("instalment_missed", by_pos[pos].id),
                          notice("instalment_missed", pos, now[pos].amount_cents - now[pos].paid_cents)))  # fmt: skip
        if day.broken is not None:
            keyed.append((f"arrangement_broken:{plan.id}",
                          notice("arrangement_broken", day.broken, plan.total_cents - max(0, paid))))  # fmt: skip
    known = outbox.existing_keys(session, [key for key, _ in keyed])
    out += [n for key, n in keyed if key not in known]
    for plan in lapsing:
        customer = customers[plan.customer_id]
        out.append(PlanNotice("hold_lapsed", plan.id, customer.id, customer.name, customer.email, None,
                              plan.total_cents, plan.currency))  # fmt: skip
    return out


def _apply_paid(session: Session, plan: Arrangement, rows: list[ArrangementInstalment], day: Day, paid: int,
                as_of: dt.date, summary: DaySummary) -> bool:  # fmt: skip
    """Write what ``decide_day`` found of the money: the instalments' paid amounts, an event for each
    newly paid one, and the completion; ``True`` when the plan is complete (its hold to be ended)."""
    by_pos = {r.position: r for r in rows}
    for row, now in zip(rows, day.instalments, strict=True):
        row.paid_cents = now.paid_cents
        if now.status == "paid" and row.status != "paid":
            row.paid_on = as_of
        elif now.status != "paid":
            row.paid_on = None
        row.status = now.status
    plan.paid_cents = max(0, paid)
    for pos in day.paid:
        summary.paid += 1
        record(session, plan.org_id, "arrangement.instalment_paid", plan, instalment=pos,
               amount_cents=by_pos[pos].amount_cents, as_of=as_of.isoformat())  # fmt: skip
    if not day.completed:
        return False
    plan.status = "completed"
    plan.ended_on = as_of
    summary.completed += 1
    record(session, plan.org_id, "arrangement.completed", plan, paid_cents=paid, as_of=as_of.isoformat())
    return True


def settle_paid(session: Session, org_id: str, customer_ids: Sequence[str], as_of: dt.date) -> DaySummary:
    """Money just arrived for these customers (a provider's verdict, a bank statement, a payment
    registered by hand): record, in the caller's transaction, which of their running plans'
    instalments it paid and which plans it completed, at once rather than on the next run. The
    plans are locked first, so this and a run (or two payments) record each instalment once; a plan
    a run holds right now is passed over (``SKIP LOCKED``: no lock-order deadlock with the run), and
    that run or the next records it."""
    summary = DaySummary()
    if not customer_ids:
        return summary
    plans = list(
        session.scalars(
            select(Arrangement)
            .where(Arrangement.org_id == org_id, Arrangement.customer_id.in_(sorted(set(customer_ids))),
                   Arrangement.status == "accepted")
            .order_by(Arrangement.id)
            .with_for_update(skip_locked=True)
        )
    )  # fmt: skip
    if not plans:
        return summary
    session.flush()  # the caller's allocations, before the open amounts are read
    instalments = instalments_of(session, [p.id for p in plans])
    opened = open_cents(session, sorted({i for p in plans for i in p.invoice_ids}))
    done = []
    for plan in plans:
        rows = instalments[plan.id]
        paid = paid_towards(plan, opened)
        state = PlanState(plan.id, plan.total_cents, plan.reminder_days_before, plan.missed_after_days,
                          plan.broken_after_days, tuple(_state(r) for r in rows))  # fmt: skip
        if _apply_paid(session, plan, rows, decide_day(state, paid, as_of), paid, as_of, summary):
            done.append(plan)
    _release(session, done, as_of)
    return summary


def _state(row: ArrangementInstalment) -> InstalmentState:
    return InstalmentState(row.id, row.position, row.due_date, row.amount_cents, row.paid_cents, row.status,
                           row.reminded_on, row.missed_on)  # fmt: skip


def _claim_days(session: Session, ids: list[str], column: str, as_of: dt.date) -> set[str]:
    """Set ``column`` to ``as_of`` where it is still empty; the ids this run set (one statement)."""
    if not ids:
        return set()
    col = getattr(ArrangementInstalment, column)
    stmt = (
        update(ArrangementInstalment)
        .where(ArrangementInstalment.id.in_(ids), col.is_(None))
        .values({column: as_of})
        .returning(ArrangementInstalment.id)
        .execution_options(synchronize_session=False)
    )
    return set(session.scalars(stmt))


def _rehold(session: Session, plans: Sequence[Arrangement], instalments: dict[str, list[ArrangementInstalment]],
            as_of: dt.date) -> None:  # fmt: skip
    """While a plan holds its invoices are not dunned, whatever paused or resumed them since (a promise
    or an extension asked in the portal, ``/resume``): a run puts the plan's hold back before the
    dunning claims (one query a batch). To dun them again, cancel the plan."""
    ids = sorted({i for p in plans for i in p.invoice_ids})
    if not ids:
        return
    until = {i: hold_until(p, instalments[p.id]) for p in plans for i in p.invoice_ids}
    loose = session.scalars(
        select(Invoice)
        .where(Invoice.id.in_(ids), Invoice.status == "open",
               (Invoice.pause_reason.is_(None)) | (Invoice.pause_reason != PAUSE_REASON))
        .order_by(Invoice.id)
        .with_for_update()
    ).all()  # fmt: skip
    if not loose:
        return
    customers = _by_id(session, Customer, {i.customer_id for i in loose})
    books: dict[str, PolicyBook] = {}
    for inv in loose:
        book = books.get(inv.org_id)
        if book is None:
            book = books[inv.org_id] = PolicyBook.load(session, inv.org_id, customers.values())
        inv.paused_until = max(until[inv.id], as_of + dt.timedelta(days=1))
        inv.pause_reason = PAUSE_REASON
        schedule(inv, book.policy_for(customers[inv.customer_id]))


def _extend_hold(session: Session, plans: Sequence[Arrangement], as_of: dt.date) -> None:
    """After a missed instalment's reminder the invoices stay held at least until the plan can
    break (runs missed for days may have sent the reminder late)."""
    until = {i: as_of + dt.timedelta(days=p.broken_after_days + 1) for p in plans for i in p.invoice_ids}
    for inv in _held(session, plans):
        if (inv.paused_until or as_of) < until[inv.id]:
            inv.paused_until = until[inv.id]
            if inv.next_action_on is not None and inv.next_action_on < until[inv.id]:
                inv.next_action_on = until[inv.id]


def of_customer(session: Session, org_id: str, customer_id: str, limit: int = 10) -> list[Arrangement]:
    return list(
        session.scalars(
            select(Arrangement)
            .where(Arrangement.org_id == org_id, Arrangement.customer_id == customer_id)
            .order_by(Arrangement.created_at.desc(), Arrangement.id.desc())
            .limit(limit)
        )
    )

