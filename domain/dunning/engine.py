"""One dunning run: plan what is due into the outbox, then deliver the outbox.

Planning works in batches. A batch claims due invoices through the partial
index on ``next_action_on`` (PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so two
runs never take the same invoice; SQLite: ``BEGIN IMMEDIATE``, one writer at a
time), takes every other due invoice of the same customers with them, asks the
pure rules what each needs, and writes in one transaction: the actions (unique
per invoice and step), one message per customer, fees, costs, interest and the
new ``next_action_on``. Every invoice a batch touches leaves the due set, so
the loop ends and memory stays flat.

Delivery comes after commit. Each pending message is locked, handed to the
transport and marked sent in its own transaction; a failure leaves it pending
with a growing back-off. A crash between planning and delivery leaves pending
rows, which the next run delivers.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from domain.dunning.messages import (
    Composer,
    CostsNotice,
    DeliveryError,
    MessageContext,
    MessageLine,
    Transport,
)
from domain.dunning.rules import Decision, Track, advance, strength
from domain.events import record
from domain.law import collection_costs, earliest_costs_date, statutory_interest
from domain.law.interest import InterestKind, InterestResult, RateUnavailableError
from domain.models import (
    Customer,
    Document,
    DunningAction,
    Invoice,
    Organisation,
    OutboxMessage,
    Policy,
    Task,
    utcnow,
)
from domain.policies import choose, org_policies, profile_of, steps_of
from domain.statement import split_open

EMAIL_KINDS = ("reminder", "statement_reminder", "final_reminder", "formal_notice", "collection_handover")
LETTER_KINDS = ("formal_notice", "collection_handover")
MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class PlannedMessage:
    """One line of a run's plan: what one customer gets."""

    org_id: str
    customer_id: str
    customer_name: str
    kind: str
    channel: str
    to: str | None
    invoices: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]  # (invoice number, step kind)


@dataclass
class RunSummary:
    examined: int = 0
    messages: int = 0
    tasks: int = 0
    letters: int = 0
    skipped: int = 0
    failed: int = 0
    delivered: int = 0
    costs_charged: int = 0
    plan: list[PlannedMessage] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"examined {self.examined} invoices, {self.messages} messages, {self.tasks} tasks, "
            f"{self.letters} letters, {self.skipped} steps skipped, {self.delivered} delivered, "
            f"{self.failed} failed"
        )


@dataclass
class _Acted:
    invoice: Invoice
    decision: Decision


def _track(invoice: Invoice, customer: Customer) -> Track:
    not_before = None
    if customer.kind == "consumer" and invoice.costs_due_on is not None and invoice.costs_cents == 0:
        not_before = invoice.costs_due_on
    return Track(
        status=invoice.status,
        anchor=invoice.dunning_anchor or invoice.due_date,
        position=invoice.dunning_step,
        paused_until=invoice.paused_until,
        not_before=not_before,
    )


def _charge(invoice: Invoice, *, fees: int = 0, costs: int = 0, interest: int | None = None) -> None:
    """Add fees or costs, or set interest, keeping ``open_cents`` what is still due."""
    invoice.fees_cents += fees
    invoice.costs_cents += costs
    invoice.open_cents += fees + costs
    if interest is not None:
        invoice.open_cents += interest - invoice.interest_cents
        invoice.interest_cents = interest


def _update_interest(invoice: Invoice, customer: Customer, as_of: dt.date) -> InterestResult | None:
    """Statutory interest on the open principal from the day after the due date to ``as_of``."""
    principal, _ = split_open(invoice)
    kind: InterestKind = "consumer" if customer.kind == "consumer" else "commercial"
    try:
        result = statutory_interest(principal, invoice.due_date + dt.timedelta(days=1), as_of, kind)
    except RateUnavailableError:
        return None
    if result.interest_cents > invoice.interest_cents:
        _charge(invoice, interest=result.interest_cents)
        invoice.interest_as_of = as_of
    return result


