"""One dunning run as a pipeline: claim, plan, write, render, deliver.

1. **claim** (``_claim``): a batch of whole customers with something due. Due
   invoices are walked through the partial index on ``next_action_on`` (keyset,
   so no batch rescans what came before); their customers are claimed, on
   PostgreSQL with ``FOR UPDATE SKIP LOCKED`` on the customer row, on SQLite
   under the single writer (the caller's ``BEGIN IMMEDIATE``). Then, and only
   then, the claimed customers' due invoices are read (locked): a customer is
   planned by exactly one run, all its due invoices together.
2. **plan** (``domain.dunning.plan.plan_customer``): pure, per customer.
3. **write** (``_write``): the batch's invoice updates, outbox rows (drafts,
   one per customer and day: ``domain.outbox.dunning_key``), tasks, actions and
   events in a few multi-row statements, then commit.
4. **render** (``render``): the drafts' words, with no transaction open, from the
   data the draft carries; stored in one statement per batch with the letters.
5. **deliver** (``deliver``): the outbox in batches claimed for this run
   (``domain.outbox.claim``); no database lock is held while the mail server
   talks; each accepted message is recorded in a tiny transaction of its own
   before the next is sent, refusals in one statement per batch.

A run holds one batch, not its plan, so its memory does not grow with the
number of due invoices.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import operator
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, and_, func, insert, or_, select
from sqlalchemy.orm import Session, sessionmaker

from domain import bulk, events, outbox, portal_links, sms
from domain import letters as letters_mod
from domain.dunning.messages import (
    Composer,
    CostsNotice,
    DeliveryError,
    MessageContext,
    MessageLine,
    Rendered,
    Transport,
)
from domain.dunning.plan import (
    WRITTEN,
    CustomerFacts,
    CustomerPlan,
    Holds,
    InvoiceState,
    MessagePlan,
    OrgTerms,
    plan_customer,
    with_statement,
)
from domain.dunning.rules import Step
from domain.ids import new_id, new_ids
from domain.invoices import UNSETTLED
from domain.law.be import ReminderContent
from domain.law.interest import Capitalisation, InterestPeriod, InterestResult
from domain.models import (
    Customer,
    Document,
    DunningAction,
    Invoice,
    Organisation,
    Policy,
    Task,
    utcnow,
)
from domain.phones import is_mobile
from domain.policies import PolicyBook

MAX_ATTEMPTS = outbox.MAX_ATTEMPTS
_STATE_COLUMNS = [getattr(Invoice, f.name) for f in dataclasses.fields(InvoiceState)]


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
    texts: int = 0  # text messages queued (channel sms or email+sms)
    texts_sent: int = 0  # text messages the provider accepted (``domain.sms_delivery``)
    texts_waiting: int = 0  # text messages held for the debtor's next 08:00-21:00 window
    rendered: int = 0
    # Seconds spent in each stage (claim + plan + write, render, deliver): what the bench reports.
    seconds: dict[str, float] = field(default_factory=lambda: {"plan": 0.0, "render": 0.0, "deliver": 0.0})
    plan: list[PlannedMessage] = field(default_factory=list)  # filled only when the caller asks for it

    def line(self) -> str:
        return (
            f"examined {self.examined} invoices, {self.messages} messages, {self.tasks} tasks, "
            f"{self.letters} letters, {self.skipped} steps skipped, {self.delivered} delivered, "
            f"{self.failed} failed"
        ) + (
            f", {self.texts} texts queued, {self.texts_sent} texts sent, {self.texts_waiting} waiting for daytime"
            if self.texts or self.texts_sent or self.texts_waiting
            else ""
        )


# --- 1. claim ---------------------------------------------------------------------------


def _due_filter(as_of: dt.date, org_id: str | None) -> list[Any]:
    conds: list[Any] = [Invoice.status == "open", Invoice.next_action_on <= as_of]
    if org_id is not None:
        conds.append(Invoice.org_id == org_id)
    return conds


@dataclass
class _Cursor:
    """Where a run's walk over the due invoices stands (keyset on ``(next_action_on, id)``)."""

    after: tuple[dt.date | None, str] | None = None
    skipped: bool = False  # a customer was locked by another run (PostgreSQL) and passed over
    restarts: int = 0


