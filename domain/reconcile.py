"""Bank statements in, payments out: import a statement and match its credits to invoices.

Matching goes by confidence:

1. a structured payment reference issued with an invoice (Dutch betalingskenmerk,
   ISO 11649 RF reference, or Belgian structured communication (OGM) however the bank
   writes it: ``+++…+++``, ``***…***``, twelve digits with or without slashes), in the
   structured field (CAMT.053 ``Strd/CdtrRefInf`` of type ``SCOR`` or ``BBA``, MT940
   ``/REMI/STRD/``) or anywhere in the text;
2. an invoice number found in the remittance text;
3. the payer's IBAN, known for exactly one customer, with an amount equal to one
   open invoice or to the sum of several.

An OGM whose check digits are wrong matches nothing (it is no invoice's reference) and the
line says why (``reference_problems``: in the import's ``problems`` and the unmatched
line's ``unmatched_reason``), so a person sees the typo rather than a silent miss.

A confident match registers a payment exactly as a manual one would be (and
remembers the payer's IBAN for the customer); anything else waits in the
unmatched list with candidate invoices, for a person to settle. Debits and
returned direct debits are recorded, never matched. The same statement
imported twice imports nothing new: the file's hash and every line's
``dedupe_key`` are unique per organisation.

An import is a set-based pipeline over batches of ``BATCH`` lines: what a batch
will ask (lines already imported, open invoices by reference and by number, the
owners of the payers' IBANs, those customers' open invoices, the customers) is
read in one query each before its first line is matched; the lines are then
matched in the statement's order against those rows, kept in memory and updated
there as earlier lines pay invoices; and the batch is written in one statement
per table (lines, payments, allocations, IBANs, events as multi-row inserts;
invoices as one executemany update), all in the caller's transaction, which
commits once. A batch sees what earlier batches wrote, never what its own
earlier lines wrote to the database: an IBAN remembered by line 3 makes the
payer known from the next batch on, exactly as when every line was its own
unit of work flushed per batch.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from sqlalchemy import Connection, Table, bindparam, func, insert, inspect, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from domain import arrangements, payments
from domain.arrangement_models import Arrangement
from domain.bank import Entry, parse_statement
from domain.bank import checks as balance_checks
from domain.bank.checks import BalanceRefused, BalanceWarning
from domain.errors import Conflict, NotFound, ValidationError
from domain.events import record
from domain.ids import new_id
from domain.invoices import UNSETTLED
from domain.models import (
    BankStatement,
    BankTransaction,
    Customer,
    CustomerBankAccount,
    Event,
    Invoice,
    Organisation,
    Payment,
    PaymentAllocation,
    utcnow,
)
from domain.payment_reference import (
    find_ogms,
    find_references,
    format_ogm,
    is_valid_ogm,
    normalize_reference,
    ogm_digits,
    reference_forms,
)

BATCH = 500
FLUSH_EVERY = BATCH  # the old name
MAX_SUBSET_INVOICES = 12  # the IBAN rule tries sums of at most this many open invoices of one customer
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-/._]*[A-Za-z0-9]|[A-Za-z0-9]")


@dataclass(frozen=True)
class ReferenceProblem:
    """Why an unmatched line's reference matched nothing, when the reference itself says so."""

    code: str  # ogm_check_digit
    reference: str  # as printed, +++123/4567/89003+++
    message: str
    transaction_id: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "reference": self.reference, "message": self.message,
                "transaction_id": self.transaction_id}  # fmt: skip


