"""Dunning policies: which steps an overdue invoice walks, and when.

The default policy follows common Dutch practice: a friendly reminder a week
after the due date, a firmer one with the account statement at two weeks, a
phone call at three, a final reminder at four, the formal notice
(ingebrekestelling; for consumers the fourteen-day letter) at five, and the
hand-off to a collection agency at fifty days.

Which policy applies to a customer: the customer's own policy if one is set,
else the first rule of the organisation that matches (by priority: consumer or
business, a new customer with no paid history, a loyal customer who paid the
last N invoices on time, a risky one who pays a month late on average), else the
default.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from domain.dunning.rules import STEP_KINDS, Step, Track, anchor_after_pause
from domain.dunning.rules import next_action_on as rules_next_action_on
from domain.errors import ValidationError
from domain.locales import LANGUAGES
from domain.models import Customer, Invoice, Policy, PolicyStep

# ``sms``: a text message instead of the e-mail; ``email+sms``: both, for the same step (issue 18).
CHANNELS = ("email", "task", "letter", "sms", "email+sms")
DEFAULT_CHANNEL = {"call_task": "task", "collection_handover": "email"}
SEGMENTS = ("new", "loyal", "risky")

# A step's ``template`` names the words of its message: ``email/<locale>/<template>.j2`` (subject,
# intro and outro macros), which must exist in every language a customer can have.
EMAIL_TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "email"
TEMPLATE_LOCALES = LANGUAGES
# In that folder but not words to a debtor about overdue invoices: a payment's thank-you, a
# requested portal link (both need other data), and the call note, which is for the creditor.
NOT_STEP_TEMPLATES = frozenset({"thank_you", "portal_link", "call_task"}) | frozenset(
    # a payment plan's own e-mails (domain.arrangements), and the schedule they share
    {"_plan", "arrangement_accepted", "arrangement_rejected", "arrangement_broken", "instalment_reminder",
     "instalment_missed"}
)  # fmt: skip

__all__ = ["CHANNELS", "DEFAULT_STEPS", "STEP_KINDS", "StepSpec"]


@dataclass(frozen=True)
class StepSpec:
    kind: str
    days_after_due: int
    channel: str
    fee_cents: int = 0
    template: str | None = None


DEFAULT_STEPS = (
    StepSpec("reminder", 7, "email"),
    StepSpec("statement_reminder", 14, "email"),
    StepSpec("call_task", 21, "task"),
    StepSpec("final_reminder", 28, "email"),
    StepSpec("formal_notice", 35, "email"),
    StepSpec("collection_handover", 50, "email"),
)


def step_templates(folder: Path = EMAIL_TEMPLATES) -> list[str]:
    """The names a step's ``template`` may take: a ``<name>.j2`` in every language's folder."""
    per_locale = [{p.stem for p in (folder / locale).glob("*.j2")} for locale in TEMPLATE_LOCALES]
    return sorted(set.intersection(*per_locale) - NOT_STEP_TEMPLATES)


def _check_template(name: str, field: str) -> None:
    known = step_templates()
    if name in known:
        return
    paths = [f"email/{locale}/{name}.j2" for locale in TEMPLATE_LOCALES]
    files = ", ".join(paths[:-1]) + " and " + paths[-1]
    raise ValidationError(f"template {name!r} needs {files}; known templates: {', '.join(known)}", field)


def validate_steps(specs: list[StepSpec]) -> None:
    if not specs:
        raise ValidationError("a policy needs at least one step", "steps")
    previous = None
    for i, spec in enumerate(specs):
        field = f"steps[{i}]"
        if spec.kind not in STEP_KINDS:
            raise ValidationError(f"kind must be one of {', '.join(STEP_KINDS)}", f"{field}.kind")
        if spec.channel not in CHANNELS:
            raise ValidationError(f"channel must be one of {', '.join(CHANNELS)}", f"{field}.channel")
        if not -60 <= spec.days_after_due <= 730:
            raise ValidationError("days_after_due must be between -60 and 730", f"{field}.days_after_due")
        if previous is not None and spec.days_after_due <= previous:
            raise ValidationError("steps must come later than the step before", f"{field}.days_after_due")
        if spec.fee_cents < 0:
            raise ValidationError("fee must not be negative", f"{field}.fee")
        if spec.template is not None:
            _check_template(spec.template, f"{field}.template")
        previous = spec.days_after_due
    if "collection_handover" in [s.kind for s in specs[:-1]]:
        raise ValidationError("collection_handover ends the track and must be the last step", "steps")


def validate_applies_to(rule: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    kind = rule.get("customer_kind")
    if kind is not None:
        if kind not in ("business", "consumer"):
            raise ValidationError("customer_kind must be 'business' or 'consumer'", "applies_to.customer_kind")
        out["customer_kind"] = kind
    segment = rule.get("segment")
    if segment is not None:
        if segment not in SEGMENTS:
            raise ValidationError("segment must be 'new', 'loyal' or 'risky'", "applies_to.segment")
        out["segment"] = segment
    loyal_after = rule.get("loyal_after", 3)
    if not isinstance(loyal_after, int) or not 1 <= loyal_after <= 50:
        raise ValidationError("loyal_after must be a whole number from 1 to 50", "applies_to.loyal_after")
    if segment == "loyal":
        out["loyal_after"] = loyal_after
    risky_after = rule.get("risky_after_days", 30)
    if not isinstance(risky_after, int) or not 1 <= risky_after <= 365:
        raise ValidationError("risky_after_days must be a whole number from 1 to 365", "applies_to.risky_after_days")
    if segment == "risky":
        out["risky_after_days"] = risky_after
    unknown = set(rule) - {"customer_kind", "segment", "loyal_after", "risky_after_days"}
    if unknown:
        raise ValidationError(f"unknown rule field {sorted(unknown)[0]!r}", f"applies_to.{sorted(unknown)[0]}")
    return out


def replace_steps(policy: Policy, specs: list[StepSpec]) -> None:
    validate_steps(specs)
    session = object_session(policy)
    if session is not None and policy.steps:
        # Old steps go first: the new ones reuse their (policy_id, position).
        policy.steps.clear()
        session.flush()
    policy.steps = [
        PolicyStep(
            org_id=policy.org_id,
            position=i,
            kind=s.kind,
            days_after_due=s.days_after_due,
            channel=s.channel,
            fee_cents=s.fee_cents,
            template=s.template,
        )
        for i, s in enumerate(specs, start=1)
    ]


def seed_default_policy(session: Session, org_id: str) -> Policy:
    policy = Policy(org_id=org_id, name="Standard", is_default=True, priority=1000, applies_to={})
    replace_steps(policy, list(DEFAULT_STEPS))
    session.add(policy)
    session.flush()
    return policy


def steps_of(policy: Policy | None) -> list[Step]:
    if policy is None:
        return []
    return [Step(s.position, s.kind, s.days_after_due, s.channel, s.fee_cents, s.template) for s in policy.steps]


@dataclass(frozen=True)
class Profile:
    """How a customer has paid so far: what the policy rules look at."""

    kind: str
    paid_invoices: int
    on_time_streak: int  # how many of the most recent paid invoices were paid on or before the due date
    average_days_late: float = 0.0  # over the paid invoices looked at


PaidRow = tuple[dt.date | None, dt.date, str]  # (paid_on, due_date, invoice id) of a paid invoice


def _profile(kind: str, rows: Sequence[PaidRow]) -> Profile:
    """The profile from a customer's most recent paid invoices, newest first."""
    streak = 0
    for paid_on, due, _ in rows:
        if paid_on is None or paid_on > due:
            break
        streak += 1
    late = [max(0, (paid_on - due).days) for paid_on, due, _ in rows[:10] if paid_on is not None]
    average = sum(late) / len(late) if late else 0.0
    return Profile(kind=kind, paid_invoices=len(rows), on_time_streak=streak, average_days_late=average)