_CUSTOMERS = cast(Table, Customer.__table__)


def _claim(
    session: Session, as_of: dt.date, org_id: str | None, batch_size: int, cursor: _Cursor
) -> tuple[list[Customer], bool]:
    """Claim the customers of the next ``batch_size`` due invoices; (customers, anything left).

    The customers come as rows of their table, not ORM objects: a row reads like a ``Customer``
    (the same columns, as attributes, with the same types), and planning, signing links and the
    templates read nothing else of it; loading 10,000 instances into the session's identity map
    cost more than planning them."""
    due = _due_filter(as_of, org_id)
    walk = select(Invoice.next_action_on, Invoice.id, Invoice.customer_id).where(*due)
    if cursor.after is not None:
        day, iid = cursor.after
        walk = walk.where(or_(Invoice.next_action_on > day, and_(Invoice.next_action_on == day, Invoice.id > iid)))
    rows = session.execute(walk.order_by(Invoice.next_action_on, Invoice.id).limit(batch_size)).all()
    if not rows:
        return [], False
    cursor.after = (rows[-1][0], rows[-1][1])
    wanted = sorted({r[2] for r in rows})
    customers = session.execute(
        select(_CUSTOMERS)
        .where(bulk.among(session, _CUSTOMERS.c.id, wanted))
        .order_by(_CUSTOMERS.c.id)
        .with_for_update(skip_locked=True)
    ).all()
    if len(customers) < len(wanted):
        cursor.skipped = True
    return cast(list[Customer], customers), True


# --- 2 and 3. plan and write ----------------------------------------------------------------


class _Ids:
    """The batch's new ids, made a few hundred at a time (``domain.ids.new_ids``). One pool per
    batch, so that every id carries the time of the transaction that writes it, as ``new_id``'s."""

    def __init__(self) -> None:
        self._left: dict[str, list[str]] = {}

    def __call__(self, prefix: str) -> str:
        left = self._left.get(prefix)
        if not left:
            left = self._left[prefix] = new_ids(prefix, 256)
        return left.pop()


class _Batch:
    """One batch's plan, as rows for a few multi-row statements."""

    def __init__(self) -> None:
        self.invoices: list[tuple[Any, ...]] = []  # ``_INVOICES``' columns: what planning wrote, then the id
        self.messages: list[dict[str, Any]] = []
        self.tasks: list[dict[str, Any]] = []
        self.actions: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.renders: list[_Draft] = []
        self.ids = _Ids()


@dataclass
class _Draft:
    """A message to render: its outbox row's data and the ORM objects the templates read
    (``ctx``: the context itself, when the draft was planned in this process)."""

    message_id: str
    channel: str
    to: str | None
    org: Organisation
    customer: Customer
    render: dict[str, Any]
    ctx: MessageContext | None = None


def _states(session: Session, org_ids: list[str], customer_ids: list[str], *due: Any) -> Any:
    """The customers' unsettled invoices (``due``: only those due), in the statement's order: one
    locked read. The customers as one parameter (``bulk.among``): an ``IN`` of 500 placeholders
    is a new statement text whenever the count changes, which psycopg parses again in Python."""
    customers = bulk.among(session, Invoice.customer_id, customer_ids)
    return (
        select(*_STATE_COLUMNS)
        .where(Invoice.org_id.in_(org_ids), customers, Invoice.status.in_(UNSETTLED), *due)
        .order_by(Invoice.customer_id, Invoice.due_date, Invoice.number)
        .with_for_update()
    )


_NOT_HELD, _MESSAGED_TODAY = Holds(), Holds(messaged_today=True)


