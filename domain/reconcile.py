"""Bank statements in, payments out: import a statement and match its credits to invoices.

Matching goes by confidence:

1. a structured payment reference issued with an invoice (Dutch betalingskenmerk
   or ISO 11649 RF reference), in the structured field or anywhere in the text;
2. an invoice number found in the remittance text;
3. the payer's IBAN, known for exactly one customer, with an amount equal to one
   open invoice or to the sum of several.

A confident match registers a payment exactly as a manual one would be (and
remembers the payer's IBAN for the customer); anything else waits in the
unmatched list with candidate invoices, for a person to settle. Debits and
returned direct debits are recorded, never matched. The same statement
imported twice imports nothing new: the file's hash and every line's
``dedupe_key`` are unique per organisation.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from domain import payments
from domain.bank import Entry, parse_statement
from domain.errors import Conflict, NotFound, ValidationError
from domain.events import record
from domain.ids import new_id
from domain.invoices import UNSETTLED
from domain.models import BankStatement, BankTransaction, Customer, CustomerBankAccount, Invoice, Organisation
from domain.payment_reference import find_references, normalize_reference

FLUSH_EVERY = 500
MAX_SUBSET_INVOICES = 12  # the IBAN rule tries sums of at most this many open invoices of one customer
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-/._]*[A-Za-z0-9]|[A-Za-z0-9]")


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


@dataclass(frozen=True)
class Match:
    rule: str  # reference | invoice_number | iban_amount
    invoices: tuple[Invoice, ...]


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


def _one_customer(invoices: Iterable[Invoice]) -> tuple[Invoice, ...] | None:
    found = tuple(sorted(invoices, key=lambda i: (i.due_date, i.number)))
    if not found or len({i.customer_id for i in found}) != 1:
        return None
    return found


def _references(tx: BankTransaction) -> set[str]:
    refs = set(find_references(tx.remittance or ""))
    if tx.structured_reference:
        refs.add(normalize_reference(tx.structured_reference))
    return refs


def _number_tokens(tx: BankTransaction) -> set[str]:
    text = " ".join(filter(None, [tx.remittance, tx.end_to_end_id]))
    return {t for t in _TOKEN.findall(text) if any(c.isdigit() for c in t)}


@dataclass
class Lookup:
    """What a batch of lines will ask the database, read in four queries before the first line
    is matched instead of several per line: open invoices by payment reference and by number,
    the owners of the payers' IBANs, and the batch's customers (into the session, for the
    payments). Like the per-line queries it replaces it reads the database as of the last
    flush; invoices are re-checked in memory, where earlier lines of the batch paid them."""

    by_reference: dict[str, list[Invoice]] = field(default_factory=dict)
    by_number: dict[str, list[Invoice]] = field(default_factory=dict)
    owners: dict[str, set[str]] = field(default_factory=dict)  # IBAN -> customer ids

    @classmethod
    def load(cls, session: Session, org_id: str, txs: Sequence[BankTransaction]) -> Lookup:
        lookup = cls()
        refs = set().union(*(_references(tx) for tx in txs)) if txs else set()
        tokens = set().union(*(_number_tokens(tx) for tx in txs)) if txs else set()
        ibans = {tx.counterparty_iban for tx in txs if tx.counterparty_iban}
        if refs:
            for inv in _open_invoices(session, org_id, [Invoice.payment_reference.in_(refs)]):
                lookup.by_reference.setdefault(inv.payment_reference or "", []).append(inv)
        if tokens:
            for inv in _open_invoices(session, org_id, [Invoice.number.in_(tokens)]):
                lookup.by_number.setdefault(inv.number, []).append(inv)
        if ibans:
            rows = session.execute(
                select(CustomerBankAccount.iban, CustomerBankAccount.customer_id).where(
                    CustomerBankAccount.org_id == org_id, CustomerBankAccount.iban.in_(ibans)
                )
            )
            for iban, customer_id in rows:
                lookup.owners.setdefault(iban, set()).add(customer_id)
        found = {i.customer_id for rows in (*lookup.by_reference.values(), *lookup.by_number.values()) for i in rows}
        customer_ids = found | set().union(*lookup.owners.values()) if lookup.owners else found
        if customer_ids:
            session.scalars(select(Customer).where(Customer.id.in_(customer_ids))).all()
        return lookup

    @staticmethod
    def _open(found: Iterable[Invoice]) -> list[Invoice]:
        return [inv for inv in dict.fromkeys(found) if inv.status in UNSETTLED and inv.open_cents > 0]

    def references(self, refs: set[str]) -> list[Invoice]:
        return self._open(inv for ref in refs for inv in self.by_reference.get(ref, ()))

    def numbers(self, tokens: set[str]) -> list[Invoice]:
        return self._open(inv for token in tokens for inv in self.by_number.get(token, ()))


def _by_reference(session: Session, org_id: str, tx: BankTransaction, lookup: Lookup | None) -> Match | None:
    refs = _references(tx)
    if not refs:
        return None
    invoices = (
        lookup.references(refs)
        if lookup is not None
        else _open_invoices(session, org_id, [Invoice.payment_reference.in_(refs)])
    )
    found = _one_customer(invoices)
    return Match("reference", found) if found else None


def _by_number(session: Session, org_id: str, tx: BankTransaction, lookup: Lookup | None) -> Match | None:
    tokens = _number_tokens(tx)
    if not tokens:
        return None
    invoices = (
        lookup.numbers(tokens) if lookup is not None else _open_invoices(session, org_id, [Invoice.number.in_(tokens)])
    )
    found = _one_customer(invoices)
    return Match("invoice_number", found) if found else None


def _owners(session: Session, org_id: str, iban: str, lookup: Lookup | None) -> set[str]:
    if lookup is not None:
        return lookup.owners.get(iban, set())
    return set(
        session.scalars(
            select(CustomerBankAccount.customer_id).where(
                CustomerBankAccount.org_id == org_id, CustomerBankAccount.iban == iban
            )
        )
    )


def _customer_for_iban(session: Session, org_id: str, iban: str | None, lookup: Lookup | None = None) -> str | None:
    if not iban:
        return None
    owners = _owners(session, org_id, iban, lookup)
    return next(iter(owners)) if len(owners) == 1 else None


def _by_iban_amount(session: Session, org_id: str, tx: BankTransaction, lookup: Lookup | None) -> Match | None:
    customer_id = _customer_for_iban(session, org_id, tx.counterparty_iban, lookup)
    if customer_id is None:
        return None
    candidates = sorted(
        _open_invoices(session, org_id, [Invoice.customer_id == customer_id, Invoice.currency == tx.currency]),
        key=lambda i: (i.due_date, i.number),
    )
    exact = [i for i in candidates if i.open_cents == tx.amount_cents]
    if len(exact) >= 1:
        return Match("iban_amount", (exact[0],))
    pool = candidates[:MAX_SUBSET_INVOICES]
    if sum(i.open_cents for i in pool) == tx.amount_cents:
        return Match("iban_amount", tuple(pool))
    for size in range(2, len(pool)):
        hits = [
            combo for combo in itertools.combinations(pool, size) if sum(i.open_cents for i in combo) == tx.amount_cents
        ]
        if len(hits) == 1:
            return Match("iban_amount", hits[0])
        if hits:
            return None  # ambiguous: a person decides
    return None


def find_match(session: Session, org_id: str, tx: BankTransaction, lookup: Lookup | None = None) -> Match | None:
    return (
        _by_reference(session, org_id, tx, lookup)
        or _by_number(session, org_id, tx, lookup)
        or _by_iban_amount(session, org_id, tx, lookup)
    )


def _remember_iban(session: Session, org_id: str, customer_id: str, iban: str | None, lookup: Lookup | None) -> None:
    if not iban:
        return
    if customer_id in _owners(session, org_id, iban, lookup):
        return
    # Lines are matched without autoflush: an account added for an earlier line of this same
    # statement is not in the database yet, and adding it twice breaks the unique key. The
    # accounts added in this session are kept by key (scanning ``session.new`` instead made an
    # import quadratic in its lines); one that was rolled back is neither pending nor persistent.
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
    lookup: Lookup | None = None,
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
    _remember_iban(session, tx.org_id, customer_id, tx.counterparty_iban, lookup)
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


def import_statement(session: Session, org: Organisation, data: bytes, filename: str) -> ImportSummary:
    """Parse, store and reconcile a statement file in the caller's transaction."""
    statements = parse_statement(data, filename)
    summary = ImportSummary(statements=len(statements))
    digest = hashlib.sha256(data).hexdigest()
    if session.scalar(
        select(BankStatement.id).where(BankStatement.org_id == org.id, BankStatement.file_sha256 == digest)
    ):
        summary.lines = summary.duplicates = sum(len(s.entries) for s in statements)
        return summary
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
    session.flush()
    # Lines are matched without a flush before every query (which made each line cost a dozen
    # round trips); queries read the database as of the last flush, so what they return is
    # re-checked against this transaction's objects in memory (see ``_open_invoices``).
    with session.no_autoflush:
        for statement in statements:
            for start in range(0, len(statement.entries), FLUSH_EVERY):
                _import_lines(session, org, stored, statement.entries[start : start + FLUSH_EVERY], summary)
                session.flush()
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
    )
    return summary


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
    credits: list[BankTransaction] = []
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
        tx = BankTransaction(
            id=new_id("btx"),
            org_id=org.id,
            statement_id=stored.id,
            dedupe_key=entry.dedupe_key,
            booking_date=entry.booking_date,
            value_date=entry.value_date,
            amount_cents=entry.amount_cents,
            currency=entry.currency or "EUR",
            counterparty_name=(entry.counterparty_name or "")[:200] or None,
            counterparty_iban=(entry.counterparty_iban or "").replace(" ", "").upper()[:34] or None,
            remittance=entry.remittance_text,
            structured_reference=(entry.structured_reference or "")[:64] or None,
            end_to_end_id=(entry.end_to_end_id or "")[:100] or None,
            status=status,
        )
        session.add(tx)
        summary.new += 1
        summary.transaction_ids.append(tx.id)
        if status == "unmatched":
            credits.append(tx)
    # Then the credits, in the statement's order, against what the batch's lookup read.
    lookup = Lookup.load(session, org.id, credits)
    for tx in credits:
        summary.credits += 1
        match = find_match(session, org.id, tx, lookup)
        if match is None:
            summary.unmatched += 1
            continue
        settle_transaction(session, tx, match.invoices[0].customer_id, _auto_allocations(match, tx.amount_cents),
                           rule=match.rule, lookup=lookup)  # fmt: skip
        summary.matched += 1
        summary.matched_cents += tx.amount_cents


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
