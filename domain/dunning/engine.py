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

from sqlalchemy import Connection, Engine, and_, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from domain.dunning.messages import (
    Composer,
    CostsNotice,
    DeliveryError,
    MessageContext,
    MessageLine,
    Transport,
)
from domain.dunning.rules import Decision, Step, Track, advance, strength
from domain.events import record
from domain.ids import new_id
from domain.invoices import UNSETTLED
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
    planned: int = 0  # messages planned (one per customer acted on), kept or not in ``plan``
    plan: list[PlannedMessage] = field(default_factory=list)  # filled only when the caller asks for it

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
    """Plans one batch of customers. Caches policies and organisations for the batch.

    ``unsettled`` holds, per customer, every unsettled invoice of the batch's
    customers, read in one query (in statement order) before planning; the
    statement filters it on what is open *after* this run's fees and costs.
    Nothing in planning queries the database per customer (unless the
    organisation has policy rules that need a customer's payment profile):
    messages, tasks and actions are collected as rows and ``write`` inserts
    them, with the ORM's changes, at the end of the batch.
    """

    def __init__(
        self,
        session: Session,
        as_of: dt.date,
        composer: Composer,
        summary: RunSummary,
        unsettled: dict[str, list[Invoice]],
        keep_plan: bool = True,
    ) -> None:
        self.session, self.as_of, self.composer, self.summary = session, as_of, composer, summary
        self.unsettled = unsettled
        self.keep_plan = keep_plan
        self.messages: list[dict[str, Any]] = []
        self.tasks: list[dict[str, Any]] = []
        self.actions: list[dict[str, Any]] = []
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
        # Rows, not ORM objects: a batch writes hundreds of messages and actions, and the unit of
        # work's bookkeeping per object cost more than the rest of planning. ``write`` inserts them.
        message: dict[str, Any] = {
            "id": new_id("msg"),
            "org_id": org.id,
            "customer_id": customer.id,
            "channel": channel,
            "kind": kind,
            "status": "pending",
            "to_address": customer.email if channel == "email" else None,
            "subject": None,
            "body_text": None,
            "body_html": None,
            "attempts": 0,
            "last_error": None,
            "created_at": utcnow(),
            "sent_at": None,
        }
        self.messages.append(message)
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
            template=strongest.template,
        )
        if channel == "email":
            rendered = self.composer.email(ctx)
            message.update(subject=rendered.subject, body_text=rendered.text, body_html=rendered.html)
            if not customer.email:
                message.update(status="failed", last_error="the customer has no e-mail address")
                self.summary.failed += 1
            else:
                self.summary.messages += 1
        else:
            message.update(status="sent", sent_at=message["created_at"])
        if calls:
            self._task(customer, acted, "call_task", message["id"])
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
                message.update(subject=letter.subject, body_text=letter.text, body_html=letter.html)
        if kind == "collection_handover":
            for inv in handover:
                inv.status = "in_collection"
                inv.next_action_on = None
                record(session, org.id, "invoice.handed_over", inv)
            self._task(customer, [a for a in acted if a.invoice in handover], "collection_handover", message["id"])

        for a in acted:
            step = a.decision.reached
            assert step is not None
            for skipped in a.decision.skipped:
                self._action(a.invoice, skipped, "skipped", None)
                self.summary.skipped += 1
            self._action(a.invoice, step, "planned", message["id"])
        record(
            session,
            org.id,
            f"dunning.{kind}",
            customer,
            message_id=message["id"],
            channel=channel,
            invoices=[a.invoice.number for a in acted],
            skipped=[[a.invoice.number, s.kind] for a in acted for s in a.decision.skipped],
        )
        self.summary.planned += 1
        if not self.keep_plan:
            return
        self.summary.plan.append(
            PlannedMessage(
                org_id=org.id,
                customer_id=customer.id,
                customer_name=customer.name,
                kind=kind,
                channel=channel,
                to=message["to_address"],
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
        """Every invoice the customer still owes on, after this run's charges, by due date and number."""
        rows = [inv for inv in self.unsettled.get(customer.id, ()) if inv.status in UNSETTLED and inv.open_cents > 0]
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

    def _task(self, customer: Customer, acted: list[_Acted], kind: str, message_id: str) -> None:
        numbers = ", ".join(a.invoice.number for a in acted)
        total = sum(a.invoice.open_cents for a in acted)
        currency = acted[0].invoice.currency if acted else ""
        title = (
            f"Call {customer.name} about {numbers} ({currency} {total // 100}.{total % 100:02d} open)"
            if kind == "call_task"
            else f"Hand over {customer.name} to the collection agency: {numbers}"
        )
        self.tasks.append(
            {
                "id": new_id("tsk"),
                "org_id": customer.org_id,
                "customer_id": customer.id,
                "invoice_id": acted[0].invoice.id if len(acted) == 1 else None,
                "message_id": message_id,
                "kind": "call" if kind == "call_task" else kind,
                "title": title,
                "status": "open",
                "due_on": self.as_of,
                "note": None,
                "created_at": utcnow(),
            }
        )
        self.summary.tasks += 1

    def _action(self, invoice: Invoice, step: Step, status: str, message_id: str | None) -> None:
        self.actions.append(
            {
                "id": new_id("act"),
                "org_id": invoice.org_id,
                "invoice_id": invoice.id,
                "customer_id": invoice.customer_id,
                "step_key": step.key,
                "step_kind": step.kind,
                "status": status,
                "planned_on": self.as_of,
                "message_id": message_id,
                "created_at": utcnow(),
            }
        )

    def write(self) -> None:
        """Write the batch: the ORM's changes (invoices, events, letters), then the messages, and
        the tasks and actions that point at them. A second action for an (invoice, step) breaks
        the unique key and rolls the whole batch back."""
        session = self.session
        session.flush()
        for model, rows in ((OutboxMessage, self.messages), (Task, self.tasks), (DunningAction, self.actions)):
            if rows:
                session.execute(insert(model).execution_options(render_nulls=True), rows)
        self.messages, self.tasks, self.actions = [], [], []


def _due_filter(as_of: dt.date, org_id: str | None) -> list[Any]:
    conds: list[Any] = [Invoice.status == "open", Invoice.next_action_on <= as_of]
    if org_id is not None:
        conds.append(Invoice.org_id == org_id)
    return conds


def plan_batch(
    session: Session,
    as_of: dt.date,
    org_id: str | None,
    composer: Composer,
    summary: RunSummary,
    batch_size: int,
    *,
    keep_plan: bool = True,
) -> int:
    """Claim and plan one batch of customers with due invoices; the number of invoices claimed.

    A fixed number of queries per batch, none per customer: the claim, the due
    invoices of the claimed customers (locked), the customers, and all their
    unsettled invoices for the statements; then one write of the whole batch.
    """
    due = _due_filter(as_of, org_id)
    claimed = session.execute(
        select(Invoice.org_id, Invoice.customer_id)
        .where(*due)
        .order_by(Invoice.next_action_on, Invoice.id)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
    ).all()
    if not claimed:
        return 0
    customer_ids = sorted({cid for _, cid in claimed})
    # org_id leads the (org_id, customer_id, status) index: the batch's rows are found through it
    # instead of by filtering every due invoice.
    of_batch = [Invoice.org_id.in_(sorted({oid for oid, _ in claimed})), Invoice.customer_id.in_(customer_ids)]
    invoices = session.scalars(
        select(Invoice)
        .where(*due, *of_batch)
        .order_by(Invoice.customer_id, Invoice.due_date, Invoice.id)
        .with_for_update(skip_locked=True)
    ).all()
    customers = {c.id: c for c in session.scalars(select(Customer).where(Customer.id.in_(customer_ids)))}
    unsettled: dict[str, list[Invoice]] = defaultdict(list)
    for inv in session.scalars(
        select(Invoice)
        .where(*of_batch, Invoice.status.in_(UNSETTLED))
        .order_by(Invoice.customer_id, Invoice.due_date, Invoice.number)
    ):
        unsettled[inv.customer_id].append(inv)
    by_customer: dict[str, list[Invoice]] = defaultdict(list)
    for inv in invoices:
        by_customer[inv.customer_id].append(inv)
    planner = Planner(session, as_of, composer, summary, unsettled, keep_plan=keep_plan)
    for cid in customer_ids:
        if by_customer.get(cid):
            planner.customer(customers[cid], by_customer[cid])
    planner.write()
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
    keep_plan: bool = True,
) -> RunSummary:
    """Plan every action due on or before ``as_of``. A dry run does it all and rolls it back.

    ``keep_plan=False`` keeps only the counts, so that a run's memory does not
    grow with the number of messages it plans.
    """
    summary = RunSummary()
    if dry_run:
        with factory() as session:
            while plan_batch(session, as_of, org_id, composer, summary, batch_size, keep_plan=keep_plan):
                # Flushed, not committed: the next batch sees this one's changes; the objects can go.
                session.expunge_all()
            session.rollback()
        return summary
    while True:
        with factory() as session:
            n = plan_batch(session, as_of, org_id, composer, summary, batch_size, keep_plan=keep_plan)
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
    page_size: int = 1000,
) -> RunSummary:
    """Send pending e-mail, one locked message per transaction; nothing is marked sent unaccepted.

    Pending messages are read oldest first a page of ids at a time (keyset, so
    memory does not grow with the outbox and no page rescans what came
    before). Each is then locked and checked again in its own transaction on
    one connection, handed to the transport and marked in the same
    transaction: a message that another run took or delivered meanwhile is
    passed over, and a crash leaves at most the message being sent unmarked.
    When a round delivered something, another round picks up what a
    concurrent run planned meanwhile; a message that failed or was taken is
    not tried again in this call.
    """
    summary = summary or RunSummary()
    with factory() as session:
        bind = session.get_bind()
    if not isinstance(bind, Engine):
        raise TypeError("deliver needs a sessionmaker bound to an Engine")
    delivery = _Delivery(transport, default_sender, org_id, now, summary)
    passed: set[str] = set()  # failed or taken by another run: not again in this call
    sent = 0
    with bind.connect() as conn:
        while True:
            progressed = False
            after: Any = None
            while True:
                with conn.begin():
                    if after is None:
                        page = conn.execute(delivery.first_page, {"now": now(), "n": page_size}).all()
                    else:
                        page = conn.execute(
                            delivery.next_page, {"now": now(), "n": page_size, "at": after[0], "after": after[1]}
                        ).all()
                if not page:
                    break
                after = page[-1]
                for _, message_id in page:
                    if message_id in passed:
                        continue
                    if limit is not None and sent >= limit:
                        return summary
                    progressed = True
                    if delivery.one(conn, message_id):
                        sent += 1
                    else:
                        passed.add(message_id)
            if not progressed:
                return summary