def _paid_history(
    session: Session, org_id: str, customer_ids: Collection[str], window: int
) -> dict[str, list[PaidRow]]:
    """The ``window`` most recent paid invoices of each customer, newest first: one query for all."""
    if not customer_ids:
        return {}
    where = (Invoice.org_id == org_id, Invoice.customer_id.in_(customer_ids), Invoice.status == "paid")
    newest_first = (Invoice.paid_on.desc(), Invoice.id.desc())
    out: dict[str, list[PaidRow]] = {cid: [] for cid in customer_ids}
    if len(customer_ids) == 1:  # one customer: a plain top-N, no window function
        stmt = select(Invoice.customer_id, Invoice.paid_on, Invoice.due_date, Invoice.id).where(*where)
        rows = session.execute(stmt.order_by(*newest_first).limit(window)).all()
    else:
        rank = func.row_number().over(partition_by=Invoice.customer_id, order_by=newest_first).label("rank")
        ranked = select(Invoice.customer_id, Invoice.paid_on, Invoice.due_date, Invoice.id, rank).where(*where)
        sub = ranked.subquery()
        rows = session.execute(
            select(sub.c.customer_id, sub.c.paid_on, sub.c.due_date, sub.c.id)
            .where(sub.c.rank <= window)
            .order_by(sub.c.customer_id, sub.c.rank)
        ).all()
    for cid, paid_on, due, invoice_id in rows:
        out[cid].append((paid_on, due, invoice_id))
    return out