def reference_problems(remittance: str | None, structured: str | None) -> list[ReferenceProblem]:
    """The Belgian structured communications on a line whose check digits are wrong: the structured
    reference when it is written as an OGM, and every ``+++…+++``, ``***…***`` or slashed one in the
    text. (Twelve bare digits in free text may be anything, an old Belgian account number or a phone
    number, and are not reported.)"""
    from stdnum.be import ogm_vcs

    wrong: list[str] = []
    if structured and (digits := ogm_digits(structured)) is not None and not is_valid_ogm(digits):
        wrong.append(digits)
    wrong += [f.digits for f in find_ogms(remittance or "") if f.delimited and not f.valid]
    out = []
    for digits in dict.fromkeys(wrong):
        printed = format_ogm(digits)
        expected = ogm_vcs.calc_check_digits(digits[:10])
        out.append(ReferenceProblem(
            "ogm_check_digit", printed,
            f"the structured communication {printed} has wrong check digits ({digits[10:]}; {digits[:10]} "
            f"modulo 97 is {expected}): it is no invoice's, so the line is left for a person",
        ))  # fmt: skip
    return out


@dataclass
class ImportSummary:
    statements: int = 0
    lines: int = 0
    new: int = 0
    duplicates: int = 0
    credits: int = 0
    matched: int = 0
    unmatched: int = 0
    matched_cents: int = 0
    transaction_ids: list[str] = field(default_factory=list)
    # Statements that do not add up, or do not open at the previous one's closing balance.
    warnings: list[BalanceWarning] = field(default_factory=list)
    # Unmatched lines whose reference says why (an OGM with wrong check digits).
    problems: list[ReferenceProblem] = field(default_factory=list)


class InvoiceLike(Protocol):
    """What matching reads of an invoice: an ``Invoice`` or, in an import, an ``OpenInvoice`` row."""

    @property
    def id(self) -> str: ...
    @property
    def customer_id(self) -> str: ...
    @property
    def number(self) -> str: ...
    @property
    def due_date(self) -> dt.date: ...
    @property
    def currency(self) -> str: ...
    @property
    def open_cents(self) -> int: ...


class LineLike(Protocol):
    @property
    def remittance(self) -> str | None: ...
    @property
    def structured_reference(self) -> str | None: ...
    @property
    def end_to_end_id(self) -> str | None: ...


@dataclass(frozen=True)
class Match:
    rule: str  # reference | invoice_number | iban_amount | manual
    invoices: tuple[InvoiceLike, ...]


def _open_invoices(session: Session, org_id: str, conds: list[object]) -> list[Invoice]:
    rows = list(
        session.scalars(
            select(Invoice).where(
                Invoice.org_id == org_id,
                Invoice.status.in_(UNSETTLED),
                Invoice.open_cents > 0,
                *conds,  # type: ignore[arg-type]
            )
        )
    )
    # The database may be behind this transaction (no autoflush): trust the objects in memory.
    return [inv for inv in rows if inv.status in UNSETTLED and inv.open_cents > 0]


def _one_customer(invoices: Iterable[InvoiceLike]) -> tuple[InvoiceLike, ...] | None:
    found = tuple(sorted(invoices, key=lambda i: (i.due_date, i.number)))
    if not found or len({i.customer_id for i in found}) != 1:
        return None
    return found


def _references(tx: LineLike) -> set[str]:
    refs = set(find_references(tx.remittance or ""))
    if tx.structured_reference:
        refs.add(normalize_reference(tx.structured_reference))
    return refs


def _number_tokens(tx: LineLike) -> set[str]:
    text = " ".join(filter(None, [tx.remittance, tx.end_to_end_id]))
    return {t for t in _TOKEN.findall(text) if any(c.isdigit() for c in t)}


def _by_amount(candidates: Sequence[InvoiceLike], amount: int) -> Match | None:
    """One open invoice of exactly ``amount`` (the oldest), all of them, or the one set that adds up."""
    exact = [i for i in candidates if i.open_cents == amount]
    if len(exact) >= 1:
        return Match("iban_amount", (exact[0],))
    pool = list(candidates[:MAX_SUBSET_INVOICES])
    if sum(i.open_cents for i in pool) == amount:
        return Match("iban_amount", tuple(pool))
    for size in range(2, len(pool)):
        hits = [combo for combo in itertools.combinations(pool, size) if sum(i.open_cents for i in combo) == amount]
        if len(hits) == 1:
            return Match("iban_amount", hits[0])
        if hits:
            return None  # ambiguous: a person decides
    return None


