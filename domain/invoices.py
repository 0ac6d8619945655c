"""Invoices: what a customer owes, and the life of that debt.

Status is one of ``open`` (being collected), ``paid``, ``cancelled``,
``disputed`` (on hold while the debtor's objection is looked at) and
``in_collection`` (handed to a collection agency; Settle stops chasing).
``open_cents`` is what is still due on the invoice.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, cast
from urllib.parse import urlsplit

from sqlalchemy import Table, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain import customers as customers_mod
from domain.bulk import Insert, among
from domain.errors import Conflict, DomainError, NotFound, ValidationError
from domain.events import insert_rows as insert_events
from domain.events import record
from domain.ids import new_ids
from domain.models import Customer, Invoice, Organisation, Policy, utcnow
from domain.payment_reference import (
    format_ogm,
    generate_betalingskenmerk,
    generate_ogm,
    is_valid_betalingskenmerk,
    is_valid_ogm,
    is_valid_rf_reference,
    normalize_reference,
    ogm_bodies_for_number,
    printed_forms,
    reference_forms,
    reference_kind,
)
from domain.policies import PolicyBook, end_pause, next_action_on, policy_for, schedule

STATUSES = ("open", "paid", "cancelled", "disputed", "in_collection")
UNSETTLED = ("open", "disputed", "in_collection")
MAX_BULK = 1000
# Invoice and payment dates are accepted from FIRST_DAY to LAST_DAY (a due date computed from
# the payment term too): outside it a date is a typo (0001, 9999) and its arithmetic overflows.
FIRST_DAY = dt.date(2000, 1, 1)
LAST_DAY = dt.date(2099, 12, 31)
MAX_REFERENCE = 40  # Invoice.payment_reference
MAX_PDF_URL = 500  # Invoice.pdf_url
_LOCAL_HOSTS = ("localhost", "127.0.0.1")


@dataclass
class NewInvoice:
    number: str
    issue_date: dt.date
    amount_cents: int
    currency: str
    customer_id: str | None = None
    customer_external_ref: str | None = None
    due_date: dt.date | None = None
    open_cents: int | None = None
    payment_reference: str | None = None
    description: str | None = None
    pdf_url: str | None = None
    # "free": keep ``payment_reference`` unchecked even when it looks like a betalingskenmerk (a
    # Norwegian KID of 16 digits); "ogm": a Belgian structured communication even as twelve bare
    # digits (a Belgian UBL's PaymentID); None: check it as what it looks like (betalingskenmerk, RF,
    # an OGM written with +++, *** or slashes, or twelve digits for a Belgian organisation).
    reference_kind: str | None = None


def check_day(value: dt.date, field: str) -> dt.date:
    """``value`` if it lies in the accepted window (FIRST_DAY to LAST_DAY), else a 422 naming ``field``."""
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ValidationError(
            f"{field} {value.isoformat()} is outside the accepted dates "
            f"({FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()})", field,
        )
    return value


def check_pdf_url(url: str) -> str:
    """An ``https`` address (``http`` only to localhost, for a local sandbox); anything else,
    ``javascript:`` and ``data:`` included, is refused: the portal renders it as a link."""
    problem = "pdf_url must be an https:// address"
    if len(url) > MAX_PDF_URL:
        raise ValidationError(f"pdf_url is longer than {MAX_PDF_URL} characters", "pdf_url")
    if not url.isprintable() or any(c.isspace() for c in url):
        raise ValidationError(f"{problem} without spaces or control characters", "pdf_url")
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise ValidationError(problem, "pdf_url") from None
    scheme = parts.scheme.lower()
    if scheme == "https" and host:
        return url
    if scheme == "http" and host in _LOCAL_HOSTS:
        return url
    raise ValidationError(problem, "pdf_url")


def get(session: Session, org_id: str, invoice_id: str, *, for_update: bool = False) -> Invoice:
    stmt = select(Invoice).where(Invoice.id == invoice_id, Invoice.org_id == org_id)
    if for_update:
        stmt = stmt.with_for_update()
    invoice = session.scalar(stmt)
    if invoice is None:
        raise NotFound(f"no invoice {invoice_id!r}", "invoice_id")
    return invoice


def _check_reference(given: str, kind: str | None = None, *, belgian: bool = False) -> str:
    """The reference as the sender printed it (outer blanks aside): the debtor types it from the
    invoice. A betalingskenmerk or RF reference is checked as such, and kept as printed when printed
    in a form the bank matching finds (``printed_forms``), else in its normalised form. A Belgian
    structured communication (OGM) is checked by its mod-97 digits and stored printed,
    ``+++123/4567/89002+++``: written with ``+++``, ``***`` or slashes anywhere, and as twelve bare
    digits for a ``belgian`` organisation (elsewhere twelve digits may be any reference). Any other
    reference (a KID, free text) is kept as given."""
    printed = given.strip()
    ref = normalize_reference(printed)
    if not ref:
        raise ValidationError("payment_reference must not be empty", "payment_reference")
    if not printed.isprintable():
        raise ValidationError("payment_reference must not hold control characters", "payment_reference")
    if kind == "ogm" or (kind != "free" and (reference_kind(printed) == "ogm"
                                             or (belgian and len(ref) == 12 and ref.isdigit()))):
        if not is_valid_ogm(printed):
            raise ValidationError(
                f"{given!r} is not a valid Belgian structured communication (the last two digits must be "
                "the first ten modulo 97)", "payment_reference",
            )
        return format_ogm(printed)
    shape = None if kind == "free" else reference_kind(ref)
    if shape == "betalingskenmerk" and not is_valid_betalingskenmerk(ref):
        raise ValidationError(f"{given!r} is not a valid betalingskenmerk (check digit)", "payment_reference")
    if shape == "rf" and not is_valid_rf_reference(ref):
        raise ValidationError(f"{given!r} is not a valid RF creditor reference", "payment_reference")
    if shape is not None and printed not in printed_forms(ref):
        printed = ref
    if len(printed) > MAX_REFERENCE:
        raise ValidationError(f"payment_reference is longer than {MAX_REFERENCE} characters", "payment_reference")
    return printed


def _new_ogms(session: Session, org_id: str, numbers: Sequence[str], avoid: set[str]) -> list[str]:
    """An OGM for each invoice number, none in use in the organisation nor in ``avoid`` (normalised
    references): each number's first candidate (``ogm_bodies_for_number``: its own digits), checked
    for the whole batch in one query; only a number whose candidate is taken tries its next."""
    bodies = [ogm_bodies_for_number(n) for n in numbers]
    out: list[str | None] = [None] * len(numbers)
    todo = list(range(len(numbers)))
    while todo:
        drawn = {i: generate_ogm(next(bodies[i])) for i in todo}
        forms = reference_forms(normalize_reference(o) for o in drawn.values())
        taken = {normalize_reference(r or "") for r in session.connection().scalars(
            select(Invoice.payment_reference).where(
                Invoice.org_id == org_id, among(session, Invoice.payment_reference, forms))
        )}  # fmt: skip
        again = []
        for i, ogm in drawn.items():
            digits = normalize_reference(ogm)
            if digits in taken or digits in avoid:
                again.append(i)
            else:
                avoid.add(digits)
                out[i] = ogm
        todo = again
    return [o for o in out if o is not None]


def _new_references(session: Session, org_id: str, count: int, avoid: set[str]) -> list[str]:
    """``count`` fresh betalingskenmerken, none in use in the organisation nor in ``avoid``:
    generated for the whole batch, checked in one query, only the collisions drawn again."""
    refs: list[str] = []
    while len(refs) < count:
        drawn = {generate_betalingskenmerk(secrets.randbelow(10**15)) for _ in range(count - len(refs))}
        drawn -= avoid
        taken = set(session.connection().scalars(
            select(Invoice.payment_reference).where(Invoice.org_id == org_id,
                                                    among(session, Invoice.payment_reference, drawn))
        ))  # fmt: skip
        fresh = drawn - taken
        avoid |= fresh
        refs += fresh
    return refs


class _Debtor(NamedTuple):
    """The columns of a customer that creating an invoice reads (cheaper than the entity)."""

    id: str
    external_ref: str | None
    kind: str
    payment_term_days: int | None
    policy_id: str | None


_DEBTOR_COLUMNS = (Customer.id, Customer.external_ref, Customer.kind, Customer.payment_term_days, Customer.policy_id)


def _customers(
    session: Session, org_id: str, news: list[NewInvoice]
) -> tuple[dict[str, _Debtor], dict[str, _Debtor]]:
    """The customers the batch names, by id and by external_ref, in one statement (Core rows
    through the session's connection: the caller flushed, and no entity is wanted)."""
    ids = {n.customer_id for n in news if n.customer_id}
    refs = {n.customer_external_ref for n in news if not n.customer_id and n.customer_external_ref}
    # Two index lookups, one by id and one by external_ref, not one ``id IN … OR external_ref
    # IN …``, which SQLite answers by reading every customer of the organisation.
    parts = [select(*_DEBTOR_COLUMNS).where(Customer.org_id == org_id, among(session, column, wanted))
             for column, wanted in ((Customer.id, ids), (Customer.external_ref, refs)) if wanted]  # fmt: skip
    if not parts:
        return {}, {}
    found = [_Debtor(*row) for row in session.connection().execute(parts[0] if len(parts) == 1 else union_all(*parts))]
    return ({c.id: c for c in found if c.id in ids},
            {c.external_ref: c for c in found if c.external_ref is not None and c.external_ref in refs})  # fmt: skip


def _customer_of(new: NewInvoice, by_id: dict[str, _Debtor], by_ref: dict[str, _Debtor]) -> _Debtor:
    if new.customer_id:
        customer = by_id.get(new.customer_id)
        if customer is None:
            raise ValidationError(f"no customer {new.customer_id!r}", "customer_id")
        return customer
    if new.customer_external_ref:
        customer = by_ref.get(new.customer_external_ref)
        if customer is None:
            raise ValidationError(
                f"no customer with external_ref {new.customer_external_ref!r}", "customer_external_ref"
            )
        return customer
    raise ValidationError("customer_id or customer_external_ref is required", "customer_id")


@dataclass
class _Good:
    new: NewInvoice
    number: str
    customer: _Debtor
    due_date: dt.date
    open_cents: int
    reference: str | None  # as printed (see _check_reference); None: to be generated


_INVOICES = cast(Table, Invoice.__table__)
# What a new invoice and its event write (the keys of the rows ``_create_many`` builds).
_INSERT_INVOICES = Insert(_INVOICES, (
    "id", "org_id", "customer_id", "number", "issue_date", "due_date", "currency", "amount_cents", "open_cents",
    "status", "payment_reference", "description", "pdf_url", "paid_on", "policy_id", "dunning_step",
    "dunning_anchor", "next_action_on", "fees_cents", "costs_cents", "interest_cents", "created_at", "updated_at",
))  # fmt: skip
# The invoice columns a new invoice leaves empty; the rows handed back carry them too.
_EMPTY = {"paused_until": None, "pause_reason": None, "interest_as_of": None, "notice_sent_on": None,
          "costs_due_on": None}  # fmt: skip


def create_many(session: Session, org: Organisation, news: Sequence[NewInvoice]) -> list[dict[str, Any] | DomainError]:
    """Validate and store many invoices, each on its customer's dunning track, in a few queries.

    Each item answers on its own, in order: the stored invoice's columns (a dict), or the
    ``DomainError`` that refused it (422, or a ``Conflict`` for a number already used, in the
    database or by an earlier item of the same batch). A refused item sinks no other. The
    customers, the numbers and the payment references are looked up for the whole batch, the
    policies read once (``PolicyBook``), the invoices and their ``invoice.created`` events
    written by one multi-row insert each (``domain.bulk.Insert``), in the caller's
    transaction (not committed)."""
    for _ in range(3):
        try:
            return _create_many(session, org, news)
        except IntegrityError:
            # Someone stored the same number (or drew the same reference) since we looked:
            # the savepoint is undone; looking again makes that item a 409.
            continue
    raise Conflict("a concurrent request changed the same data; retry it")


def _create_many(session: Session, org: Organisation, news: Sequence[NewInvoice]) -> list[dict[str, Any] | DomainError]:
    session.flush()  # anything pending (a customer just made) is seen by the lookups and goes first
    results: list[dict[str, Any] | DomainError | None] = [None] * len(news)
    numbers: dict[int, str] = {}
    for i, new in enumerate(news):
        number = (new.number or "").strip()
        if not number:
            results[i] = ValidationError("number must not be empty", "number")
        elif len(number) > 64:
            results[i] = ValidationError("number is longer than 64 characters", "number")
        elif new.amount_cents <= 0:
            results[i] = ValidationError("amount must be greater than zero", "amount")
        else:
            numbers[i] = number
    by_id, by_ref = _customers(session, org.id, [news[i] for i in numbers])
    taken: set[str] = set()
    if numbers:
        taken = set(session.connection().scalars(
            select(Invoice.number).where(Invoice.org_id == org.id,
                                         among(session, Invoice.number, set(numbers.values())))
        ))  # fmt: skip
    good: dict[int, _Good] = {}
    for i, number in numbers.items():
        new = news[i]
        try:
            customer = _customer_of(new, by_id, by_ref)
            term = customer.payment_term_days
            if term is None:
                term = org.default_payment_term_days
            check_day(new.issue_date, "issue_date")
            if new.due_date is not None:
                due_date = check_day(new.due_date, "due_date")
            else:
                due_date = new.issue_date + dt.timedelta(days=term)
                if due_date > LAST_DAY:
                    raise ValidationError(
                        f"due_date (issue_date plus the {term}-day payment term) falls after "
                        f"{LAST_DAY.isoformat()}; give a due_date", "due_date",
                    )
            if due_date < new.issue_date:
                raise ValidationError("due_date must not be before issue_date", "due_date")
            if new.pdf_url is not None:
                check_pdf_url(new.pdf_url)
            open_cents = new.amount_cents if new.open_cents is None else new.open_cents
            if not 0 <= open_cents <= new.amount_cents:
                raise ValidationError("open_amount must be between 0 and amount", "open_amount")
            if number in taken:
                raise Conflict(f"an invoice with number {number!r} already exists", "number")
            reference = (None if new.payment_reference is None
                         else _check_reference(new.payment_reference, new.reference_kind,
                                               belgian=org.country == "BE"))
        except DomainError as exc:
            results[i] = exc
            continue
        taken.add(number)  # the next item with this number is a duplicate
        good[i] = _Good(new, number, customer, due_date, open_cents, reference)
    if not good:
        return [r for r in results if r is not None]

    given = {normalize_reference(g.reference) for g in good.values() if g.reference is not None}
    if org.country == "BE":
        # A Belgian creditor's invoices carry a structured communication (OGM), derived from the number.
        fresh = iter(_new_ogms(session, org.id, [g.number for g in good.values() if g.reference is None], given))
    else:
        fresh = iter(_new_references(session, org.id, sum(1 for g in good.values() if g.reference is None), given))
    book = PolicyBook.load(session, org.id, (g.customer for g in good.values()))
    now = utcnow()
    rows: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    invoice_ids, event_ids = new_ids("inv", len(good)), new_ids("evt", len(good))
    # Without rules that read a customer's history, the policy depends on the customer's own
    # policy_id alone; and the next action day on the policy, status and anchor alone. A body's
    # items share a few of each, so each is worked out once.
    policies: dict[str | None, Policy | None] = {}
    next_days: dict[tuple[str | None, str, dt.date], dt.date | None] = {}
    for n, (i, g) in enumerate(good.items()):
        new = g.new
        status = "open" if g.open_cents > 0 else "paid"
        if book.needs_profile:
            policy = book.policy_for(g.customer)
        elif g.customer.policy_id in policies:
            policy = policies[g.customer.policy_id]
        else:
            policy = policies[g.customer.policy_id] = book.policy_for(g.customer)
        policy_id = policy.id if policy is not None else None
        track = (policy_id, status, g.due_date)
        if track in next_days:
            next_day = next_days[track]
        else:
            next_day = next_days[track] = next_action_on(book.steps(policy), status=status, anchor=g.due_date,
                                                         dunning_step=0, paused_until=None)  # fmt: skip
        invoice_id = invoice_ids[n]
        row = {
            "id": invoice_id, "org_id": org.id, "customer_id": g.customer.id, "number": g.number,
            "issue_date": new.issue_date, "due_date": g.due_date, "currency": new.currency,
            "amount_cents": new.amount_cents, "open_cents": g.open_cents, "status": status,
            "payment_reference": g.reference if g.reference is not None else next(fresh),
            "description": new.description, "pdf_url": new.pdf_url,
            "paid_on": new.issue_date if status == "paid" else None,
            "policy_id": policy_id, "dunning_step": 0, "dunning_anchor": g.due_date, "next_action_on": next_day,
            "fees_cents": 0, "costs_cents": 0, "interest_cents": 0, "created_at": now, "updated_at": now,
        }  # fmt: skip
        if status == "paid":
            book.paid(g.customer.id, new.issue_date, g.due_date, invoice_id)
        rows.append(row)
        events.append({"public_id": event_ids[n], "org_id": org.id, "kind": "invoice.created",
                       "subject_type": "invoice", "subject_id": invoice_id, "actor": None,
                       "data": {"number": g.number, "amount_cents": new.amount_cents}, "occurred_at": now})  # fmt: skip
        results[i] = row
    with session.begin_nested():
        conn = session.connection()
        _INSERT_INVOICES(conn, rows)
        insert_events(conn, events)
    for row in rows:
        row.update(_EMPTY)
    return [r for r in results if r is not None]


def create(session: Session, org: Organisation, new: NewInvoice) -> Invoice:
    """Validate and store one invoice, and put it on its customer's dunning track."""
    (result,) = create_many(session, org, [new])
    if isinstance(result, DomainError):
        raise result
    return session.get_one(Invoice, result["id"])


def cancel(session: Session, org_id: str, invoice_id: str) -> Invoice:
    invoice = get(session, org_id, invoice_id, for_update=True)
    if invoice.status == "cancelled":
        return invoice
    if invoice.status == "paid":
        raise Conflict("a paid invoice cannot be cancelled", "status")
    invoice.status = "cancelled"
    invoice.open_cents = 0
    invoice.next_action_on = None
    record(session, org_id, "invoice.cancelled", invoice)
    return invoice


def pause(
    session: Session, org_id: str, invoice_id: str, until: dt.date, reason: str | None, as_of: dt.date
) -> Invoice:
    """Hold dunning until ``until``; the track resumes where it stood when the pause lapses."""
    invoice = get(session, org_id, invoice_id, for_update=True)
    if invoice.status not in UNSETTLED:
        raise Conflict(f"a {invoice.status} invoice cannot be paused", "status")
    if until <= as_of:
        raise ValidationError("until must be a date after today", "until")
    invoice.paused_until = until
    invoice.pause_reason = (reason or "").strip() or None
    customer = customers_mod.get(session, org_id, invoice.customer_id)
    schedule(invoice, policy_for(session, customer))
    record(session, org_id, "invoice.paused", invoice, until=until.isoformat(), reason=invoice.pause_reason)
    return invoice


def resume(session: Session, org_id: str, invoice_id: str, as_of: dt.date) -> Invoice:
    invoice = get(session, org_id, invoice_id, for_update=True)
    if invoice.paused_until is None:
        return invoice
    customer = customers_mod.get(session, org_id, invoice.customer_id)
    policy = policy_for(session, customer)
    end_pause(invoice, policy, min(as_of, invoice.paused_until))
    schedule(invoice, policy)
    record(session, org_id, "invoice.resumed", invoice)
    return invoice


def filters(
    org_id: str, *, customer_id: str | None, status: str | None, overdue: bool | None, as_of: dt.date
) -> list[Any]:
    conds: list[Any] = [Invoice.org_id == org_id]
    if customer_id:
        conds.append(Invoice.customer_id == customer_id)
    if status:
        if status not in STATUSES:
            raise ValidationError(f"status must be one of {', '.join(STATUSES)}", "status")
        conds.append(Invoice.status == status)
    if overdue is True:
        conds += [Invoice.status.in_(UNSETTLED), Invoice.due_date < as_of, Invoice.open_cents > 0]
    elif overdue is False:
        conds.append(~(Invoice.status.in_(UNSETTLED) & (Invoice.due_date < as_of)))
    return conds
