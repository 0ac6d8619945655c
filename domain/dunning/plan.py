"""Stage 2 of a run: what one customer's due invoices need on ``as_of``, as data.

``plan_customer`` is a pure function: a customer, its due invoices (as
``InvoiceState`` copies, which it updates), its unsettled invoices (for the
statement; or ``None``, and ``with_statement`` adds it afterwards), its policy's
steps, the organisation's terms, the holds and the day go in; the new invoice
states, the actions, events, tasks and at most one message come out. No
database, no clock, no rendering. It is the one place that computes
``next_action_on`` in a run (through ``rules.next_action_on``) and the one place
that applies the consumer-costs rule (``costs_wait``).

The creditor's law (``OrgTerms.law``: the organisation's country, or its policy's
``law``) picks the rules: Dutch (WIK costs, the fourteen-day letter, wettelijke
(handels)rente) or Belgian (Book XIX WER for consumers: the first message on an
invoice is the free reminder whose waiting period holds damages, interest and the
hand-off back; the wet van 2 augustus 2002 for businesses: its rate and EUR 40 an
invoice).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, cast

from domain.dunning.messages import CostsNotice, MessageLine
from domain.dunning.rules import Step, Track, advance, next_action_on, strength
from domain.invoices import UNSETTLED
from domain.law import be, collection_costs, earliest_costs_date, statutory_interest
from domain.law.interest import InterestKind, InterestResult, RateUnavailableError
from domain.models import Invoice
from domain.statement import split_open

EMAIL_KINDS = ("reminder", "statement_reminder", "final_reminder", "formal_notice", "collection_handover")
LETTER_KINDS = ("formal_notice", "collection_handover")
# The kinds whose message carries the account statement (every open invoice of the customer):
# only they build it (the first reminder is about its invoices alone).
STATEMENT_KINDS = ("statement_reminder", "final_reminder", "formal_notice", "collection_handover")


@dataclass
class InvoiceState:
    """What planning reads and writes of an invoice: a plain copy, written back by ``write``."""

    id: str
    org_id: str
    customer_id: str
    number: str
    issue_date: dt.date
    due_date: dt.date
    currency: str
    amount_cents: int
    open_cents: int
    fees_cents: int
    costs_cents: int
    interest_cents: int
    interest_as_of: dt.date | None
    status: str
    payment_reference: str | None
    dunning_step: int
    dunning_anchor: dt.date | None
    next_action_on: dt.date | None
    paused_until: dt.date | None
    pause_reason: str | None
    costs_due_on: dt.date | None
    notice_sent_on: dt.date | None  # NL: the formal notice; BE consumer: the Book XIX first reminder
    policy_id: str | None
    description: str | None = None  # read, never written: the debt a Book XIX reminder describes

    @classmethod
    def of(cls, invoice: Invoice) -> InvoiceState:
        return cls(**{f.name: getattr(invoice, f.name) for f in fields(cls)})


# What ``write`` stores back of an ``InvoiceState`` (everything planning may change).
WRITTEN = (
    "open_cents",
    "fees_cents",
    "costs_cents",
    "interest_cents",
    "interest_as_of",
    "status",
    "dunning_step",
    "dunning_anchor",
    "next_action_on",
    "paused_until",
    "pause_reason",
    "costs_due_on",
    "notice_sent_on",
    "policy_id",
)


@dataclass(frozen=True)
class CustomerFacts:
    id: str
    org_id: str
    name: str
    kind: str  # business | consumer
    email: str | None
    regular_supply: bool = False  # Book XIX: a contract of regular supply (three free reminders a year)
    reminded_this_year: int = 0  # invoices first reminded earlier this calendar year (BE regular supply)


@dataclass(frozen=True)
class OrgTerms:
    id: str
    vat_uplift_on_costs: bool
    law: str = "NL"  # one of domain.organisations.COUNTRIES: picks the costs, interest and terms
    name: str = ""
    enterprise_number: str | None = None  # a Belgian reminder states it (art. XIX.2 WER)

    @property
    def belgian(self) -> bool:
        return self.law == "BE"


@dataclass(frozen=True)
class Holds:
    """What keeps a customer's track waiting this run, whatever is due."""

    messaged_today: bool = False  # a dunning message for this day is queued already