def _auto_allocations(match: Match, amount: int) -> list[payments.AllocationRequest]:
    """Over the matched invoices oldest first; an overpayment's rest stays as unallocated credit."""
    out = []
    left = amount
    for inv in match.invoices:
        if left <= 0:
            break
        cents = min(left, inv.open_cents)
        out.append(payments.AllocationRequest(inv.id, cents))
        left -= cents
    return out


# --- a person's match (one line at a time, through the ORM) ------------------------------------


def _customer_for_iban(session: Session, org_id: str, iban: str | None) -> str | None:
    if not iban:
        return None
    owners = _owners(session, org_id, iban)
    return next(iter(owners)) if len(owners) == 1 else None


def _owners(session: Session, org_id: str, iban: str) -> set[str]:
    return set(
        session.scalars(
            select(CustomerBankAccount.customer_id).where(
                CustomerBankAccount.org_id == org_id, CustomerBankAccount.iban == iban
            )
        )
    )


def _remember_iban(session: Session, org_id: str, customer_id: str, iban: str | None) -> None:
    if not iban:
        return
    if customer_id in _owners(session, org_id, iban):
        return
    # An account added in this session but not flushed yet is not in the database: adding it
    # twice breaks the unique key. One that was rolled back is neither pending nor persistent.
    added: dict[tuple[str, str, str], CustomerBankAccount] = session.info.setdefault("settle.ibans_added", {})
    earlier = added.get((org_id, customer_id, iban))
    if earlier is not None and (inspect(earlier).pending or inspect(earlier).persistent):
        return
    account = CustomerBankAccount(org_id=org_id, customer_id=customer_id, iban=iban)
    session.add(account)
    added[(org_id, customer_id, iban)] = account


def settle_transaction(
    session: Session,
    tx: BankTransaction,
    customer_id: str,
    allocations: list[payments.AllocationRequest] | None,
    *,
    rule: str,
    actor: str | None = None,
) -> None:
    """Register the credit as a payment of ``customer_id`` and mark the line matched."""
    payment, made = payments.register_manual(
        session,
        tx.org_id,
        customer_id=customer_id,
        amount_cents=tx.amount_cents,
        currency=tx.currency,
        received_on=tx.booking_date,
        reference=(tx.remittance or "")[:200] or None,
        allocations=allocations,
        method="bank",
    )
    tx.status = "matched"
    tx.payment_id = payment.id
    _remember_iban(session, tx.org_id, customer_id, tx.counterparty_iban)
    record(
        session,
        tx.org_id,
        "bank_transaction.matched",
        tx,
        rule=rule,
        payment_id=payment.id,
        actor=actor,
        invoices=[a.invoice_id for a in made],
    )


# --- an import (set-based, per batch of lines) ---------------------------------------------------


@dataclass(slots=True, eq=False)
class OpenInvoice:
    """An invoice that was open when its batch began, as the batch's lines have changed it since."""

    id: str
    customer_id: str
    number: str
    due_date: dt.date
    currency: str
    open_cents: int
    status: str
    payment_reference: str | None
    paid_on: dt.date | None = None
    changed: bool = False

    @property
    def is_open(self) -> bool:
        return self.status in UNSETTLED and self.open_cents > 0


_OPEN_COLUMNS = (
    Invoice.id,
    Invoice.customer_id,
    Invoice.number,
    Invoice.due_date,
    Invoice.currency,
    Invoice.open_cents,
    Invoice.status,
    Invoice.payment_reference,
)


@dataclass(slots=True, eq=False)
class Line:
    """A new line of a statement: the row to insert, and what matching reads of it."""

    row: dict[str, Any]
    remittance: str | None
    structured_reference: str | None
    end_to_end_id: str | None
    counterparty_iban: str | None
    currency: str
    amount_cents: int
    booking_date: dt.date


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