def profile_of(session: Session, customer: Customer, *, window: int = 50) -> Profile:
    rows = _paid_history(session, customer.org_id, [customer.id], window)[customer.id]
    return _profile(customer.kind, rows)


def matches(rule: dict[str, Any], profile: Profile) -> bool:
    if rule.get("customer_kind") not in (None, profile.kind):
        return False
    segment = rule.get("segment")
    if segment == "new":
        return profile.paid_invoices == 0
    if segment == "loyal":
        return profile.on_time_streak >= int(rule.get("loyal_after", 3))
    if segment == "risky":
        return profile.paid_invoices > 0 and profile.average_days_late >= int(rule.get("risky_after_days", 30))
    return True


class Debtor(Protocol):
    """What choosing a policy reads of a customer: a ``Customer``, or a row of these columns."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def policy_id(self) -> str | None: ...


def choose(policies: list[Policy], customer: Debtor, profile: Profile | None) -> Policy | None:
    """The policy for ``customer`` among its organisation's ``policies`` (see module docstring)."""
    if customer.policy_id:
        for p in policies:
            if p.id == customer.policy_id:
                return p
    ruled = sorted((p for p in policies if not p.is_default and p.applies_to), key=lambda p: (p.priority, p.id))
    for p in ruled:
        if profile is not None and matches(p.applies_to, profile):
            return p
    defaults = [p for p in policies if p.is_default]
    return defaults[0] if defaults else None


def org_policies(session: Session, org_id: str) -> list[Policy]:
    return list(session.scalars(select(Policy).where(Policy.org_id == org_id).order_by(Policy.priority, Policy.id)))


