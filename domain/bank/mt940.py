"""MT940 statements, including the Dutch banks' structured ``:86:`` fields.

The tags are simple enough to read directly; the maintained ``mt-940`` package
chokes on variants Dutch banks really send (ASN's IBAN after the transaction
type, Rabobank's zero-padded amounts), so this reader is tolerant where banks
differ and strict where a file is broken: a missing closing balance, an amount
that is not a number, or a line outside any statement is an error naming its line.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from domain.bank.model import Entry, Statement, StatementError, dedupe_key

_TAG = re.compile(r"^:(\d{2}[A-Z]?):(.*)$")
_BALANCE = re.compile(r"^([CD])(\d{6})([A-Z]{3})([\d,]+)$")
_LINE61 = re.compile(
    r"^(?P<date>\d{6})(?P<entry>\d{4})?(?P<mark>R?[CD])(?P<funds>[A-Z])?(?P<amount>\d[\d,]*)"
    r"(?P<type>[NFS][A-Z0-9]{3})?(?P<rest>.*)$"
)
_STRUCT = re.compile(
    r"/(EREF|REMI|NAME|IBAN|CSID|MARF|ORDP|BENM|BIC|CNTP|TRTP|PREF|RTRN|ISDT|ADDR|UDTR|ULTD|PURP|SVCL)/"
)
_IBAN = re.compile(r"\b([A-Z]{2}\d{2}[A-Z0-9]{10,30})\b")


def _date(text: str, where: str) -> dt.date:
    try:
        return dt.date(2000 + int(text[:2]), int(text[2:4]), int(text[4:6]))
    except ValueError:
        raise StatementError(where, f"{text!r} is not a date (YYMMDD)") from None


def _cents(text: str, where: str) -> int:
    try:
        value = Decimal(text.replace(",", "."))
    except InvalidOperation:
        raise StatementError(where, f"{text!r} is not an amount") from None
    return int((value * 100).to_integral_value())


def _structured(text: str) -> dict[str, str]:
    """``/EREF/x/REMI/y/BENM//NAME/z`` -> {"EREF": "x", "REMI": "y", "NAME": "z"}."""
    flat = text.replace("\n", "")
    out: dict[str, str] = {}
    positions = [(m.start(), m.end(), m.group(1)) for m in _STRUCT.finditer(flat)]
    for i, (_, end, key) in enumerate(positions):
        stop = positions[i + 1][0] if i + 1 < len(positions) else len(flat)
        value = flat[end:stop].strip("/ ").strip()
        if key in ("ORDP", "BENM", "CNTP") or not value:
            continue
        out.setdefault(key, value)
    return out


def _details(info: str, sup_iban: str | None, sup_name: str | None) -> dict[str, str | None]:
    """Counterparty, IBAN, reference and remittance from a :86: block (structured or free text)."""
    fields = _structured(info) if "/" in info and _STRUCT.search(info.replace("\n", "")) else {}
    if "CNTP" in info and not fields.get("IBAN"):
        m = re.search(r"/CNTP/([^/]*)/([^/]*)/([^/]*)/", info.replace("\n", ""))
        if m:
            fields.setdefault("IBAN", m.group(1))
            fields.setdefault("NAME", m.group(3))
    iban = fields.get("IBAN") or sup_iban
    if not iban:
        m = _IBAN.search(info.replace("\n", " "))
        iban = m.group(1) if m else None
    if not fields.get("NAME"):
        m = re.search(r"NAAM: ?([^/\n]+)", info)
        if m:
            fields["NAME"] = m.group(1).strip()
    remittance = fields.get("REMI")
    if remittance is None:
        remittance = " ".join(line.strip() for line in info.splitlines() if line.strip()) or None
    structured = None
    if remittance and remittance.startswith("CUR/"):
        remittance = remittance[4:]
    m = re.search(r"(?:ISSUER/CUR/|CUR/)?(RF\d{2}[A-Z0-9]{1,21}|\d{16})", fields.get("REMI", "") or "")
    if m:
        structured = m.group(1)
    return {
        "name": fields.get("NAME") or sup_name,
        "iban": iban,
        "remittance": remittance,
        "structured": structured,
        "eref": fields.get("EREF"),
    }


@dataclass
class _Pending:
    """A :61: line waiting for its :86: description."""

    booking: dt.date
    value: dt.date
    amount: int
    reversal: bool
    reference: str
    iban: str | None
    name: str | None
    info: list[str] = field(default_factory=list)