def _event(org_id: str, kind: str, subject_type: str, subject_id: str, now: dt.datetime, **data: Any) -> dict[str, Any]:
    # As domain.events.record writes it (type(subject).__name__.lower() is the subject type).
    return {"org_id": org_id, "kind": kind, "subject_type": subject_type, "subject_id": subject_id,
            "actor": None, "data": data, "occurred_at": now}  # fmt: skip


class Batch:
    """What one batch of lines reads before its first line is matched, and writes after its last.

    Every row read is held here (plain objects, strong references, not the session's weakly
    referencing identity map) for the whole batch; an invoice that two lookups return is one
    ``OpenInvoice``, so a later line sees what an earlier line of the batch paid. The lookups
    read the database as of the previous batch's writes, as the per-line queries they replace
    read it as of the previous batch's flush."""

    def __init__(self, session: Session, org_id: str, credits: Sequence[Line]) -> None:
        self.session, self.org_id = session, org_id
        self.now = utcnow()
        self.invoices: dict[str, OpenInvoice] = {}
        self.by_reference: dict[str, list[OpenInvoice]] = {}
        self.by_number: dict[str, list[OpenInvoice]] = {}
        self.owners: dict[str, set[str]] = {}  # IBAN -> customer ids, as the batch began
        self.of_customer: dict[str, list[OpenInvoice]] = {}  # the payers' open invoices, oldest first
        self.customers: set[str] = set()
        self.refs = [_references(line) for line in credits]
        self.tokens = [_number_tokens(line) for line in credits]
        self.payments: list[dict[str, Any]] = []
        self.allocations: list[dict[str, Any]] = []
        self.accounts: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.added: set[tuple[str, str]] = set()  # (customer id, IBAN) remembered by this batch
        self._load(credits)

    def _select_open(self, *conds: Any) -> list[OpenInvoice]:
        stmt = select(*_OPEN_COLUMNS).where(
            Invoice.org_id == self.org_id, Invoice.status.in_(UNSETTLED), Invoice.open_cents > 0, *conds
        )
        out = []
        # FOR UPDATE: on PostgreSQL the rows the batch may pay are locked as it reads them (SQLite
        # has no row locks; a writer session takes the database's write lock at BEGIN).
        for row in self.session.execute(stmt.with_for_update()):
            inv = self.invoices.get(row.id)
            if inv is None:
                inv = self.invoices[row.id] = OpenInvoice(*row)
            out.append(inv)
        return out

    def _load(self, credits: Sequence[Line]) -> None:
        refs = set().union(*self.refs)
        tokens = set().union(*self.tokens)
        ibans = {line.counterparty_iban for line in credits if line.counterparty_iban}
        if refs:
            for inv in self._select_open(Invoice.payment_reference.in_(reference_forms(refs))):
                self.by_reference.setdefault(normalize_reference(inv.payment_reference or ""), []).append(inv)
        if tokens:
            for inv in self._select_open(Invoice.number.in_(tokens)):
                self.by_number.setdefault(inv.number, []).append(inv)
        if ibans:
            rows = self.session.execute(
                select(CustomerBankAccount.iban, CustomerBankAccount.customer_id).where(
                    CustomerBankAccount.org_id == self.org_id, CustomerBankAccount.iban.in_(ibans)
                )
            )
            for iban, customer_id in rows:
                self.owners.setdefault(iban, set()).add(customer_id)
        payers = {next(iter(ids)) for ids in self.owners.values() if len(ids) == 1}
        if payers:
            for inv in self._select_open(Invoice.customer_id.in_(payers)):
                self.of_customer.setdefault(inv.customer_id, []).append(inv)
            for found in self.of_customer.values():
                found.sort(key=lambda i: (i.due_date, i.number))
        wanted = {inv.customer_id for inv in self.invoices.values()}.union(*self.owners.values())
        if wanted:
            self.customers = set(
                self.session.scalars(select(Customer.id).where(Customer.org_id == self.org_id, Customer.id.in_(wanted)))
            )

    @staticmethod
    def _open(found: Iterable[OpenInvoice]) -> list[OpenInvoice]:
        return [inv for inv in dict.fromkeys(found) if inv.is_open]

    def match(self, i: int, line: Line) -> Match | None:
        """The ``i``-th credit's match, by the rules in order, against the batch as it stands."""
        if self.refs[i]:
            found = _one_customer(self._open(inv for ref in self.refs[i] for inv in self.by_reference.get(ref, ())))
            if found:
                return Match("reference", found)
        if self.tokens[i]:
            found = _one_customer(self._open(inv for tok in self.tokens[i] for inv in self.by_number.get(tok, ())))
            if found:
                return Match("invoice_number", found)
        owners = self.owners.get(line.counterparty_iban or "", ())
        if len(owners) != 1:
            return None
        customer_id = next(iter(owners))
        mine = [inv for inv in self.of_customer.get(customer_id, ()) if inv.currency == line.currency and inv.is_open]
        return _by_amount(mine, line.amount_cents)

    def settle(self, line: Line, match: Match) -> None:
        """The payment, its allocations and events, exactly as ``payments.register_manual`` and
        ``settle_transaction`` make them for one line, as rows for the batch's inserts."""
        customer_id = match.invoices[0].customer_id
        if customer_id not in self.customers:
            raise ValidationError(f"no customer {customer_id!r}", "customer_id")
        payment_id = new_id("pay")
        made: list[dict[str, Any]] = []
        paid: list[dict[str, Any]] = []
        for k, req in enumerate(_auto_allocations(match, line.amount_cents)):
            inv = self.invoices[req.invoice_id]
            if inv.currency != line.currency or inv.customer_id != customer_id or not inv.is_open:
                raise ValidationError(
                    f"invoice {req.invoice_id!r} is not an open {line.currency} invoice of this customer",
                    f"allocations[{k}].invoice_id",
                )
            inv.open_cents -= req.amount_cents
            inv.changed = True
            made.append({"invoice_id": inv.id, "amount_cents": req.amount_cents})
            if inv.open_cents == 0:
                inv.status, inv.paid_on = "paid", line.booking_date
                paid.append(_event(self.org_id, "invoice.paid", "invoice", inv.id, self.now, payment_id=payment_id))
        allocated = sum(a["amount_cents"] for a in made)
        self.allocations += [
            {"id": new_id("alc"), "org_id": self.org_id, "payment_id": payment_id, "created_at": self.now, **a}
            for a in made
        ]
        self.payments.append({
            "id": payment_id, "org_id": self.org_id, "customer_id": customer_id, "amount_cents": line.amount_cents,
            "currency": line.currency, "status": "paid", "method": "bank", "provider": None,
            "provider_payment_id": None, "checkout_url": None, "requested_invoice_ids": [],
            "received_on": line.booking_date, "unallocated_cents": line.amount_cents - allocated, "refunded_cents": 0,
            "reversals": {}, "reference": (line.remittance or "")[:200] or None,
            "created_at": self.now, "updated_at": self.now,
        })  # fmt: skip
        line.row["status"], line.row["payment_id"] = "matched", payment_id
        iban = line.counterparty_iban
        if iban and customer_id not in self.owners.get(iban, ()) and (customer_id, iban) not in self.added:
            self.added.add((customer_id, iban))
            self.accounts.append({"id": new_id("cba"), "org_id": self.org_id, "customer_id": customer_id,
                                  "iban": iban, "created_at": self.now})  # fmt: skip
        self.events += paid
        self.events.append(_event(self.org_id, "payment.registered", "payment", payment_id, self.now,
                                  amount_cents=line.amount_cents, allocated=made,
                                  unallocated_cents=line.amount_cents - allocated))  # fmt: skip
        self.events.append(_event(self.org_id, "bank_transaction.matched", "banktransaction", line.row["id"],
                                  self.now, rule=match.rule, payment_id=payment_id,
                                  invoices=[a["invoice_id"] for a in made]))  # fmt: skip

    def write(self, lines: Sequence[Line]) -> None:
        """The batch in one statement per table: multi-row inserts, executemany updates."""
        conn = self.session.connection()
        _insert(conn, Payment, self.payments)
        _insert(conn, BankTransaction, [line.row for line in lines])
        _insert(conn, PaymentAllocation, self.allocations)
        changed = [inv for inv in self.invoices.values() if inv.changed]
        t = _table(Invoice)
        part = [{"b_id": i.id, "b_open": i.open_cents, "b_now": self.now} for i in changed if i.status != "paid"]
        if part:
            conn.execute(
                update(t).where(t.c.id == bindparam("b_id")).values(open_cents=bindparam("b_open"),
                                                                    updated_at=bindparam("b_now")),
                part,
            )  # fmt: skip
        paid = [{"b_id": i.id, "b_on": i.paid_on, "b_now": self.now} for i in changed if i.status == "paid"]
        if paid:  # a fully paid invoice leaves dunning
            conn.execute(
                update(t).where(t.c.id == bindparam("b_id")).values(
                    open_cents=0, status="paid", paid_on=bindparam("b_on"), next_action_on=None, paused_until=None,
                    updated_at=bindparam("b_now"),
                ),
                paid,
            )  # fmt: skip
        for inv in changed:  # an Invoice the session already holds reads the new values next time
            held = self.session.identity_map.get(identity_key(Invoice, inv.id))
            if held is not None:
                self.session.expire(held)
        _insert(conn, CustomerBankAccount, self.accounts)
        _insert(conn, Event, self.events)