class PolicyBook:
    """An organisation's policies (with their steps), and the paid history of the customers
    asked about, loaded once: ``policy_for(customer)`` then answers without a query, for one
    invoice or a thousand. The single home of "which policy applies" (see the module docstring).

    ``paid`` tells the book of an invoice that is stored as paid while it is in use, so a later
    invoice of the same customer sees it in the profile, as a fresh query would."""

    def __init__(self, session: Session, org_id: str, policies: list[Policy], *, window: int = 50) -> None:
        self.session, self.org_id, self.policies, self.window = session, org_id, policies, window
        self.needs_profile = any(p.applies_to for p in policies if not p.is_default)
        self._history: dict[str, list[PaidRow]] = {}
        self._steps: dict[str | None, list[Step]] = {}

    @classmethod
    def load(cls, session: Session, org_id: str, customers: Iterable[Debtor] = (), *, window: int = 50) -> PolicyBook:
        book = cls(session, org_id, org_policies(session, org_id), window=window)
        book.prefetch(customers)
        return book

    def prefetch(self, customers: Iterable[Debtor]) -> None:
        """Read the paid history of ``customers`` in one query (only if a rule looks at it)."""
        if not self.needs_profile:
            return
        missing = {c.id for c in customers} - self._history.keys()
        self._history.update(_paid_history(self.session, self.org_id, missing, self.window))

    def profile(self, customer: Debtor) -> Profile:
        self.prefetch([customer])
        return _profile(customer.kind, self._history[customer.id])

    def policy_for(self, customer: Debtor) -> Policy | None:
        return choose(self.policies, customer, self.profile(customer) if self.needs_profile else None)

    def steps(self, policy: Policy | None) -> list[Step]:
        """``steps_of(policy)``, made once per policy."""
        key = policy.id if policy is not None else None
        steps = self._steps.get(key)
        if steps is None:
            steps = self._steps[key] = steps_of(policy)
        return steps

    def paid(self, customer_id: str, paid_on: dt.date, due_date: dt.date, invoice_id: str) -> None:
        rows = self._history.get(customer_id)
        if rows is None:  # not read yet: the query will see the invoice
            return
        rows.append((paid_on, due_date, invoice_id))
        # newest first as the query orders them (paid_on, then id, descending; no paid_on last)
        rows.sort(key=lambda r: (r[0] is not None, r[0] or dt.date.min, r[2]), reverse=True)
        del rows[self.window:]


def policy_for(session: Session, customer: Customer) -> Policy | None:
    return PolicyBook.load(session, customer.org_id).policy_for(customer)


def next_action_on(
    steps: Sequence[Step], *, status: str, anchor: dt.date, dunning_step: int, paused_until: dt.date | None
) -> dt.date | None:
    """The day the next of the policy's ``steps`` not yet taken falls due (None: nothing more to do).
    Computed by ``domain.dunning.rules.next_action_on``, the one place that knows."""
    return rules_next_action_on(Track(status, anchor, dunning_step, paused_until), steps)


def schedule(invoice: Invoice, policy: Policy | None) -> None:
    """Set ``next_action_on`` from the invoice's anchor and the next step not yet taken."""
    if invoice.dunning_anchor is None:
        invoice.dunning_anchor = invoice.due_date
    invoice.policy_id = policy.id if policy is not None else None
    invoice.next_action_on = next_action_on(
        steps_of(policy), status=invoice.status, anchor=invoice.dunning_anchor, dunning_step=invoice.dunning_step,
        paused_until=invoice.paused_until,
    )


def reschedule_open(session: Session, customer: Customer) -> None:
    """Look at the customer's open invoices again when its policy may have changed (its own
    policy, its kind): on the day the next step *of the policy that now applies* falls due,
    not on the day the old policy had set. A consumer's pending costs day is kept."""
    policy = policy_for(session, customer)
    invoices = session.scalars(
        select(Invoice).where(
            Invoice.org_id == customer.org_id, Invoice.customer_id == customer.id, Invoice.status == "open"
        )
    )
    for invoice in invoices:
        costs_due = invoice.costs_due_on if customer.kind == "consumer" and invoice.costs_cents == 0 else None
        schedule(invoice, policy)
        if costs_due is not None and (invoice.next_action_on is None or costs_due < invoice.next_action_on):
            invoice.next_action_on = costs_due


def end_pause(invoice: Invoice, policy: Policy | None, ended_on: dt.date) -> None:
    """Lift the pause; a step that fell inside it comes on ``ended_on`` (see ``anchor_after_pause``)."""
    anchor = invoice.dunning_anchor or invoice.due_date
    invoice.dunning_anchor = anchor_after_pause(anchor, steps_of(policy), invoice.dunning_step, ended_on)
    invoice.paused_until = None
    invoice.pause_reason = None
