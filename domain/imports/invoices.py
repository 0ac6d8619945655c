"""Turning an accounting package's export into invoices, all or nothing.

A file is parsed completely before anything is written. Every problem is
reported with its line (CSV) or element (UBL); if there is one, nothing is
imported. Customers are matched by external reference (UBL: by the buyer's
identifiers, then name and e-mail) or created; invoices whose number already
exists are skipped, so importing a file twice is safe. A credit note (UBL) is
never a debt: it becomes a credit of the customer (a ``Payment`` with method
``credit_note``), allocated to the invoice its ``BillingReference`` names.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session

from domain import customers as customers_mod
from domain import invoices as invoices_mod
from domain import payments as payments_mod
from domain.errors import Conflict, DomainError, ValidationError
from domain.events import record
from domain.ids import new_id
from domain.models import Customer, Invoice, Organisation, Payment
from domain.money import MoneyError, format_amount, parse_amount, parse_currency
from domain.organisations import COUNTRIES

COLUMNS = (
    "number", "customer_external_ref", "customer_name", "customer_email", "customer_kind", "customer_locale",
    "issue_date", "due_date", "amount", "currency", "open_amount", "payment_reference", "description",
    "customer_country", "customer_phone",
)  # fmt: skip
REQUIRED = ("number", "customer_external_ref", "issue_date", "amount")
MAX_ROWS = 100_000
MAX_BYTES = 50_000_000  # as for bank statements; 100,000 CSV rows fit in well under half of it
MAX_FIELD = csv.field_size_limit()  # 131,072 characters: a longer field refuses the file
# Column widths of what an import writes (PostgreSQL refuses longer strings).
_WIDTHS = {"customer_external_ref": 100, "customer_name": 200, "customer_email": 254, "customer_phone": 50}
CREDIT_NOTE = "credit_note"  # Payment.method and Payment.provider of a credit note


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
    customer_external_ref: str | None  # the customer's external_ref if it is created
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
    kind: str = "invoice"  # "invoice", "credit_note", or "nothing_payable" (skipped, reported)
    billing_reference: str | None = None  # a credit note: the number of the invoice it credits
    customer_refs: tuple[str, ...] = ()  # identifiers to look the customer up by, in order
    reference_kind: str | None = None  # see NewInvoice.reference_kind
    match_by_name: bool = False  # no identifier known: look the customer up by name and e-mail
    customer_country: str | None = None  # NL or BE for a new customer; None: the organisation's
    customer_phone: str | None = None  # a new customer's phone, stored as E.164 (an invalid one refuses the row)

    @property
    def lookup_refs(self) -> tuple[str, ...]:
        if self.customer_refs:
            return self.customer_refs
        return (self.customer_external_ref,) if self.customer_external_ref else ()


@dataclass
class ImportResult:
    created: int = 0
    skipped: int = 0
    customers_created: int = 0
    skipped_numbers: list[str] = field(default_factory=list)
    credit_notes: int = 0  # credit notes registered as the customer's credit
    credited_cents: int = 0  # of which allocated to the invoices they name
    nothing_payable: list[str] = field(default_factory=list)  # documents with nothing to pay or credit

    def summary(self) -> str:
        parts = [f"{self.created} invoices imported", f"{self.skipped} skipped as already present",
                 f"{self.customers_created} new customers"]
        if self.credit_notes:
            parts.append(f"{self.credit_notes} credit notes registered as credit "
                         f"({format_amount(self.credited_cents)} allocated to the invoices they name)")
        if self.nothing_payable:
            parts.append(f"{len(self.nothing_payable)} skipped with nothing payable "
                         f"({', '.join(self.nothing_payable[:5])})")
        return ", ".join(parts)


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


def check_day(value: dt.date, where: str) -> dt.date:
    """The accepted window (``invoices.FIRST_DAY`` to ``LAST_DAY``) as a ValueError naming ``where``."""
    try:
        return invoices_mod.check_day(value, where)
    except DomainError as exc:
        raise ValueError(exc.message) from None


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _unclosed_quote(text: str, start: int, line: int, delimiter: str) -> int | None:
    """The line where a quoted field opens that is never closed, reading the CSV from ``start``
    (the beginning of a record, on line ``line``); None when every quote is closed. As the csv
    module reads: a quote opens a field only as its first character, ``""`` inside is a quote."""
    in_quote, field_start, opened, i, n = False, True, 0, start, len(text)
    while i < n:
        if in_quote:
            j = text.find('"', i)
            if j < 0:
                return opened
            line += text.count("\n", i, j)
            if text.startswith('""', j):
                i = j + 2
                continue
            in_quote, field_start, i = False, False, j + 1
            continue
        c = text[i]
        if c == '"' and field_start:
            in_quote, opened = True, line
        elif c == delimiter:
            field_start = True
            i += 1
            continue
        elif c == "\n":
            line += 1
            field_start = True
            i += 1
            continue
        field_start = False
        i += 1
    return opened if in_quote else None


def parse_csv(data: bytes, name: str) -> list[InvoiceRow]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFailed(name, [f"not UTF-8 text (byte {exc.start})"]) from None
    nul = text.find("\x00")
    if nul >= 0:
        raise ImportFailed(name, [f"line {_line_of(text, nul)}: holds a NUL character (is this a text file?)"])
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    try:
        fieldnames = reader.fieldnames
    except csv.Error as exc:
        raise ImportFailed(name, [f"line 1: {_csv_problem(exc)}"]) from None
    header = [h.strip().lower() for h in (fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        unclosed = _unclosed_quote(text, 0, 1, delimiter)
        if unclosed is not None:
            raise ImportFailed(name, [_unclosed_problem(unclosed)])
        raise ImportFailed(name, [f"line 1: missing column(s) {', '.join(missing)}; columns are {', '.join(COLUMNS)}"])
    reader.fieldnames = header
    rows: list[InvoiceRow] = []
    problems: list[str] = []
    records = iter(reader)
    last_start = reader.line_num + 1  # the line the record being read begins on
    while True:
        start = reader.line_num + 1
        try:
            raw = next(records)
        except StopIteration:
            break
        except csv.Error as exc:
            unclosed = _unclosed_quote(text, _offset_of_line(text, start), start, delimiter)
            if unclosed is not None:
                raise ImportFailed(name, [_unclosed_problem(unclosed)]) from None
            raise ImportFailed(name, [*problems, f"line {start}: {_csv_problem(exc)}"]) from None
        last_start = start
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
    # An unclosed quote swallows the rest of the file into the last record's field.
    unclosed = _unclosed_quote(text, _offset_of_line(text, last_start), last_start, delimiter)
    if unclosed is not None:
        raise ImportFailed(name, [_unclosed_problem(unclosed)])
    if problems:
        raise ImportFailed(name, problems)
    return rows


def _offset_of_line(text: str, line: int) -> int:
    offset = 0
    for _ in range(line - 1):
        nxt = text.find("\n", offset)
        if nxt < 0:
            return len(text)
        offset = nxt + 1
    return offset


def _unclosed_problem(line: int) -> str:
    return (f"line {line}: a quoted field opens here and is never closed (a missing \"), "
            "so the rest of the file would be read as one field")


def _csv_problem(exc: csv.Error) -> str:
    if "field larger than field limit" in str(exc):
        return f"a field is longer than {MAX_FIELD} characters"
    return f"not readable as CSV ({exc})"


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
    for col, width in _WIDTHS.items():
        if len(rec.get(col) or "") > width:
            raise ValueError(f"{col} is longer than {width} characters")
    try:
        issue = _date(rec["issue_date"])
    except ValueError as exc:
        raise ValueError(f"issue_date {exc}") from None
    check_day(issue, "issue_date")
    due = None
    if opt("due_date"):
        try:
            due = _date(rec["due_date"])
        except ValueError as exc:
            raise ValueError(f"due_date {exc}") from None
        check_day(due, "due_date")
        if due < issue:
            raise ValueError("due_date is before issue_date")
    kind = opt("customer_kind")
    if kind is not None and kind not in customers_mod.KINDS:
        raise ValueError("customer_kind must be business or consumer")
    locale = opt("customer_locale")
    if locale is not None and locale not in customers_mod.LOCALES:
        raise ValueError(f"customer_locale must be one of {', '.join(customers_mod.LOCALES)}")
    country = (opt("customer_country") or "").strip().upper() or None
    if country is not None and country not in COUNTRIES:
        raise ValueError(f"customer_country must be {' or '.join(COUNTRIES)} (or empty for the organisation's)")
    return InvoiceRow(
        where=where, number=rec["number"], customer_external_ref=rec["customer_external_ref"],
        customer_name=opt("customer_name"), customer_email=opt("customer_email"), customer_kind=kind,
        customer_locale=locale, issue_date=issue, due_date=due, amount_cents=amount, currency=currency,
        open_cents=open_cents, payment_reference=opt("payment_reference"), description=opt("description"),
        customer_country=country,
        customer_phone=opt("customer_phone"),
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


def _named_customers(session: Session, org_id: str, names: set[str]) -> dict[str, list[tuple[str, str | None]]]:
    """lower-cased name -> [(customer id, e-mail)] of the customers so named, a thousand names per query."""
    out: dict[str, list[tuple[str, str | None]]] = {}
    wanted = sorted(names)
    for start in range(0, len(wanted), invoices_mod.MAX_BULK):
        chunk = wanted[start:start + invoices_mod.MAX_BULK]
        found = session.execute(
            select(Customer.id, Customer.name, Customer.email)
            .where(Customer.org_id == org_id, func.lower(Customer.name).in_(chunk))
        )  # fmt: skip
        for customer_id, cname, email in found:
            out.setdefault(cname.strip().lower(), []).append((customer_id, email))
    return out


def _by_name(named: dict[str, list[tuple[str, str | None]]], row: InvoiceRow) -> str | None:
    """The customer of the buyer's name and e-mail (name alone when the document gives no e-mail
    and one customer has that name)."""
    if not row.customer_name:
        return None
    same = named.get(row.customer_name.strip().lower(), [])
    if row.customer_email:
        mail = row.customer_email.strip().lower()
        hits = [cid for cid, email in same if (email or "").strip().lower() == mail]
    else:
        hits = [cid for cid, _ in same]
    return hits[0] if len(hits) == 1 else None


def apply(session: Session, org: Organisation, rows: list[InvoiceRow], name: str) -> ImportResult:
    """Write the rows in the caller's transaction; any refusal aborts the whole import.

    The invoices go through ``invoices.create_many`` a thousand at a time, as the bulk API's do;
    credit notes become credits (``_credit``)."""
    try:
        return _apply(session, org, rows, name)
    except DataError as exc:  # a value the database refuses that the checks above let through
        reason = str(exc.orig).splitlines()[0] if exc.orig is not None else str(exc)
        raise ImportFailed(name, [f"the database refused a value: {reason}"]) from None


def _apply(session: Session, org: Organisation, rows: list[InvoiceRow], name: str) -> ImportResult:
    result = ImportResult()
    problems: list[tuple[int, str]] = []
    seen: set[tuple[str, str]] = set()
    firsts: list[tuple[int, InvoiceRow]] = []
    for i, row in enumerate(rows):
        if row.kind == "nothing_payable":
            result.nothing_payable.append(row.number)
            continue
        key = (row.kind, row.number)
        if key in seen:
            result.skipped += 1
            result.skipped_numbers.append(row.number)
            continue
        seen.add(key)
        firsts.append((i, row))
    known = _known_customers(session, org.id, sorted({ref for _, row in firsts for ref in row.lookup_refs}))
    unmatched = [row for _, row in firsts if not any(ref in known for ref in row.lookup_refs)]
    named = _named_customers(session, org.id, {row.customer_name.strip().lower() for row in unmatched
                                               if row.customer_name and row.match_by_name})
    ready: list[tuple[int, InvoiceRow, invoices_mod.NewInvoice]] = []
    credits: list[tuple[int, InvoiceRow, str]] = []
    for i, row in firsts:
        customer_id = next((known[ref] for ref in row.lookup_refs if ref in known), None)
        if customer_id is None and row.match_by_name:
            customer_id = _by_name(named, row)
        try:
            if customer_id is None:
                who = repr(row.customer_external_ref) if row.customer_external_ref else "without identifier"
                if not row.customer_name:
                    raise ValueError(f"customer {who} is new and customer_name is empty")
                customer_id = _create_customer(session, org, row)
                for ref in row.lookup_refs:
                    known.setdefault(ref, customer_id)
                named.setdefault(row.customer_name.strip().lower(), []).append((customer_id, row.customer_email))
                result.customers_created += 1
        except (DomainError, ValueError) as exc:
            problems.append((i, _problem(row, exc)))
            continue
        if row.kind == "credit_note":
            credits.append((i, row, customer_id))
            continue
        ready.append((i, row, invoices_mod.NewInvoice(
            number=row.number, issue_date=row.issue_date, due_date=row.due_date, amount_cents=row.amount_cents,
            currency=row.currency, customer_id=customer_id, open_cents=row.open_cents,
            payment_reference=row.payment_reference, description=row.description,
            reference_kind=row.reference_kind,
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
    for _, row, customer_id in credits:
        _credit(session, org, row, customer_id, result)
    return result


def _credit(session: Session, org: Organisation, row: InvoiceRow, customer_id: str, result: ImportResult) -> None:
    """A credit note as the customer's credit: a ``Payment`` (method ``credit_note``, its number as
    ``provider_payment_id``, so importing it again registers nothing), allocated to the invoice its
    ``BillingReference`` names when that is an open invoice of this customer in its currency (which
    may then be paid in full); what is not allocated stays as unallocated credit."""
    already = session.scalar(select(Payment.id).where(
        Payment.org_id == org.id, Payment.provider == CREDIT_NOTE, Payment.provider_payment_id == row.number))
    if already is not None:
        result.skipped += 1
        result.skipped_numbers.append(row.number)
        return
    payment = Payment(
        id=new_id("pay"), org_id=org.id, customer_id=customer_id, amount_cents=row.amount_cents,
        currency=row.currency, status="paid", method=CREDIT_NOTE, provider=CREDIT_NOTE,
        provider_payment_id=row.number, received_on=row.issue_date, unallocated_cents=row.amount_cents,
        reference=f"credit note {row.number}", requested_invoice_ids=[], refunded_cents=0,
    )  # fmt: skip
    session.add(payment)
    allocated: list[dict[str, object]] = []
    if row.billing_reference:
        target = session.scalar(select(Invoice).where(
            Invoice.org_id == org.id, Invoice.customer_id == customer_id, Invoice.number == row.billing_reference,
        ).with_for_update())  # fmt: skip
        if (target is not None and target.status in invoices_mod.UNSETTLED and target.open_cents > 0
                and target.currency == row.currency):
            cents = min(row.amount_cents, target.open_cents)
            payments_mod.settle(session, target, cents, payment)
            payment.unallocated_cents -= cents
            result.credited_cents += cents
            allocated.append({"invoice_id": target.id, "amount_cents": cents})
    record(session, org.id, "payment.registered", payment, amount_cents=row.amount_cents, allocated=allocated,
           unallocated_cents=payment.unallocated_cents, credit_note=row.number)
    result.credit_notes += 1


def _create_customer(session: Session, org: Organisation, row: InvoiceRow) -> str:
    """A new customer from the row; a phone that is not a valid number refuses the row, naming
    the column (the UBL element) it came from."""
    try:
        return customers_mod.create(
            session, org.id, name=row.customer_name, external_ref=row.customer_external_ref,
            email=row.customer_email, kind=row.customer_kind or "business", locale=row.customer_locale or "nl",
            country=row.customer_country, phone=row.customer_phone,
        ).id
    except ValidationError as exc:
        if exc.field != "phone":
            raise
        source = "customer_phone" if row.where.startswith("line") else "cac:Contact/cbc:Telephone"
        raise ValueError(f"{source} {exc.message}") from None


def _problem(row: InvoiceRow, exc: Exception) -> str:
    if isinstance(exc, DomainError):
        field = f"{exc.field}: " if exc.field and not isinstance(exc, Conflict) else ""
        return f"{row.where}: {field}{exc.message}"
    return f"{row.where}: {exc}"