def _insert(conn: Connection, model: type[Any], rows: list[dict[str, Any]]) -> None:
    # One executemany: SQLite steps one prepared statement over the rows in C, psycopg sends them in
    # one pipeline. (Pages of INSERT … VALUES (…), (…), … were tried on PostgreSQL: three times slower.)
    if rows:
        conn.execute(insert(_table(model)), rows)


def _previous_closings(
    session: Session, org_id: str, wanted: set[tuple[str, str]]
) -> dict[tuple[str, str], balance_checks.Previous]:
    """The last statement imported for each (account, currency), from the import events, newest first."""
    found: dict[tuple[str, str], balance_checks.Previous] = {}
    # Only accounts that some imported file names (one small query each): an account seen for the
    # first time scans no events, and the scan below stops at the newest import of each account.
    named = select(BankStatement.id).where(BankStatement.org_id == org_id)
    wanted = {
        k for k in wanted if session.scalar(named.where(BankStatement.account.contains(k[0], autoescape=True)).limit(1))
    }
    if not wanted:
        return found
    rows = session.execute(
        select(Event.data)
        .where(Event.org_id == org_id, Event.kind == "bank_statement.imported")
        .order_by(Event.id.desc())
        .execution_options(yield_per=100)
    )
    for (data,) in rows:
        records = data.get("statements") if isinstance(data, dict) else None
        for item in reversed(records if isinstance(records, list) else []):
            got = balance_checks.previous_from_record(item, data.get("file")) if isinstance(item, dict) else None
            if got is not None and got[0] in wanted and got[0] not in found:
                found[got[0]] = got[1]
        if len(found) == len(wanted):
            break
    rows.close()
    return found


