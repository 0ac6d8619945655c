"""Turning an accounting package's export into invoices, all or nothing.

A file is parsed completely before anything is written. Every problem is
reported with its line (CSV) or element (UBL); if there is one, nothing is
imported. Customers are matched by external reference or created; invoices
whose number already exists are skipped, so importing a file twice is safe.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import customers as customers_mod
from domain import invoices as invoices_mod
from domain.errors import Conflict, DomainError
from domain.models import Customer, Organisation
from domain.money import MoneyError, parse_amount, parse_currency

COLUMNS = (
    "number", "customer_external_ref", "customer_name", "customer_email", "customer_kind", "customer_locale",
    "issue_date", "due_date", "amount", "currency", "open_amount", "payment_reference", "description",
)  # fmt: skip
REQUIRED = ("number", "customer_external_ref", "issue_date", "amount")
MAX_ROWS = 100_000
MAX_BYTES = 50_000_000  # as for bank statements; 100,000 CSV rows fit in well under half of it


class ImportFailed(Exception):
    """The file cannot be imported; ``problems`` name each line or element and what is wrong."""

    def __init__(self, file: str, problems: list[str]) -> None:
        self.file = file
        self.problems = problems
        super().__init__(f"{file}: " + "; ".join(problems[:20]) + (" …" if len(problems) > 20 else ""))


@dataclass(frozen=True)
class InvoiceRow:
    where: str  # "line 7" or "Invoice/cbc:ID"
    number: str
    customer_external_ref: str
    customer_name: str | None
    customer_email: str | None
    customer_kind: str | None
    customer_locale: str | None
    issue_date: dt.date
    due_date: dt.date | None
    amount_cents: int
    currency: str
    open_cents: int | None
    payment_reference: str | None
    description: str | None


@dataclass
class ImportResult:
    created: int = 0
    skipped: int = 0
    customers_created: int = 0
    skipped_numbers: list[str] = field(default_factory=list)


_NL_AMOUNT = re.compile(r"^-?\d{1,3}(\.\d{3})*,\d{1,2}$|^-?\d+,\d{1,2}$")


def _amount(text: str) -> int:
    text = text.strip().replace("€", "").replace(" ", "")
    if _NL_AMOUNT.match(text):  # Dutch notation from a spreadsheet: 1.250,00
        text = text.replace(".", "").replace(",", ".")
    return parse_amount(text)


def _date(text: str) -> dt.date:
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"{text!r} is not a date (use YYYY-MM-DD)")


def parse_csv(data: bytes, name: str) -> list[InvoiceRow]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFailed(name, [f"not UTF-8 text (byte {exc.start})"]) from None
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ImportFailed(name, [f"line 1: missing column(s) {', '.join(missing)}; columns are {', '.join(COLUMNS)}"])
    reader.fieldnames = header
    rows: list[InvoiceRow] = []
    problems: list[str] = []
    for raw in reader:
        line = reader.line_num
        if len(rows) >= MAX_ROWS:
            problems.append(f"more than {MAX_ROWS} rows; split the file")
            break
        if None in raw:
            problems.append(f"line {line}: more fields than columns in the header")
            continue
        rec = {k: (v or "").strip() for k, v in raw.items()}
        if not any(rec.values()):
            continue
        try:
            rows.append(_row(f"line {line}", rec))
        except ValueError as exc:
            problems.append(f"line {line}: {exc}")
    if problems:
        raise ImportFailed(name, problems)
    return rows


def _row(where: str, rec: dict[str, str]) -> InvoiceRow:
    for col in REQUIRED:
        if not rec.get(col):
            raise ValueError(f"{col} is empty")

    def opt(col: str) -> str | None:
        return rec.get(col) or None

    try:
        amount = _amount(rec["amount"])
        if amount <= 0:
            raise MoneyError("must be greater than zero")
    except MoneyError as exc:
        raise ValueError(f"amount {exc}") from None
    open_cents = None
    if opt("open_amount"):
        try:
            open_cents = _amount(rec["open_amount"])
        except MoneyError as exc:
            raise ValueError(f"open_amount {exc}") from None
    try:
        currency = parse_currency(rec.get("currency") or "EUR")
    except MoneyError as exc:
        raise ValueError(f"currency {exc}") from None
    try:
        issue = _date(rec["issue_date"])
    except ValueError as exc:
        raise ValueError(f"issue_date {exc}") from None
    due = None
    if opt("due_date"):
        try:
            due = _date(rec["due_date"])
        except ValueError as exc:
            raise ValueError(f"due_date {exc}") from None
        if due < issue:
            raise ValueError("due_date is before issue_date")
    kind = opt("customer_kind")
    if kind is not None and kind not in customers_mod.KINDS:
        raise ValueError("customer_kind must be business or consumer")
    locale = opt("customer_locale")
    if locale is not None and locale not in customers_mod.LOCALES:
        raise ValueError("customer_locale must be nl or en")
    return InvoiceRow(
        where=where, number=rec["number"], customer_external_ref=rec["customer_external_ref"],
        customer_name=opt("customer_name"), customer_email=opt("customer_email"), customer_kind=kind,
        customer_locale=locale, issue_date=issue, due_date=due, amount_cents=amount, currency=currency,
        open_cents=open_cents, payment_reference=opt("payment_reference"), description=opt("description"),
    )


def parse_file(data: bytes, name: str) -> list[InvoiceRow]:
    """CSV, or UBL 2.1 XML (one Invoice per file), told apart by content; at most 50 MB."""
    if len(data) > MAX_BYTES:
        raise ImportFailed(name, [f"the file is larger than {MAX_BYTES // 1_000_000} MB; split it"])
    head = data.lstrip()[:200]
    if head.startswith(b"<?xml") or head.startswith(b"<"):
        from domain.imports.ubl import parse_ubl

        return parse_ubl(data, name)
    return parse_csv(data, name)


def _known_customers(session: Session, org_id: str, refs: list[str]) -> dict[str, str]:
    """external_ref -> customer id for those of ``refs`` that exist, a thousand per query."""
    out: dict[str, str] = {}
    for start in range(0, len(refs), invoices_mod.MAX_BULK):
        chunk = refs[start:start + invoices_mod.MAX_BULK]
        found = session.execute(
            select(Customer.external_ref, Customer.id)
            .where(Customer.org_id == org_id, Customer.external_ref.in_(chunk))
        )  # fmt: skip
        out.update((ref, customer_id) for ref, customer_id in found if ref is not None)
    return out


def apply(session: Session, org: Organisation, rows: list[InvoiceRow], name: str) -> ImportResult:
    """Write the rows in the caller's transaction; any refusal aborts the whole import.

    The invoices go through ``invoices.create_many`` a thousand at a time, as the bulk API's do."""
    result = ImportResult()
    problems: list[tuple[int, str]] = []
    seen: set[str] = set()
    firsts: list[tuple[int, InvoiceRow]] = []
    for i, row in enumerate(rows):
        if row.number in seen:
            result.skipped += 1
            result.skipped_numbers.append(row.number)
            continue
        seen.add(row.number)
        firsts.append((i, row))
    known = _known_customers(session, org.id, sorted({row.customer_external_ref for _, row in firsts}))
    ready: list[tuple[int, InvoiceRow, invoices_mod.NewInvoice]] = []
    for i, row in firsts:
        customer_id = known.get(row.customer_external_ref)
        try:
            if customer_id is None:
                if not row.customer_name:
                    raise ValueError(f"customer {row.customer_external_ref!r} is new and customer_name is empty")
                customer_id = known[row.customer_external_ref] = customers_mod.create(
                    session, org.id, name=row.customer_name, external_ref=row.customer_external_ref,
                    email=row.customer_email, kind=row.customer_kind or "business", locale=row.customer_locale or "nl",
                ).id
                result.customers_created += 1
        except (DomainError, ValueError) as exc:
            problems.append((i, _problem(row, exc)))
            continue
        ready.append((i, row, invoices_mod.NewInvoice(
            number=row.number, issue_date=row.issue_date, due_date=row.due_date, amount_cents=row.amount_cents,
            currency=row.currency, customer_id=customer_id, open_cents=row.open_cents,
            payment_reference=row.payment_reference, description=row.description,
        )))  # fmt: skip
    for start in range(0, len(ready), invoices_mod.MAX_BULK):
        chunk = ready[start:start + invoices_mod.MAX_BULK]
        outcomes = invoices_mod.create_many(session, org, [new for _, _, new in chunk])
        for (i, row, _), outcome in zip(chunk, outcomes, strict=True):
            if not isinstance(outcome, DomainError):
                result.created += 1
            elif isinstance(outcome, Conflict) and outcome.field == "number":
                result.skipped += 1
                result.skipped_numbers.append(row.number)
            else:
                problems.append((i, _problem(row, outcome)))
    if problems:
        raise ImportFailed(name, [message for _, message in sorted(problems)])
    return result


def _problem(row: InvoiceRow, exc: Exception) -> str:
    if isinstance(exc, DomainError):
        field = f"{exc.field}: " if exc.field and not isinstance(exc, Conflict) else ""
        return f"{row.where}: {field}{exc.message}"
    return f"{row.where}: {exc}"