def plan_batch(
    session: Session,
    as_of: dt.date,
    org_id: str | None,
    composer: Composer,
    summary: RunSummary,
    batch_size: int,
    *,
    keep_plan: bool = True,
    cursor: _Cursor | None = None,
    claimant: outbox.Claimant | None = None,
    write: bool = True,
) -> tuple[int, list[_Draft], bool]:
    """Claim, plan and (``write``) write one batch: (invoices planned, drafts to render, more to come).

    A fixed number of queries per batch, none per customer: the claim, the customers' due
    invoices (locked), the day's messages already queued, per organisation its policies (and,
    when a policy rule looks at it, the customers' paid history in one query), the unsettled
    invoices of the customers whose message carries the account statement (locked; the first
    reminder does not, so most of a run reads only what is due), then the writes (``_write``).
    """
    cursor = cursor if cursor is not None else _Cursor()
    customers, more = _claim(session, as_of, org_id, batch_size, cursor)
    if not customers:
        return 0, [], more
    ids = [c.id for c in customers]  # in id order (the claim's)
    org_ids = sorted({c.org_id for c in customers})
    conn = session.connection()
    due: dict[str, list[InvoiceState]] = defaultdict(list)
    for r in conn.execute(_states(session, org_ids, ids, *_due_filter(as_of, org_id))).all():
        due[r.customer_id].append(InvoiceState(*r))
    for rows in due.values():
        if len(rows) > 1:
            rows.sort(key=lambda s: (s.due_date, s.id))
    keys = {cid: outbox.dunning_key(cid, as_of) for cid in ids}
    already = outbox.existing_keys(session, keys.values())
    orgs = {o.id: o for o in session.scalars(select(Organisation).where(Organisation.id.in_(org_ids)))}
    books = {
        oid: PolicyBook.load(session, oid, [c for c in customers if c.org_id == oid and c.id in due]) for oid in org_ids
    }
    reminded = _reminded_this_year(
        session, as_of, [c.id for c in customers if c.id in due and c.regular_supply and c.kind == "consumer"]
    )
    # Which policy, its steps and the creditor's terms: the same for every customer of an
    # organisation with the same own policy, unless a rule looks at the customer's history.
    chosen: dict[tuple[str, str | None], tuple[Policy | None, list[Step], OrgTerms]] = {}
    plans: list[tuple[Customer, CustomerPlan]] = []
    planned = 0
    for customer in customers:
        cid = customer.id
        invoices = due.get(cid)
        if not invoices:
            continue  # planned by another run meanwhile, or nothing due after all
        book = books[customer.org_id]
        memo = None if book.needs_profile else (customer.org_id, customer.policy_id)
        found = chosen.get(memo) if memo is not None else None
        if found is None:
            policy = book.policy_for(customer)
            found = (policy, book.steps(policy), org_terms(orgs[customer.org_id], policy))
            if memo is not None:
                chosen[memo] = found
        policy, steps, terms = found
        facts = CustomerFacts(
            cid, customer.org_id, customer.name, customer.kind, customer.email,
            regular_supply=customer.regular_supply, reminded_this_year=reminded.get(cid, 0),
        )  # fmt: skip
        plan = plan_customer(
            facts,
            invoices,
            None,  # the statement, if the message carries it, comes below
            steps,
            policy.id if policy else None,
            terms,
            as_of,
            _MESSAGED_TODAY if keys[cid] in already else _NOT_HELD,
        )
        planned += len(invoices)
        plans.append((customer, plan))
    summary.examined += planned
    _add_statements(session, as_of, [p for _, p in plans if p.message is not None and p.message.statement_to_come])
    # The batch's portal links, signed at once (their events go in with the batch's).
    # A letter by post carries the link too (printed, and as a QR code).
    mailed = [
        c
        for c, p in plans
        if write and p.message is not None and {"email", "letter"} & set(p.message.channel.split("+"))
    ]
    links = dict(zip((c.id for c in mailed), composer.links(mailed) if mailed else [], strict=True))
    texted = [c for c, p in plans if write and p.message is not None and sms.SMS in p.message.channel.split("+")]
    short = dict(zip((c.id for c in texted), composer.sms_links(texted) if texted else [], strict=True))
    batch = _Batch()
    now = utcnow()
    for customer, plan in plans:
        _collect(batch, plan, customer, orgs[customer.org_id], as_of, keys[customer.id], now, summary, keep_plan,
                 claimant, links.get(customer.id), short.get(customer.id))  # fmt: skip
    if write:
        _write(conn, batch)
    return planned, batch.renders, True


def _add_statements(session: Session, as_of: dt.date, plans: list[CustomerPlan]) -> None:
    """The account statements of the batch's messages that carry one, from one locked read of
    those customers' unsettled invoices (the due ones replaced by their planned states)."""
    if not plans:
        return
    planned = {inv.id: inv for p in plans for inv in p.invoices}
    unsettled: dict[str, list[InvoiceState]] = defaultdict(list)
    customers = sorted({p.customer.id for p in plans})
    for r in (
        session.connection().execute(_states(session, sorted({p.customer.org_id for p in plans}), customers)).all()
    ):
        unsettled[r.customer_id].append(planned.get(r.id) or InvoiceState(*r))
    for p in plans:
        with_statement(p, unsettled[p.customer.id], as_of)