def import_statement(
    session: Session, org: Organisation, data: bytes, filename: str, *, strict: bool = False
) -> ImportSummary:
    """Parse, store and reconcile a statement file in the caller's transaction.

    A statement that does not add up, or does not open at the closing balance of the last one
    imported for its account, is imported and reported in ``warnings`` (and the import event);
    ``strict`` refuses the file instead (``BalanceRefused``, before anything is written)."""
    statements = parse_statement(data, filename)
    summary = ImportSummary(statements=len(statements))
    digest = hashlib.sha256(data).hexdigest()
    if session.scalar(
        select(BankStatement.id).where(BankStatement.org_id == org.id, BankStatement.file_sha256 == digest)
    ):
        summary.lines = summary.duplicates = sum(len(s.entries) for s in statements)
        return summary
    keys = {k for k in map(balance_checks.key, statements) if k is not None}
    summary.warnings = balance_checks.check(statements, _previous_closings(session, org.id, keys))
    if strict and summary.warnings:
        raise BalanceRefused(filename, summary.warnings)
    # One row per imported file; a file may hold several statements (accounts or days).
    stored = BankStatement(
        org_id=org.id,
        format=statements[0].format if statements else "unknown",
        statement_ref=", ".join(s.statement_id or "" for s in statements)[:100] or None,
        account=", ".join(sorted({s.account_iban or "" for s in statements}))[:64] or None,
        file_name=filename[:255],
        file_sha256=digest,
    )
    session.add(stored)
    session.flush()  # and whatever the caller changed before: the batches read the database
    for statement in statements:
        for start in range(0, len(statement.entries), BATCH):
            _import_lines(session, org, stored, statement.entries[start : start + BATCH], summary)
    _settle_plans(session, org.id, stored.id)
    # An OGM with wrong check digits on a line left unmatched (only when there is one).
    extra: dict[str, Any] = {"problems": [p.as_dict() for p in summary.problems[:100]]} if summary.problems else {}
    record(
        session,
        org.id,
        "bank_statement.imported",
        None,
        file=filename,
        lines=summary.lines,
        new=summary.new,
        matched=summary.matched,
        unmatched=summary.unmatched,
        statements=[balance_checks.record_of(i, s) for i, s in enumerate(statements, start=1)],
        warnings=[w.as_dict() for w in summary.warnings],
        **extra,
    )
    return summary