@dataclass(frozen=True)
class EventSpec:
    kind: str
    subject_type: str
    subject_id: str
    data: dict[str, Any]


@dataclass(frozen=True)
class ActionSpec:
    invoice_id: str
    step: Step
    status: str  # planned | skipped


@dataclass(frozen=True)
class TaskSpec:
    kind: str  # call | collection_handover
    title: str
    invoice_id: str | None


@dataclass(frozen=True)
class MessagePlan:
    kind: str
    channel: str  # email | letter | task | sms | email+sms (an e-mail and a text)
    template: str | None
    lines: tuple[MessageLine, ...]
    statement: tuple[MessageLine, ...]
    costs_notice: CostsNotice | None
    interest: tuple[InterestResult, ...]
    skipped_kinds: tuple[str, ...]
    invoices: tuple[str, ...]  # numbers
    skipped: tuple[tuple[str, str], ...]  # (invoice number, step kind)
    letter: bool  # a letter (a document) goes with it
    letter_invoice_id: str | None
    book_xix: be.ReminderContent | None = None  # a Belgian consumer's first reminder: what it must state
    law: str = "NL"  # the creditor's law, whose words the message uses
    statement_to_come: bool = False  # carries the statement, planned without it: ``with_statement``


@dataclass
class CustomerPlan:
    customer: CustomerFacts
    invoices: list[InvoiceState]
    events: list[EventSpec] = field(default_factory=list)
    actions: list[ActionSpec] = field(default_factory=list)
    tasks: list[TaskSpec] = field(default_factory=list)
    message: MessagePlan | None = None
    costs_charged: int = 0


def costs_wait(customer: CustomerFacts, inv: InvoiceState) -> dt.date | None:
    """The consumer-costs rule: a consumer's collection costs (NL, art. 6:96 lid 6 BW) or damages
    (BE, art. XIX.2 WER) are charged only once the term of the fourteen-day letter or of the
    first reminder has passed. The day they fall due, while they wait."""
    if customer.kind == "consumer" and inv.status == "open" and inv.costs_cents == 0:
        return inv.costs_due_on
    return None


def track_of(customer: CustomerFacts, inv: InvoiceState) -> Track:
    return Track(
        status=inv.status,
        anchor=inv.dunning_anchor or inv.due_date,
        position=inv.dunning_step,
        paused_until=inv.paused_until,
        not_before=costs_wait(customer, inv),
    )


def _charge(inv: InvoiceState, *, fees: int = 0, costs: int = 0, interest: int | None = None) -> None:
    """Add fees or costs, or set interest, keeping ``open_cents`` what is still due."""
    inv.fees_cents += fees
    inv.costs_cents += costs
    inv.open_cents += fees + costs
    if interest is not None:
        inv.open_cents += interest - inv.interest_cents
        inv.interest_cents = interest


def _principal(inv: InvoiceState) -> int:
    return split_open(cast(Invoice, inv))[0]


def _line(inv: InvoiceState, as_of: dt.date, step_kind: str | None) -> MessageLine:
    return MessageLine.of(cast(Invoice, inv), as_of, step_kind)


def _update_interest(
    inv: InvoiceState, customer: CustomerFacts, org: OrgTerms, as_of: dt.date
) -> InterestResult | None:
    """Statutory interest on the open principal from the day after the due date to ``as_of``.

    Belgium: the late-payment rate of the wet van 2 augustus 2002, simple; for a consumer it is
    the ceiling of art. XIX.4 WER and runs (from the due date on) only once the first
    reminder's waiting period has passed."""
    start = inv.due_date + dt.timedelta(days=1)
    try:
        if org.belgian:
            if customer.kind == "consumer" and (inv.costs_due_on is None or inv.costs_due_on > as_of):
                return None
            result = be.late_payment_interest(_principal(inv), start, as_of)
        else:
            kind: InterestKind = "consumer" if customer.kind == "consumer" else "commercial"
            result = statutory_interest(_principal(inv), start, as_of, kind)
    except RateUnavailableError:
        return None
    if result.interest_cents > inv.interest_cents:
        _charge(inv, interest=result.interest_cents)
        inv.interest_as_of = as_of
    return result