def _spread(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` cents over ``weights`` proportionally, exactly (largest remainder)."""
    whole = sum(weights)
    if whole <= 0:
        return [0 for _ in weights]
    shares = [total * w // whole for w in weights]
    order = sorted(range(len(weights)), key=lambda i: -(total * weights[i] % whole))
    for i in order[: total - sum(shares)]:
        shares[i] += 1
    return shares


def _costs_for(invoices: list[Invoice], org: Organisation) -> list[int]:
    """WIK costs over the customer's principal taken together, spread over the invoices.

    Several invoices of one debtor in one notice are one claim: the scale is
    applied to their sum, not to each (which would multiply the minimum).
    """
    principals = [split_open(inv)[0] for inv in invoices]
    total = collection_costs(sum(principals), vat_uplift=org.vat_uplift_on_costs)
    return _spread(total, principals)


class Planner:
    """Plans one batch of customers. Caches policies per organisation for the run."""

    def __init__(self, session: Session, as_of: dt.date, composer: Composer, summary: RunSummary) -> None:
        self.session, self.as_of, self.composer, self.summary = session, as_of, composer, summary
        self._policies: dict[str, list[Policy]] = {}
        self._orgs: dict[str, Organisation] = {}

    def policy(self, customer: Customer) -> Policy | None:
        policies = self._policies.get(customer.org_id)
        if policies is None:
            policies = self._policies[customer.org_id] = org_policies(self.session, customer.org_id)
        needs_profile = any(p.applies_to for p in policies if not p.is_default) and not customer.policy_id
        return choose(policies, customer, profile_of(self.session, customer) if needs_profile else None)

    def org(self, org_id: str) -> Organisation:
        org = self._orgs.get(org_id)
        if org is None:
            org = self._orgs[org_id] = self.session.get_one(Organisation, org_id)
        return org

    def customer(self, customer: Customer, invoices: list[Invoice]) -> None:
        """Everything one customer's due invoices need on ``as_of``."""
        as_of = self.as_of
        policy = self.policy(customer)
        steps = steps_of(policy)
        org = self.org(customer.org_id)
        self._charge_consumer_costs(customer, invoices, org)
        acted: list[_Acted] = []
        for invoice in invoices:
            self.summary.examined += 1
            invoice.policy_id = policy.id if policy is not None else None
            track, decision = advance(_track(invoice, customer), steps, as_of)
            if decision.pause_lapsed:
                record(self.session, invoice.org_id, "invoice.pause_lapsed", invoice,
                       paused_until=invoice.paused_until.isoformat() if invoice.paused_until else None)
                invoice.paused_until = None
                invoice.pause_reason = None
            invoice.dunning_anchor = track.anchor
            invoice.dunning_step = track.position
            invoice.next_action_on = self._next(invoice, customer, decision.next_action_on)
            if decision.reached is not None:
                acted.append(_Acted(invoice, decision))
        if acted:
            self._act(org, customer, acted)

    def _next(self, invoice: Invoice, customer: Customer, step_date: dt.date | None) -> dt.date | None:
        """The next day to look at this invoice: its next step, or the day its costs fall due."""
        dates = [d for d in (step_date,) if d is not None]
        if (
            customer.kind == "consumer"
            and invoice.costs_due_on
            and invoice.costs_cents == 0
            and invoice.status == "open"
        ):
            dates.append(invoice.costs_due_on)
        later = [d for d in dates if d > self.as_of]
        return min(later) if later else None

    def _charge_consumer_costs(self, customer: Customer, invoices: list[Invoice], org: Organisation) -> None:
        """A consumer's costs, once the fourteen-day letter's term has passed (art. 6:96 lid 6 BW)."""
        if customer.kind != "consumer":
            return
        ripe = [
            inv
            for inv in invoices
            if inv.status == "open"
            and inv.costs_cents == 0
            and inv.costs_due_on is not None
            and inv.costs_due_on <= self.as_of
            and (inv.paused_until is None or inv.paused_until <= self.as_of)
        ]
        if not ripe:
            return
        for inv, costs in zip(ripe, _costs_for(ripe, org), strict=True):
            _charge(inv, costs=costs)
            _update_interest(inv, customer, self.as_of)
            record(self.session, inv.org_id, "invoice.costs_charged", inv, costs_cents=costs)
            self.summary.costs_charged += 1

    def _act(self, org: Organisation, customer: Customer, acted: list[_Acted]) -> None:
        session, as_of = self.session, self.as_of
        reached = [a.decision.reached for a in acted if a.decision.reached is not None]
        calls = any(s.kind == "call_task" for s in reached)
        # A call is a task, not words to the debtor: when another invoice reaches a step that
        # is mailed on the same day, that e-mail still goes out (and the call becomes a task).
        strongest = max([s for s in reached if s.kind != "call_task"] or reached, key=lambda s: strength(s.kind))
        kind = strongest.kind
        costs_notice: CostsNotice | None = None
        interest: list[InterestResult] = []
        for a in acted:
            step = a.decision.reached
            assert step is not None
            if step.fee_cents:
                _charge(a.invoice, fees=step.fee_cents)
        notice = [a.invoice for a in acted if a.decision.reached and a.decision.reached.kind == "formal_notice"]
        if notice:
            costs_notice = self._formal_notice(org, customer, notice)
        for a in acted:
            if a.invoice.notice_sent_on is not None or a.decision.reached.kind == "collection_handover":  # type: ignore[union-attr]
                result = _update_interest(a.invoice, customer, as_of)
                if result is not None and result.interest_cents:
                    interest.append(result)
        handover = [a.invoice for a in acted if a.decision.reached and a.decision.reached.kind == "collection_handover"]
        if handover and customer.kind == "business":
            uncharged = [inv for inv in handover if inv.costs_cents == 0]
            for inv, costs in zip(uncharged, _costs_for(uncharged, org), strict=True):
                _charge(inv, costs=costs)

        lines = [
            MessageLine.of(a.invoice, as_of, a.decision.reached.kind if a.decision.reached else None) for a in acted
        ]
        statement = self._statement(customer, {a.invoice.id: a for a in acted})
        channel = "task" if kind == "call_task" else (strongest.channel if kind not in EMAIL_KINDS else "email")
        if kind in EMAIL_KINDS and strongest.channel == "letter":
            channel = "letter"
        message = OutboxMessage(
            org_id=org.id,
            customer_id=customer.id,
            channel=channel,
            kind=kind,
            status="pending",
            to_address=customer.email if channel == "email" else None,
            attempts=0,
        )
        session.add(message)
        session.flush()
        ctx = MessageContext(
            org=org,
            customer=customer,
            kind=kind,
            as_of=as_of,
            lines=lines,
            statement=statement,
            portal_url=self.composer.portal_url(session, customer) if channel == "email" else "",
            costs_notice=costs_notice,
            interest=interest,
            skipped_kinds=sorted({s.kind for a in acted for s in a.decision.skipped}, key=strength),
        )
        if channel == "email":
            rendered = self.composer.email(ctx)
            message.subject, message.body_text, message.body_html = rendered.subject, rendered.text, rendered.html
            if not customer.email:
                message.status = "failed"
                message.last_error = "the customer has no e-mail address"
                self.summary.failed += 1
            else:
                self.summary.messages += 1
        else:
            message.status = "sent"
            message.sent_at = utcnow()
        if calls:
            self._task(customer, acted, "call_task", message)
        if kind in LETTER_KINDS or channel == "letter":
            letter = self.composer.letter(ctx)
            session.add(
                Document(
                    org_id=org.id,
                    customer_id=customer.id,
                    invoice_id=acted[0].invoice.id if len(acted) == 1 else None,
                    kind=kind,
                    title=letter.subject,
                    html=letter.html,
                )
            )
            self.summary.letters += 1
            if channel == "letter":
                message.subject, message.body_text, message.body_html = letter.subject, letter.text, letter.html
        if kind == "collection_handover":
            for inv in handover:
                inv.status = "in_collection"
                inv.next_action_on = None
                record(session, org.id, "invoice.handed_over", inv)
            self._task(customer, [a for a in acted if a.invoice in handover], "collection_handover", message)

        for a in acted:
            step = a.decision.reached
            assert step is not None
            for skipped in a.decision.skipped:
                session.add(
                    DunningAction(
                        org_id=org.id,
                        invoice_id=a.invoice.id,
                        customer_id=customer.id,
                        step_key=skipped.key,
                        step_kind=skipped.kind,
                        status="skipped",
                        planned_on=as_of,
                        message_id=None,
                    )
                )
                self.summary.skipped += 1
            session.add(
                DunningAction(
                    org_id=org.id,
                    invoice_id=a.invoice.id,
                    customer_id=customer.id,
                    step_key=step.key,
                    step_kind=step.kind,
                    status="planned",
                    planned_on=as_of,
                    message_id=message.id,
                )
            )
        record(
            session,
            org.id,
            f"dunning.{kind}",
            customer,
            message_id=message.id,
            channel=channel,
            invoices=[a.invoice.number for a in acted],
            skipped=[[a.invoice.number, s.kind] for a in acted for s in a.decision.skipped],
        )
        self.summary.plan.append(
            PlannedMessage(
                org_id=org.id,
                customer_id=customer.id,
                customer_name=customer.name,
                kind=kind,
                channel=channel,
                to=message.to_address,
                invoices=tuple(a.invoice.number for a in acted),
                skipped=tuple((a.invoice.number, s.kind) for a in acted for s in a.decision.skipped),
            )
        )

    def _formal_notice(self, org: Organisation, customer: Customer, invoices: list[Invoice]) -> CostsNotice:
        """Ingebrekestelling. Businesses are charged the WIK costs now; consumers only after
        the fourteen-day letter's term, which this notice is (art. 6:96 lid 6 BW)."""
        amounts = _costs_for(invoices, org)
        for inv in invoices:
            inv.notice_sent_on = self.as_of
        if customer.kind == "consumer":
            due = earliest_costs_date(self.as_of)
            for inv in invoices:
                inv.costs_due_on = due
                inv.next_action_on = self._next(inv, customer, inv.next_action_on)
            return CostsNotice(sum(amounts), invoices[0].currency, due, already_charged=False)
        for inv, costs in zip(invoices, amounts, strict=True):
            if inv.costs_cents == 0:
                _charge(inv, costs=costs)
        return CostsNotice(sum(amounts), invoices[0].currency, self.as_of, already_charged=True)

    def _statement(self, customer: Customer, acted: dict[str, _Acted]) -> list[MessageLine]:
        rows = self.session.scalars(
            select(Invoice)
            .where(
                Invoice.org_id == customer.org_id,
                Invoice.customer_id == customer.id,
                Invoice.status.in_(("open", "disputed", "in_collection")),
                Invoice.open_cents > 0,
            )
            .order_by(Invoice.due_date, Invoice.number)
        )
        return [
            MessageLine.of(
                inv,
                self.as_of,
                acted[inv.id].decision.reached.kind  # type: ignore[union-attr]
                if inv.id in acted
                else None,
            )
            for inv in rows
        ]

    def _task(self, customer: Customer, acted: list[_Acted], kind: str, message: OutboxMessage) -> None:
        numbers = ", ".join(a.invoice.number for a in acted)
        total = sum(a.invoice.open_cents for a in acted)
        currency = acted[0].invoice.currency if acted else ""
        title = (
            f"Call {customer.name} about {numbers} ({currency} {total // 100}.{total % 100:02d} open)"
            if kind == "call_task"
            else f"Hand over {customer.name} to the collection agency: {numbers}"
        )
        self.session.add(
            Task(
                org_id=customer.org_id,
                customer_id=customer.id,
                invoice_id=acted[0].invoice.id if len(acted) == 1 else None,
                message_id=message.id,
                kind="call" if kind == "call_task" else kind,
                title=title,
                status="open",
                due_on=self.as_of,
                note=None,
            )
        )
        self.summary.tasks += 1


def _due_filter(as_of: dt.date, org_id: str | None) -> list[Any]:
    conds: list[Any] = [Invoice.status == "open", Invoice.next_action_on <= as_of]
    if org_id is not None:
        conds.append(Invoice.org_id == org_id)
    return conds


def plan_batch(
    session: Session, as_of: dt.date, org_id: str | None, composer: Composer, summary: RunSummary, batch_size: int
) -> int:
    """Claim and plan one batch of customers with due invoices; the number of invoices claimed."""
    due = _due_filter(as_of, org_id)
    claimed = (
        session.execute(
            select(Invoice.customer_id)
            .where(*due)
            .order_by(Invoice.next_action_on, Invoice.id)
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        )
        .scalars()
        .all()
    )
    if not claimed:
        return 0
    customer_ids = sorted(set(claimed))
    invoices = session.scalars(
        select(Invoice)
        .where(*due, Invoice.customer_id.in_(customer_ids))
        .order_by(Invoice.customer_id, Invoice.due_date, Invoice.id)
        .with_for_update(skip_locked=True)
    ).all()
    customers = {c.id: c for c in session.scalars(select(Customer).where(Customer.id.in_(customer_ids)))}
    by_customer: dict[str, list[Invoice]] = defaultdict(list)
    for inv in invoices:
        by_customer[inv.customer_id].append(inv)
    planner = Planner(session, as_of, composer, summary)
    for cid in customer_ids:
        if by_customer.get(cid):
            planner.customer(customers[cid], by_customer[cid])
    session.flush()
    return len(invoices)


def plan(
    factory: sessionmaker[Session],
    *,
    as_of: dt.date,
    composer: Composer,
    org_id: str | None = None,
    dry_run: bool = False,
    batch_size: int = 500,
    progress: Callable[[int], None] | None = None,
) -> RunSummary:
    """Plan every action due on or before ``as_of``. A dry run does it all and rolls it back."""
    summary = RunSummary()
    if dry_run:
        with factory() as session:
            while plan_batch(session, as_of, org_id, composer, summary, batch_size):
                pass
            session.rollback()
        return summary
    while True:
        with factory() as session:
            n = plan_batch(session, as_of, org_id, composer, summary, batch_size)
            session.commit()
        if not n:
            return summary
        if progress is not None:
            progress(n)


def _backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(minutes=min(2**attempts, 360))


def deliver(
    factory: sessionmaker[Session],
    transport: Transport,
    *,
    default_sender: str,
    org_id: str | None = None,
    now: Callable[[], dt.datetime] = utcnow,
    summary: RunSummary | None = None,
    limit: int | None = None,
) -> RunSummary:
    """Send pending e-mail, one locked message per transaction; nothing is marked sent unaccepted.

    Which messages are pending is read once per round, oldest first (ids only), not
    once per message: a per-message ``ORDER BY … LIMIT 1`` rescans every pending
    message each time, and delivery turns quadratic. Each candidate is then locked
    and checked again in its own transaction, so a message that another run took
    or delivered meanwhile is passed over; a new round picks up what a concurrent
    run planned during this one.
    """
    summary = summary or RunSummary()
    senders: dict[str, str] = {}
    tried: set[str] = set()
    sent = 0

    def deliverable() -> list[Any]:
        conds: list[Any] = [
            OutboxMessage.status == "pending",
            OutboxMessage.channel == "email",
            or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now()),
        ]
        if org_id is not None:
            conds.append(OutboxMessage.org_id == org_id)
        return conds

    while True:
        with factory() as session:
            ids = session.scalars(
                select(OutboxMessage.id).where(*deliverable()).order_by(OutboxMessage.created_at, OutboxMessage.id)
            ).all()
        candidates = [i for i in ids if i not in tried]
        if not candidates:
            return summary
        for message_id in candidates:
            if limit is not None and sent >= limit:
                return summary
            tried.add(message_id)
            with factory() as session:
                message = session.scalar(
                    select(OutboxMessage)
                    .where(OutboxMessage.id == message_id, *deliverable())
                    .with_for_update(skip_locked=True)
                )
                if message is None:
                    continue
                sender = senders.get(message.org_id)
                if sender is None:
                    org = session.get_one(Organisation, message.org_id)
                    sender = senders[message.org_id] = org.mail_from or default_sender
                try:
                    transport.send(
                        message_id=message.id,
                        sender=sender,
                        to=message.to_address or "",
                        subject=message.subject or "",
                        text=message.body_text or "",
                        html=message.body_html or "",
                    )
                except DeliveryError as exc:
                    message.attempts += 1
                    message.last_error = str(exc)[:2000]
                    if message.attempts >= MAX_ATTEMPTS:
                        message.status = "failed"
                    else:
                        message.next_attempt_at = now() + _backoff(message.attempts)
                    summary.failed += 1
                else:
                    message.status = "sent"
                    message.sent_at = now()
                    message.attempts += 1
                    summary.delivered += 1
                    sent += 1
                session.commit()