def _settle_plans(session: Session, org_id: str, statement_id: str) -> None:
    """The running payment plans of the customers this statement paid, told at once: one query,
    and nothing more when none of them has a plan (``domain.arrangements.settle_paid``)."""
    paid = session.execute(
        select(Arrangement.customer_id, func.max(BankTransaction.booking_date))
        .join(Payment, Payment.id == BankTransaction.payment_id)
        .join(Arrangement, (Arrangement.customer_id == Payment.customer_id) & (Arrangement.org_id == org_id)
              & (Arrangement.status == "accepted"))
        .where(BankTransaction.org_id == org_id, BankTransaction.statement_id == statement_id)
        .group_by(Arrangement.customer_id)
    ).all()  # fmt: skip
    if paid:
        arrangements.settle_paid(session, org_id, [c for c, _ in paid], max(d for _, d in paid))


def _line(org: Organisation, stored: BankStatement, entry: Entry, status: str, now: dt.datetime) -> Line:
    row: dict[str, Any] = {
        "id": new_id("btx"),
        "org_id": org.id,
        "statement_id": stored.id,
        "dedupe_key": entry.dedupe_key,
        "booking_date": entry.booking_date,
        "value_date": entry.value_date,
        "amount_cents": entry.amount_cents,
        "currency": entry.currency or "EUR",
        "counterparty_name": (entry.counterparty_name or "")[:200] or None,
        "counterparty_iban": (entry.counterparty_iban or "").replace(" ", "").upper()[:34] or None,
        "remittance": entry.remittance_text,
        "structured_reference": (entry.structured_reference or "")[:64] or None,
        "end_to_end_id": (entry.end_to_end_id or "")[:100] or None,
        "status": status,
        "payment_id": None,
        "created_at": now,
    }
    return Line(row, row["remittance"], row["structured_reference"], row["end_to_end_id"],
                row["counterparty_iban"], row["currency"], row["amount_cents"], row["booking_date"])  # fmt: skip