def spread(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` cents over ``weights`` proportionally, exactly (largest remainder)."""
    whole = sum(weights)
    if whole <= 0:
        return [0 for _ in weights]
    shares = [total * w // whole for w in weights]
    order = sorted(range(len(weights)), key=lambda i: -(total * weights[i] % whole))
    for i in order[: total - sum(shares)]:
        shares[i] += 1
    return shares


def _costs_for(invoices: list[InvoiceState], org: OrgTerms, customer: CustomerFacts) -> list[int]:
    """The costs per invoice under the creditor's law.

    NL: the WIK scale over the customer's principal taken together, spread over the
    invoices (several invoices of one debtor in one notice are one claim: the scale is
    applied to their sum, not to each, which would multiply the minimum). BE consumer:
    the damages scale of art. XIX.4 WER over the balance, the same way. BE business:
    the flat EUR 40 of art. 6 of the wet van 2 augustus 2002, for each late invoice.
    """
    principals = [_principal(inv) for inv in invoices]
    if org.belgian and customer.kind != "consumer":
        return [be.FLAT_COMPENSATION_CENTS if p > 0 else 0 for p in principals]
    if org.belgian:
        return spread(be.damages_cents(sum(principals)), principals)
    return spread(collection_costs(sum(principals), vat_uplift=org.vat_uplift_on_costs), principals)


def _event(kind: str, subject_type: str, subject_id: str, **data: Any) -> EventSpec:
    return EventSpec(kind, subject_type, subject_id, data)


def plan_customer(
    customer: CustomerFacts,
    due: list[InvoiceState],
    unsettled: Sequence[InvoiceState] | None,
    steps: Sequence[Step],
    policy_id: str | None,
    org: OrgTerms,
    as_of: dt.date,
    holds: Holds = Holds(),
) -> CustomerPlan:
    """This run's actions and at most one message for one customer (module docstring).

    ``unsettled`` (every unsettled invoice of the customer, the due ones being the same objects
    as in ``due``) is only read for a message that carries the account statement; ``None`` leaves
    that statement to ``with_statement``, so that a run reads them only for the customers whose
    message needs them (the first reminder, most of a run, does not)."""
    plan = CustomerPlan(customer, due)
    if holds.messaged_today:
        # Never two dunning messages from one morning: what fell due since waits for tomorrow.
        for inv in due:
            inv.next_action_on = as_of + dt.timedelta(days=1)
        return plan
    _charge_consumer_costs(plan, org, as_of)
    acted: list[tuple[InvoiceState, Step, tuple[Step, ...]]] = []
    for inv in due:
        inv.policy_id = policy_id
        track, decision = advance(track_of(customer, inv), steps, as_of)
        if decision.pause_lapsed:
            plan.events.append(
                _event(
                    "invoice.pause_lapsed",
                    "invoice",
                    inv.id,
                    paused_until=inv.paused_until.isoformat() if inv.paused_until else None,
                )
            )
            inv.paused_until = None
            inv.pause_reason = None
        inv.dunning_anchor = track.anchor
        inv.dunning_step = track.position
        if decision.reached is not None:
            acted.append((inv, decision.reached, decision.skipped))
    if acted:
        _act(plan, org, acted, unsettled, as_of)
    for inv in due:
        inv.next_action_on = next_action_on(
            track_of(customer, inv), steps, as_of=as_of, costs_due_on=costs_wait(customer, inv)
        )
    return plan


def _charge_consumer_costs(plan: CustomerPlan, org: OrgTerms, as_of: dt.date) -> None:
    """A consumer's costs, once the fourteen-day letter's term has passed."""
    ripe = [
        inv
        for inv in plan.invoices
        if (day := costs_wait(plan.customer, inv)) is not None
        and day <= as_of
        and (inv.paused_until is None or inv.paused_until <= as_of)
    ]
    if not ripe:
        return
    for inv, costs in zip(ripe, _costs_for(ripe, org, plan.customer), strict=True):
        _charge(inv, costs=costs)
        _update_interest(inv, plan.customer, org, as_of)
        plan.events.append(_event("invoice.costs_charged", "invoice", inv.id, costs_cents=costs))
        plan.costs_charged += 1


def _act(
    plan: CustomerPlan,
    org: OrgTerms,
    acted: list[tuple[InvoiceState, Step, tuple[Step, ...]]],
    unsettled: Sequence[InvoiceState] | None,
    as_of: dt.date,
) -> None:
    customer = plan.customer
    reached = [step for _, step, _ in acted]
    calls = any(s.kind == "call_task" for s in reached)
    # A call is a task, not words to the debtor: when another invoice reaches a step that
    # is mailed on the same day, that e-mail still goes out (and the call becomes a task).
    strongest = max([s for s in reached if s.kind != "call_task"] or reached, key=lambda s: strength(s.kind))
    kind = strongest.kind
    channel = "task" if kind == "call_task" else (strongest.channel if kind not in EMAIL_KINDS else "email")
    if kind in EMAIL_KINDS and strongest.channel in ("letter", "sms", "email+sms"):
        channel = strongest.channel
    book_xix_consumer = org.belgian and customer.kind == "consumer"
    reminded = customer.reminded_this_year
    for inv, step, _ in acted:
        fee = step.fee_cents
        if book_xix_consumer and channel != "task":
            first = inv.notice_sent_on is None and inv.due_date < as_of
            fee = be.reminder_fee_cents(
                fee, first_reminder=first, regular_supply=customer.regular_supply, earlier_this_year=reminded
            )
            reminded += first
        if fee:
            _charge(inv, fees=fee)
    # A reminder that cannot reach the consumer (an e-mail with no address) starts no waiting period.
    sends = channel == "letter" or (channel == "email" and bool(customer.email))
    book_xix = _book_xix_reminder(org, acted, channel, as_of) if book_xix_consumer and sends else None
    costs_notice = None
    notice = [inv for inv, step, _ in acted if step.kind == "formal_notice"]
    if notice:
        costs_notice = _formal_notice(customer, org, notice, as_of)
    interest: list[InterestResult] = []
    for inv, step, _ in acted:
        if inv.notice_sent_on is not None or step.kind == "collection_handover":
            result = _update_interest(inv, customer, org, as_of)
            if result is not None and result.interest_cents:
                interest.append(result)
    handover = [inv for inv, step, _ in acted if step.kind == "collection_handover"]
    if handover and customer.kind == "business":
        uncharged = [inv for inv in handover if inv.costs_cents == 0]
        for inv, costs in zip(uncharged, _costs_for(uncharged, org, customer), strict=True):
            _charge(inv, costs=costs)

    lines = tuple(_line(inv, as_of, step.kind) for inv, step, _ in acted)
    statement = _statement(lines, unsettled, as_of) if kind in STATEMENT_KINDS and unsettled is not None else ()
    numbers = ", ".join(inv.number for inv, _, _ in acted)
    if calls:
        total = sum(inv.open_cents for inv, _, _ in acted)
        currency = acted[0][0].currency
        plan.tasks.append(
            TaskSpec(
                "call",
                f"Call {customer.name} about {numbers} ({currency} {total // 100}.{total % 100:02d} open)",
                acted[0][0].id if len(acted) == 1 else None,
            )
        )
    if kind == "collection_handover":
        for inv in handover:
            inv.status = "in_collection"
            plan.events.append(_event("invoice.handed_over", "invoice", inv.id))
        plan.tasks.append(
            TaskSpec(
                "collection_handover",
                f"Hand over {customer.name} to the collection agency: {', '.join(inv.number for inv in handover)}",
                handover[0].id if len(handover) == 1 else None,
            )
        )
    skipped = tuple((inv.number, s.kind) for inv, _, skips in acted for s in skips)
    for inv, step, skips in acted:
        for s in skips:
            plan.actions.append(ActionSpec(inv.id, s, "skipped"))
        plan.actions.append(ActionSpec(inv.id, step, "planned"))
    plan.message = MessagePlan(
        kind=kind,
        channel=channel,
        template=strongest.template,
        lines=lines,
        statement=statement,
        costs_notice=costs_notice,
        interest=tuple(interest),
        skipped_kinds=tuple(sorted({s.kind for _, _, skips in acted for s in skips}, key=strength)),
        invoices=tuple(inv.number for inv, _, _ in acted),
        skipped=skipped,
        letter=kind in LETTER_KINDS or channel == "letter",
        letter_invoice_id=acted[0][0].id if len(acted) == 1 else None,
        book_xix=book_xix,
        law=org.law,
        statement_to_come=kind in STATEMENT_KINDS and unsettled is None,
    )


def _statement(
    lines: Sequence[MessageLine], unsettled: Sequence[InvoiceState], as_of: dt.date
) -> tuple[MessageLine, ...]:
    """The account statement: every unsettled invoice with something open, in the order given,
    each marked with the step it reached in this run if the message is about it."""
    step_of = {ln.invoice_id: ln.step_kind for ln in lines}
    return tuple(
        _line(inv, as_of, step_of.get(inv.id)) for inv in unsettled if inv.status in UNSETTLED and inv.open_cents > 0
    )


def with_statement(plan: CustomerPlan, unsettled: Sequence[InvoiceState], as_of: dt.date) -> None:
    """Add the account statement to a plan made with ``unsettled=None`` whose message carries it
    (``MessagePlan.statement_to_come``). ``unsettled`` as for ``plan_customer``: the due invoices
    among them are the plan's own (planned) states."""
    msg = plan.message
    if msg is not None and msg.statement_to_come:
        plan.message = replace(msg, statement=_statement(msg.lines, unsettled, as_of), statement_to_come=False)


def _book_xix_reminder(
    org: OrgTerms, acted: list[tuple[InvoiceState, Step, tuple[Step, ...]]], channel: str, as_of: dt.date
) -> be.ReminderContent | None:
    """Art. XIX.2 WER: the first message about an invoice is the consumer's free first reminder.
    Its waiting period (by channel) holds the damages, the interest and the hand-off; what it
    must state comes out as data for the words. None when every invoice had its reminder."""
    # Only a reminder of a payment that is late counts: a friendly word before the due date does not.
    first = [inv for inv, _, _ in acted if inv.notice_sent_on is None and inv.status == "open" and inv.due_date < as_of]
    if not first:
        return None
    period = be.waiting_period(as_of, be.channel_of(channel))
    for inv in first:
        inv.notice_sent_on = as_of
        inv.costs_due_on = period.damages_from
    return be.reminder_content(
        creditor_name=org.name,
        enterprise_number=org.enterprise_number,
        currency=first[0].currency,
        debts=[be.DebtLine(inv.number, inv.description, inv.issue_date, inv.due_date, inv.open_cents) for inv in first],
        sent_on=as_of,
        channel=be.channel_of(channel),
    )


def _formal_notice(customer: CustomerFacts, org: OrgTerms, invoices: list[InvoiceState], as_of: dt.date) -> CostsNotice:
    """Ingebrekestelling. Businesses are charged the costs now (NL: WIK; BE: EUR 40 an invoice);
    Dutch consumers only after the fourteen-day letter's term, which this notice is (art. 6:96
    lid 6 BW); Belgian consumers after the first reminder's waiting period (art. XIX.2 WER),
    which began with the first message about the invoice and which this notice does not restart."""
    amounts = _costs_for(invoices, org, customer)
    if org.belgian and customer.kind == "consumer":
        due = max((inv.costs_due_on for inv in invoices if inv.costs_due_on is not None), default=as_of)
        charged = all(inv.costs_cents > 0 for inv in invoices)
        shown = sum(inv.costs_cents for inv in invoices) if charged else sum(amounts)
        return CostsNotice(shown, invoices[0].currency, due, already_charged=charged)
    for inv in invoices:
        inv.notice_sent_on = as_of
    if customer.kind == "consumer":
        due = earliest_costs_date(as_of)
        for inv in invoices:
            inv.costs_due_on = due
        return CostsNotice(sum(amounts), invoices[0].currency, due, already_charged=False)
    for inv, costs in zip(invoices, amounts, strict=True):
        if inv.costs_cents == 0:
            _charge(inv, costs=costs)
    return CostsNotice(sum(amounts), invoices[0].currency, as_of, already_charged=True)