def org_terms(org: Organisation, policy: Policy | None = None) -> OrgTerms:
    """The creditor's terms for planning: its law is its country's unless the policy names one."""
    law = (policy.law if policy is not None else None) or org.country or "NL"
    return OrgTerms(org.id, org.vat_uplift_on_costs, law=law, name=org.name, enterprise_number=org.enterprise_number)


def _reminded_this_year(session: Session, as_of: dt.date, customer_ids: list[str]) -> dict[str, int]:
    """How many invoices (due dates) of each customer had their first reminder earlier this calendar
    year (Book XIX: under a contract of regular supply the reminders about three due dates a year
    are free; a Belgian consumer's ``notice_sent_on`` is the day of that first reminder). One query
    for the batch, only for the regular-supply consumers in it."""
    if not customer_ids:
        return {}
    rows = session.execute(
        select(Invoice.customer_id, func.count(Invoice.id))
        .where(
            Invoice.customer_id.in_(customer_ids),
            Invoice.notice_sent_on >= dt.date(as_of.year, 1, 1),
            Invoice.notice_sent_on < as_of,
        )
        .group_by(Invoice.customer_id)
    )
    return {cid: n for cid, n in rows}


def _collect(
    batch: _Batch,
    plan: CustomerPlan,
    customer: Customer,
    org: Organisation,
    as_of: dt.date,
    key: str,
    now: dt.datetime,
    summary: RunSummary,
    keep_plan: bool,
    claimant: outbox.Claimant | None,
    link: portal_links.Link | None,
    short_link: portal_links.Link | None = None,
) -> None:
    """Turn one customer's plan into the batch's rows (``key``: its dunning message's, of the day)."""
    ids = batch.ids
    batch.invoices.extend((*_WRITTEN_OF(inv), now, inv.id) for inv in plan.invoices)
    summary.costs_charged += plan.costs_charged
    for ev in plan.events:
        batch.events.append(
            {
                "public_id": ids("evt"),
                "org_id": org.id,
                "kind": ev.kind,
                "subject_type": ev.subject_type,
                "subject_id": ev.subject_id,
                "actor": None,
                "data": ev.data,
                "occurred_at": now,
            }
        )
    msg = plan.message
    if msg is None:
        return
    # ``email+sms``: the e-mail is the step's message (its actions point at it), the text a second row.
    channel, *also = msg.channel.split("+")
    renders = channel in ("email", "letter", sms.SMS) or msg.letter
    for issued in (link, short_link):
        if issued is not None:
            batch.events.append({**portal_links.issued_event(customer, issued, now), "public_id": ids("evt")})
    url = short_link if channel == sms.SMS else link
    portal_url = url.url if url is not None else ""
    render = _encode(msg, as_of, portal_url) if renders else None
    phone, refused = _text_to(customer)
    row = outbox.row(
        id=ids("msg"),
        org_id=org.id,
        customer_id=customer.id,
        kind=msg.kind,
        channel=channel,
        key=key,
        to=customer.email if channel == "email" else (phone if channel == sms.SMS else None),
        render=render,
        status=outbox.SENT if not renders else None,
        created_at=now,
        refused=refused,
    )
    row["claimed_by"] = claimant.token if (claimant is not None and renders) else None
    batch.messages.append(row)
    drafts = [(row, channel, render, portal_url)]
    if sms.SMS in also:
        text_url = short_link.url if short_link is not None else ""
        text_render = {**_encode(msg, as_of, text_url), "letter": False}
        text_row = outbox.row(
            id=ids("msg"), org_id=org.id, customer_id=customer.id, kind=msg.kind, channel=sms.SMS, key=key + ":sms",
            to=phone, render=text_render, created_at=now, refused=refused,
        )  # fmt: skip
        text_row["claimed_by"] = claimant.token if claimant is not None else None
        batch.messages.append(text_row)
        drafts.append((text_row, sms.SMS, text_render, text_url))
    for r, r_channel, r_render, r_url in drafts if renders else ():
        ctx = MessageContext(
            org=org, customer=customer, kind=msg.kind, as_of=as_of, lines=list(msg.lines),
            statement=list(msg.statement), portal_url=r_url, costs_notice=msg.costs_notice,
            interest=list(msg.interest), skipped_kinds=list(msg.skipped_kinds), template=msg.template,
            book_xix=msg.book_xix, law=msg.law,
        )  # fmt: skip
        batch.renders.append(_Draft(r["id"], r_channel, r["to_address"], org, customer, r_render or {}, ctx))
    if sms.SMS in (channel, *also):
        if phone:
            summary.texts += 1
        else:
            summary.failed += 1
    if channel == "email":
        if customer.email:
            summary.messages += 1
        else:
            summary.failed += 1
    if msg.letter:
        summary.letters += 1
    for t in plan.tasks:
        batch.tasks.append(
            {
                "id": ids("tsk"),
                "org_id": org.id,
                "customer_id": customer.id,
                "invoice_id": t.invoice_id,
                "message_id": row["id"],
                "kind": t.kind,
                "title": _fit(t.title, 300),
                "status": "open",
                "due_on": as_of,
                "note": None,
                "created_at": now,
            }
        )
        summary.tasks += 1
    for a in plan.actions:
        batch.actions.append(
            {
                "id": ids("act"),
                "org_id": org.id,
                "invoice_id": a.invoice_id,
                "customer_id": customer.id,
                "step_key": a.step.key,
                "step_kind": a.step.kind,
                "status": a.status,
                "planned_on": as_of,
                "message_id": row["id"] if a.status == "planned" else None,
                "created_at": now,
            }
        )
        if a.status == "skipped":
            summary.skipped += 1
    batch.events.append(
        {
            "public_id": ids("evt"),
            "org_id": org.id,
            "kind": f"dunning.{msg.kind}",
            "subject_type": "customer",
            "subject_id": customer.id,
            "actor": None,
            "occurred_at": now,
            "data": {
                "message_id": row["id"],
                **({"sms_message_id": drafts[-1][0]["id"]} if sms.SMS in also else {}),
                "channel": msg.channel,
                "invoices": list(msg.invoices),
                "skipped": [list(s) for s in msg.skipped],
            },
        }
    )
    summary.planned += 1
    if keep_plan:
        summary.plan.append(
            PlannedMessage(
                org.id, customer.id, customer.name, msg.kind, msg.channel, row["to_address"], msg.invoices, msg.skipped
            )
        )