def _import_lines(
    session: Session, org: Organisation, stored: BankStatement, entries: Sequence[Entry], summary: ImportSummary
) -> None:
    keys = [e.dedupe_key for e in entries]
    existing = set(
        session.scalars(
            select(BankTransaction.dedupe_key).where(
                BankTransaction.org_id == org.id, BankTransaction.dedupe_key.in_(keys)
            )
        )
    )
    now = utcnow()
    lines: list[Line] = []
    credits: list[Line] = []
    for entry in entries:
        summary.lines += 1
        if entry.dedupe_key in existing:
            summary.duplicates += 1
            continue
        existing.add(entry.dedupe_key)
        if entry.amount_cents > 0 and not entry.is_reversal:
            status = "unmatched"
        else:
            status = "returned" if entry.is_reversal else "outgoing"
        line = _line(org, stored, entry, status, now)
        lines.append(line)
        summary.new += 1
        summary.transaction_ids.append(line.row["id"])
        if status == "unmatched":
            credits.append(line)
    # Then the credits, in the statement's order, against what the batch read.
    batch = Batch(session, org.id, credits)
    for i, line in enumerate(credits):
        summary.credits += 1
        match = batch.match(i, line)
        if match is None:
            summary.unmatched += 1
            summary.problems += [dataclasses.replace(p, transaction_id=line.row["id"])
                                 for p in reference_problems(line.remittance, line.structured_reference)]
            continue
        batch.settle(line, match)
        summary.matched += 1
        summary.matched_cents += line.amount_cents
    batch.write(lines)


def candidates(session: Session, tx: BankTransaction, limit: int = 5) -> list[Invoice]:
    """Invoices a person might match an unmatched credit to: same customer by IBAN, close amounts."""
    conds: list[object] = [Invoice.currency == tx.currency]
    customer_id = _customer_for_iban(session, tx.org_id, tx.counterparty_iban)
    if customer_id is not None:
        conds.append(Invoice.customer_id == customer_id)
    pool = _open_invoices(session, tx.org_id, conds)
    pool.sort(key=lambda i: (abs(i.open_cents - tx.amount_cents), i.due_date))
    return pool[:limit]


def match_by_hand(
    session: Session,
    org_id: str,
    tx_id: str,
    *,
    customer_id: str | None,
    allocations: list[payments.AllocationRequest] | None,
    actor: str | None = None,
) -> BankTransaction:
    tx = session.get(BankTransaction, tx_id)
    if tx is None or tx.org_id != org_id:
        raise NotFound(f"no bank transaction {tx_id!r}", "bank_transaction_id")
    if tx.status != "unmatched":
        raise Conflict(f"this transaction is {tx.status}, not unmatched", "status")
    if customer_id is None:
        if not allocations:
            raise ValidationError("give customer_id or allocations", "customer_id")
        first = session.get(Invoice, allocations[0].invoice_id)
        if first is None or first.org_id != org_id:
            raise ValidationError(f"no invoice {allocations[0].invoice_id!r}", "allocations[0].invoice_id")
        customer_id = first.customer_id
    settle_transaction(session, tx, customer_id, allocations, rule="manual", actor=actor)
    arrangements.settle_paid(session, org_id, [customer_id], tx.booking_date)
    return tx


def spread_over(
    session: Session, org_id: str, tx: BankTransaction, invoice_ids: list[str]
) -> list[payments.AllocationRequest]:
    """Allocations of a credit over chosen invoices, oldest first, as far as it goes."""
    chosen = []
    for i, invoice_id in enumerate(invoice_ids):
        inv = session.get(Invoice, invoice_id)
        if inv is None or inv.org_id != org_id:
            raise ValidationError(f"no invoice {invoice_id!r}", f"invoice_ids[{i}]")
        chosen.append(inv)
    return _auto_allocations(
        Match("manual", tuple(sorted(chosen, key=lambda x: (x.due_date, x.number)))), tx.amount_cents
    )