class _Delivery:
    """The statements of a delivery, built once, and the sending of one message."""

    def __init__(
        self,
        transport: Transport,
        default_sender: str,
        org_id: str | None,
        now: Callable[[], dt.datetime],
        summary: RunSummary,
    ) -> None:
        self.transport, self.default_sender, self.now, self.summary = transport, default_sender, now, summary
        self.senders: dict[str, str] = {}
        msg = OutboxMessage
        due: list[Any] = [
            msg.status == "pending",
            msg.channel == "email",
            or_(msg.next_attempt_at.is_(None), msg.next_attempt_at <= bindparam("now")),
        ]
        if org_id is not None:
            due.append(msg.org_id == org_id)
        pages = select(msg.created_at, msg.id).where(*due).order_by(msg.created_at, msg.id).limit(bindparam("n"))
        self.first_page = pages
        self.next_page = pages.where(
            or_(msg.created_at > bindparam("at"), and_(msg.created_at == bindparam("at"), msg.id > bindparam("after")))
        )
        self.lock = (
            select(msg.org_id, msg.to_address, msg.subject, msg.body_text, msg.body_html, msg.attempts)
            .where(msg.id == bindparam("mid"), *due)
            .with_for_update(skip_locked=True)
        )
        self.mark_sent = (
            update(msg)
            .where(msg.id == bindparam("mid"))
            .values(status="sent", sent_at=bindparam("at"), attempts=bindparam("attempts"))
        )

    def sender(self, conn: Connection, org_id: str) -> str:
        sender = self.senders.get(org_id)
        if sender is None:
            mail_from = conn.execute(select(Organisation.mail_from).where(Organisation.id == org_id)).scalar()
            sender = self.senders[org_id] = mail_from or self.default_sender
        return sender

    def one(self, conn: Connection, message_id: str) -> bool:
        """Lock one message, send it, record the outcome, commit. True if it was sent."""
        with conn.begin():
            row = conn.execute(self.lock, {"mid": message_id, "now": self.now()}).first()
            if row is None:
                return False
            attempts = row.attempts + 1
            try:
                self.transport.send(
                    message_id=message_id,
                    sender=self.sender(conn, row.org_id),
                    to=row.to_address or "",
                    subject=row.subject or "",
                    text=row.body_text or "",
                    html=row.body_html or "",
                )
            except DeliveryError as exc:
                values: dict[str, Any] = {"attempts": attempts, "last_error": str(exc)[:2000]}
                if attempts >= MAX_ATTEMPTS:
                    values["status"] = "failed"
                else:
                    values["next_attempt_at"] = self.now() + _backoff(attempts)
                conn.execute(update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values))
                self.summary.failed += 1
                return False
            conn.execute(self.mark_sent, {"mid": message_id, "at": self.now(), "attempts": attempts})
            self.summary.delivered += 1
            return True