def _text_to(customer: Customer) -> tuple[str | None, str | None]:
    """Where a text to ``customer`` goes (its mobile number), or why none can (``outbox.row``'s
    ``refused``): opted out, or no mobile number on file."""
    if customer.sms_opt_out:
        return None, sms.OPTED_OUT
    if not is_mobile(customer.phone):
        return None, sms.NO_PHONE
    return customer.phone, None


_INVOICES = bulk.Update(cast(Table, Invoice.__table__), "id", (*WRITTEN, "updated_at"))
_WRITTEN_OF = operator.attrgetter(*WRITTEN)  # an invoice state's values of WRITTEN, as a tuple
_TASKS = bulk.Insert(cast(Table, Task.__table__), ("id", "org_id", "customer_id", "invoice_id", "message_id", "kind",
                                                  "title", "status", "due_on", "note", "created_at"))  # fmt: skip
_ACTIONS = bulk.Insert(cast(Table, DunningAction.__table__), ("id", "org_id", "invoice_id", "customer_id", "step_key",
                                                              "step_kind", "status", "planned_on", "message_id",
                                                              "created_at"))  # fmt: skip


def _write(conn: Connection, batch: _Batch) -> None:
    """The batch in a few multi-row statements (``domain.bulk``): invoices, outbox rows, tasks,
    actions, events (the portal links' among them). A second action for an (invoice, step), or a
    second dunning message for a customer and day, breaks a unique key and rolls the whole batch
    back. The outbox rows go first: the tasks and actions point at them."""
    _INVOICES(conn, batch.invoices)
    outbox.insert_rows(conn, batch.messages)
    _TASKS(conn, batch.tasks)
    _ACTIONS(conn, batch.actions)
    events.insert_rows(conn, batch.events)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off while one batch is planned and written, on again after.

    A batch makes tens of thousands of small objects that live until it is written (states,
    plans, rows, drafts); the collector ran over them and over the whole heap again and again,
    about a sixth of the planning stage's CPU on the bench. They are freed by reference counting
    when the batch ends; what cycles there are wait for the next collection, after the batch, so
    memory stays bounded by one batch as before. The collector is the process's: in the API's
    dry run (``GET /dunning/preview``, a handler thread) other threads' cycles wait too, one batch long.
    Left alone when it is off already (another thread's batch, or the embedding program's)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


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
    claimant: outbox.Claimant | None = None,
    render_now: bool = True,
) -> RunSummary:
    """Plan every action due on or before ``as_of`` and render it (``render_now``).

    A dry run claims and plans (nothing is written, nothing rendered) and rolls back.
    ``keep_plan=False`` keeps only the counts, so that a run's memory does not grow
    with the number of messages it plans.
    """
    summary = RunSummary()
    cursor = _Cursor()
    if dry_run:
        with factory() as session:
            while True:
                with _collector_paused():
                    _, _, more = plan_batch(
                        session,
                        as_of,
                        org_id,
                        composer,
                        summary,
                        batch_size,
                        keep_plan=keep_plan,
                        cursor=cursor,
                        write=False,
                    )
                if not more:
                    break
            session.rollback()
        return summary
    own = claimant or outbox.LocalClaimant()
    try:
        if render_now:
            recover_drafts(factory, composer, own, org_id=org_id, summary=summary)
        while True:
            started = time.perf_counter()
            with _collector_paused(), factory() as session:
                n, drafts, more = plan_batch(
                    session,
                    as_of,
                    org_id,
                    composer,
                    summary,
                    batch_size,
                    keep_plan=keep_plan,
                    cursor=cursor,
                    claimant=own,
                )
                session.commit()
            summary.seconds["plan"] += time.perf_counter() - started
            if render_now and drafts:
                render(factory, composer, drafts, summary)
            if n and progress is not None:
                progress(n)
            if not more:
                if cursor.skipped and cursor.restarts < 3:
                    # Customers another run held: walk again, what they left is still due.
                    cursor.after, cursor.skipped, cursor.restarts = None, False, cursor.restarts + 1
                    continue
                return summary
    finally:
        if claimant is None and isinstance(own, outbox.LocalClaimant):
            own.close()