def parse(data: bytes, name: str) -> list[Statement]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # older Dutch bank exports
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    blocks: list[list[tuple[int, str, str]]] = []  # per statement: (line number, tag, value)
    current: list[tuple[int, str, str]] | None = None
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip()
        m = _TAG.match(line)
        if m:
            tag, value = m.group(1), m.group(2)
            if tag == "20":
                current = []
                blocks.append(current)
            if current is None:
                if tag in ("940",):
                    continue
                raise StatementError(f"{name}, line {number}", f"tag :{tag}: before the statement's :20:")
            current.append((number, tag, value))
            continue
        if current is not None and current and line and not line.startswith(("-}", "{", "-")):
            n, tag, value = current[-1]
            current[-1] = (n, tag, value + "\n" + line)
    if not blocks:
        raise StatementError(name, "no MT940 statement found (no :20: tag)")
    return [_statement(block, name) for block in blocks]


def _statement(block: list[tuple[int, str, str]], name: str) -> Statement:
    account = statement_id = currency = None
    opening = closing = None
    entries: list[Entry] = []
    pending: _Pending | None = None

    def flush() -> None:
        nonlocal pending
        if pending is None:
            return
        e = pending
        info = "\n".join(e.info)
        d = _details(info, e.iban, e.name)
        position = len(entries)
        entries.append(
            Entry(
                booking_date=e.booking,
                value_date=e.value,
                amount_cents=e.amount,
                currency=currency or "EUR",
                counterparty_name=d["name"],
                counterparty_iban=d["iban"],
                remittance_text=d["remittance"],
                structured_reference=d["structured"],
                end_to_end_id=d["eref"] or (str(e.reference) or None),
                bank_reference=str(e.reference) or None,
                is_reversal=bool(e.reversal),
                dedupe_key=dedupe_key(account, position, statement_id, e.value, e.amount, e.reference, info),
            )
        )
        pending = None

    for number, tag, value in block:
        where = f"{name}, line {number}"
        if tag == "25":
            account = value.strip()
        elif tag == "20":
            statement_id = value.strip()
        elif tag in ("60F", "60M", "62F", "62M"):
            value = value.split("\n", 1)[0]  # what follows a closing balance is the next message's header
            m = _BALANCE.match(value.strip())
            if not m:
                raise StatementError(where, f":{tag}: balance {value!r} is malformed")
            cents = _cents(m.group(4), where) * (1 if m.group(1) == "C" else -1)
            currency = currency or m.group(3)
            if tag.startswith("60"):
                opening = cents
            else:
                flush()
                closing = cents
        elif tag == "61":
            flush()
            first, _, supplementary = value.partition("\n")
            m = _LINE61.match(first.strip())
            if not m:
                raise StatementError(where, f":61: line {first!r} is malformed")
            value_date = _date(m.group("date"), where)
            booking = value_date
            if m.group("entry"):
                month, day = int(m.group("entry")[:2]), int(m.group("entry")[2:])
                try:
                    booking = dt.date(value_date.year, month, day)
                    if (booking - value_date).days > 180:
                        booking = booking.replace(year=booking.year - 1)
                    elif (value_date - booking).days > 180:
                        booking = booking.replace(year=booking.year + 1)
                except ValueError:
                    raise StatementError(where, f"entry date {m.group('entry')!r} is not a date") from None
            mark = m.group("mark")
            cents = _cents(m.group("amount"), where)
            sign = 1 if mark.endswith("C") else -1
            rest = m.group("rest") or ""
            reference = rest.split("//")[0].strip()
            # Older Rabobank lines: the counterparty's account number, spaces, then its name.
            old = re.match(r"^(\S+)\s{2,}(\S.*)$", reference)
            if old:
                reference, supplementary = old.group(1), old.group(2) + "\n" + supplementary
            if reference.upper() == "NONREF":
                reference = ""
            # Banks put the counterparty's IBAN after the type (ASN) or on the next line (Rabobank),
            # and sometimes a name on the line after that.
            lines = [ln.strip() for ln in supplementary.split("\n") if ln.strip()]
            iban = _IBAN.search(rest) or next((m for ln in lines if (m := _IBAN.fullmatch(ln))), None)
            names = [ln for ln in lines if not _IBAN.fullmatch(ln) and not re.fullmatch(r"[A-Z]?\d+", ln)]
            pending = _Pending(
                booking=booking,
                value=value_date,
                amount=sign * cents,
                reversal=mark.startswith("R"),
                reference="" if _IBAN.search(rest) else reference,
                iban=iban.group(1) if iban else None,
                name=names[0] if names else None,
            )
        elif tag == "86" and pending is not None:
            # Some banks (older Rabobank files) repeat :86: for each line of the description.
            pending.info.append(value)
    if pending is not None:
        flush()
    if closing is None:
        raise StatementError(name, f"statement {statement_id or '?'} has no closing balance (:62F:): truncated?")
    return Statement("mt940", statement_id, account, currency, opening, closing, tuple(entries))