# --- 4. render --------------------------------------------------------------------------------


def _enc(value: Any) -> Any:
    if isinstance(value, dt.date):
        return {"$d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$n": str(value)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _enc(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_enc(v) for v in value]
    return value


def _dec(value: Any) -> Any:
    if isinstance(value, dict):
        if "$d" in value:
            return dt.date.fromisoformat(value["$d"])
        if "$n" in value:
            return Decimal(value["$n"])
        return {k: _dec(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dec(v) for v in value]
    return value


_LINE_FIELDS = tuple(f.name for f in dataclasses.fields(MessageLine))
_LINE_DATES = frozenset(i for i, name in enumerate(_LINE_FIELDS) if name in ("issue_date", "due_date"))


def _lines_enc(lines: Sequence[MessageLine]) -> list[list[Any]]:
    """Message lines as positional rows, dates as ISO strings: the bulk of a draft, kept cheap."""
    out = []
    for ln in lines:
        row = [getattr(ln, name) for name in _LINE_FIELDS]
        for i in _LINE_DATES:
            row[i] = row[i].isoformat()
        out.append(row)
    return out


def _lines_dec(rows: list[list[Any]]) -> list[MessageLine]:
    out = []
    for row in rows:
        values = list(row)
        for i in _LINE_DATES:
            values[i] = dt.date.fromisoformat(values[i])
        out.append(MessageLine(*values))
    return out


def _encode(msg: MessagePlan, as_of: dt.date, portal_url: str) -> dict[str, Any]:
    """What rendering needs besides the organisation and the customer, as JSON."""
    return {
        "kind": msg.kind, "as_of": _enc(as_of), "template": msg.template, "portal_url": portal_url,
        "lines": _lines_enc(msg.lines), "statement": _lines_enc(msg.statement), "costs_notice": _enc(msg.costs_notice),
        "interest": _enc(msg.interest), "skipped_kinds": list(msg.skipped_kinds), "letter": msg.letter,
        "letter_invoice_id": msg.letter_invoice_id, "book_xix": _enc(msg.book_xix),
        "law": msg.law,
    }  # fmt: skip


def _interest(d: dict[str, Any]) -> InterestResult:
    return InterestResult(
        kind=d["kind"],
        principal_cents=d["principal_cents"],
        start=d["start"],
        as_of=d["as_of"],
        interest_cents=d["interest_cents"],
        periods=tuple(InterestPeriod(**p) for p in d["periods"]),
        capitalisations=tuple(Capitalisation(**c) for c in d["capitalisations"]),
    )


def context_of(render: dict[str, Any], org: Organisation, customer: Customer) -> MessageContext:
    d = _dec({k: v for k, v in render.items() if k not in ("lines", "statement")})
    notice = d["costs_notice"]
    return MessageContext(
        org=org,
        customer=customer,
        kind=d["kind"],
        as_of=d["as_of"],
        lines=_lines_dec(render["lines"]),
        statement=_lines_dec(render["statement"]),
        portal_url=d["portal_url"],
        costs_notice=CostsNotice(**notice) if notice else None,
        interest=[_interest(i) for i in d["interest"]],
        skipped_kinds=list(d["skipped_kinds"]),
        template=d["template"],
        book_xix=ReminderContent.from_dict(d["book_xix"]) if d.get("book_xix") else None,
        law=d.get("law", "NL"),
    )


def _reader(factory: sessionmaker[Session]) -> Engine:
    with factory() as session:
        bind = session.get_bind()
    if not isinstance(bind, Engine):
        raise TypeError("the dunning run needs a sessionmaker bound to an Engine")
    return bind


def _fit(text: str, limit: int) -> str:
    """A subject or title within its column: a notice about thirty invoices names them all in its
    subject, longer than the column (PostgreSQL refuses it, and the whole batch with it)."""
    return text if len(text) <= limit else text[: limit - 1].rstrip(" ,") + "…"


def render(
    factory: sessionmaker[Session], composer: Composer, drafts: Sequence[_Draft], summary: RunSummary | None = None
) -> None:
    """Render ``drafts`` with no transaction open, then store their words and letters in one
    short transaction (one statement each)."""
    started = time.perf_counter()
    results: list[dict[str, Any]] = []
    letters: list[dict[str, Any]] = []
    posts: list[dict[str, Any]] = []  # the letters' rows in the day's print batch
    now = utcnow()
    for d in drafts:
        ctx = d.ctx if d.ctx is not None else context_of(d.render, d.org, d.customer)
        words: Rendered | None = (
            composer.email(ctx) if d.channel == "email" else composer.sms(ctx) if d.channel == sms.SMS else None
        )
        if d.render.get("letter"):
            letter = composer.letter(ctx)
            doc_id = new_id("doc")
            posts.append(letters_mod.row(
                org_id=d.org.id, customer_id=d.customer.id, document_id=doc_id, message_id=d.message_id,
                kind=ctx.kind, letter_date=ctx.as_of, invoice_ids=[ln.invoice_id for ln in ctx.lines],
                invoice_numbers=[ln.number for ln in ctx.lines], created_at=now,
            ))  # fmt: skip
            letters.append(
                {
                    "id": doc_id,
                    "org_id": d.org.id,
                    "customer_id": d.customer.id,
                    "invoice_id": d.render.get("letter_invoice_id"),
                    "kind": ctx.kind,
                    "title": _fit(letter.subject, 200),
                    "html": letter.html,
                    "created_at": now,
                }
            )
            if d.channel == "letter":
                words = letter
        assert words is not None
        status = outbox.SENT if d.channel == "letter" else (outbox.PENDING if d.to else outbox.FAILED)
        results.append(
            {
                "b_id": d.message_id,
                "b_status": status,
                "b_subject": _fit(words.subject, 300),
                "b_text": words.text,
                "b_html": words.html,
                "b_sent_at": now if status == outbox.SENT else None,
            }
        )
    if not results:
        return
    with _reader(factory).connect() as conn, conn.begin():
        outbox.rendered(conn, results)
        if letters:
            conn.execute(insert(Document), letters)
            letters_mod.insert_rows(conn, posts)
    if summary is not None:
        summary.rendered += len(results)
        summary.seconds["render"] += time.perf_counter() - started


def recover_drafts(
    factory: sessionmaker[Session],
    composer: Composer,
    claimant: outbox.Claimant,
    *,
    org_id: str | None = None,
    summary: RunSummary | None = None,
    batch_size: int = 500,
) -> None:
    """Render the drafts a run that died left behind (planned and committed, never rendered)."""
    engine = _reader(factory)
    while True:
        with engine.connect() as conn, conn.begin():
            taken = outbox.claim_drafts(conn, claimant, org_id=org_id, limit=batch_size)
        if not taken:
            return
        with factory() as session:
            orgs = {o.id: o for o in session.scalars(select(Organisation).where(
                Organisation.id.in_(sorted({r.org_id for r in taken}))))}  # fmt: skip
            customers = {c.id: c for c in session.scalars(select(Customer).where(
                Customer.id.in_(sorted({r.customer_id for r in taken}))))}  # fmt: skip
            session.rollback()
        render(
            factory,
            composer,
            [
                _Draft(r.id, r.channel, r.to_address, orgs[r.org_id], customers[r.customer_id], r.render or {})
                for r in taken
            ],
            summary,
        )


# --- 5. deliver --------------------------------------------------------------------------------


def deliver(
    factory: sessionmaker[Session],
    transport: Transport,
    *,
    default_sender: str,
    org_id: str | None = None,
    now: Callable[[], dt.datetime] = utcnow,
    summary: RunSummary | None = None,
    limit: int | None = None,
    batch_size: int = 500,
    claimant: outbox.Claimant | None = None,
) -> RunSummary:
    """Send pending e-mail in batches; nothing is marked sent that the server did not accept.

    Each batch is claimed for this run in a short transaction (``outbox.claim``). The
    SMTP conversation then runs with no transaction open; each message the server
    accepted is recorded in a tiny transaction of its own before the next is sent
    (``outbox.SentRecorder``: no disk flush per message), so a crash of the process
    (kill -9 included) at any point re-sends at most the one message that was on the wire
    when it died, never one whose acceptance was recorded. Refusals and the
    release of what was not tried are recorded in one statement per batch.
    """
    summary = summary or RunSummary()
    started = time.perf_counter()
    own = claimant or outbox.LocalClaimant()
    passed: set[str] = set()  # refused in this call: not again in this call
    try:
        with _reader(factory).connect() as conn:
            recorder = outbox.SentRecorder(conn)
            recorder.start()
            try:
                _deliver_batches(conn, recorder, transport, own, default_sender, org_id, now, summary, limit,
                                 batch_size, passed)  # fmt: skip
            finally:
                recorder.stop()
    finally:
        if claimant is None and isinstance(own, outbox.LocalClaimant):
            own.close()
        summary.seconds["deliver"] += time.perf_counter() - started
    return summary


def _deliver_batches(
    conn: Connection,
    recorder: outbox.SentRecorder,
    transport: Transport,
    own: outbox.Claimant,
    default_sender: str,
    org_id: str | None,
    now: Callable[[], dt.datetime],
    summary: RunSummary,
    limit: int | None,
    batch_size: int,
    passed: set[str],
) -> None:
    sent = 0
    while limit is None or sent < limit:
        with conn.begin():
            size = batch_size if limit is None else min(batch_size, limit - sent)
            batch = outbox.claim(conn, own, now=now(), org_id=org_id, limit=size, passed=passed)
        if not batch:
            break
        failures: list[outbox.Failure] = []
        try:
            for m in batch:
                attempts = m.attempts + 1
                try:
                    transport.send(
                        message_id=m.id,
                        sender=m.sender or default_sender,
                        reply_to=m.reply_to,
                        to=m.to_address or "",
                        subject=m.subject or "",
                        text=m.body_text or "",
                        html=m.body_html or "",
                    )
                except DeliveryError as exc:
                    failures.append(outbox.Failure(m.id, attempts, str(exc)))
                    passed.add(m.id)
                    summary.failed += 1
                    continue
                recorder.record(m.id, at=now(), attempts=attempts)
                summary.delivered += 1
                sent += 1
        finally:
            with conn.begin():
                outbox.settle_batch(conn, own, failures, now=now())
