"""What a bank statement says, as plain data: the same shape for CAMT.053 and MT940.

Amounts are integer cents, signed from the account holder's side: a credit (money
in) is positive, a debit (money out) negative. A reversal keeps the sign of the
booking itself: the return of a collected direct debit is a negative line with
``is_reversal`` set.

``dedupe_key`` is what makes importing the same statement twice harmless. It is a
SHA-256 over the line's account, booking date, amount, currency, references and
text, plus a tiebreaker: how many identical lines came before it in the same
statement. Re-importing a file therefore gives the same keys, two identical
payments on one statement stay distinct (ordinal 0 and 1), and a line that turns up
again in an overlapping export (another date range, the same bank format) gets the
same key as before, because the tiebreaker counts only identical lines rather than
every line above it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

Format = Literal["camt053", "mt940"]

# The largest amount (and balance) read, in cents: 99,999,999,999.99. Anything larger is refused as
# not fitting, long before a 64-bit column or a sum of lines could overflow.
MAX_CENTS = 10**13 - 1


def format_cents(cents: int) -> str:
    """``-123456`` -> ``-1,234.56``: an amount for a message (plain, no currency)."""
    sign = "-" if cents < 0 else ""
    units, rest = divmod(abs(cents), 100)
    return f"{sign}{units:,}.{rest:02d}"


class StatementError(Exception):
    """A file that is not a statement we can read.

    ``where`` names the file and the line (MT940, or XML that is not well-formed) or
    the element path (CAMT.053); ``message`` says what is wrong there.
    """

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


@dataclass(frozen=True, slots=True)
class Entry:
    """One booked line of a statement."""

    booking_date: dt.date
    value_date: dt.date | None
    amount_cents: int  # signed: credits positive, debits negative
    currency: str
    counterparty_name: str | None
    counterparty_iban: str | None  # the other party's IBAN; None when the bank gives only an old account number
    remittance_text: str | None  # unstructured remittance information, joined into one line
    structured_reference: str | None  # creditor reference: betalingskenmerk or ISO 11649 RF, as the bank gives it
    end_to_end_id: str | None  # the payer's end-to-end reference (SEPA EndToEndId, MT940 /EREF/)
    bank_reference: str | None  # the bank's own reference for the booking
    is_reversal: bool  # a reversal or return (RvslInd, return info, MT940 RC/RD marks, /RTRN/)
    dedupe_key: str
    return_reason: str | None = None  # ISO reason code of a return (e.g. MD06, AM04), when given
    mandate_reference: str | None = None  # SEPA direct debit mandate (MndtId, /MARF/)


@dataclass(frozen=True, slots=True)
class Statement:
    format: Format
    statement_id: str | None  # CAMT Stmt/Id; MT940 :20:
    account_iban: str | None  # the account's IBAN, or its account number when the file has no IBAN
    currency: str | None
    opening_balance_cents: int | None  # signed; None when the file has none in the statement's currency
    closing_balance_cents: int | None
    entries: tuple[Entry, ...] = field(default_factory=tuple)
    number: str | None = None  # the bank's statement number: MT940 :28C:, CAMT LglSeqNb or ElctrncSeqNb
    opening_date: dt.date | None = None  # the dates the balances are given for, when the file gives them
    closing_date: dt.date | None = None

    @property
    def difference_cents(self) -> int | None:
        """What the lines leave unexplained: closing - (opening + lines); 0 when it adds up."""
        if self.opening_balance_cents is None or self.closing_balance_cents is None:
            return None
        return self.closing_balance_cents - self.opening_balance_cents - sum(e.amount_cents for e in self.entries)

    @property
    def is_balanced(self) -> bool | None:
        """Opening balance plus the lines equals the closing balance; None when a balance is missing."""
        if self.opening_balance_cents is None or self.closing_balance_cents is None:
            return None
        return self.opening_balance_cents + sum(e.amount_cents for e in self.entries) == self.closing_balance_cents


@dataclass(slots=True)
class EntryDraft:
    """An ``Entry`` before its ``dedupe_key`` is known (that needs the whole statement)."""

    booking_date: dt.date
    value_date: dt.date | None
    amount_cents: int
    currency: str
    counterparty_name: str | None = None
    counterparty_iban: str | None = None
    remittance_text: str | None = None
    structured_reference: str | None = None
    end_to_end_id: str | None = None
    bank_reference: str | None = None
    is_reversal: bool = False
    return_reason: str | None = None
    mandate_reference: str | None = None

    def fingerprint(self, account: str | None) -> str:
        parts = [
            (account or "").replace(" ", "").upper(),
            self.booking_date.isoformat(),
            self.amount_cents,
            self.currency,
            self.is_reversal,
            self.bank_reference,
            self.end_to_end_id,
            self.structured_reference,
            self.counterparty_iban,
            " ".join((self.remittance_text or "").split()),
        ]
        return json.dumps(parts, ensure_ascii=True, separators=(",", ":"))


def build_entries(account: str | None, drafts: Iterable[EntryDraft]) -> tuple[Entry, ...]:
    """Freeze the drafts of one statement, giving each its dedupe key."""
    seen: Counter[str] = Counter()
    out: list[Entry] = []
    for d in drafts:
        fingerprint = d.fingerprint(account)
        ordinal = seen[fingerprint]
        seen[fingerprint] += 1
        key = hashlib.sha256(f"{fingerprint}#{ordinal}".encode()).hexdigest()
        out.append(
            Entry(
                booking_date=d.booking_date,
                value_date=d.value_date,
                amount_cents=d.amount_cents,
                currency=d.currency,
                counterparty_name=d.counterparty_name,
                counterparty_iban=d.counterparty_iban,
                remittance_text=d.remittance_text,
                structured_reference=d.structured_reference,
                end_to_end_id=d.end_to_end_id,
                bank_reference=d.bank_reference,
                is_reversal=d.is_reversal,
                dedupe_key=key,
                return_reason=d.return_reason,
                mandate_reference=d.mandate_reference,
            )
        )
    return tuple(out)


_CENT = Decimal("0.01")


def decimal_to_cents(value: Decimal) -> int:
    """Cents from a decimal amount, rounding a sub-cent rest half up (away from zero)."""
    return int((value.quantize(_CENT, rounding=ROUND_HALF_UP) * 100).to_integral_value())


_IBAN_SHAPE = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}")


def iban_or_none(value: str | None) -> str | None:
    """``value`` without spaces and upper-cased when it has the shape of an IBAN, else None.

    Only the shape is checked, not the mod-97 check digits: a bank that labels a value as
    the counterparty's IBAN is believed (test files often carry made-up IBANs).
    """
    if not value:
        return None
    compact = "".join(value.split()).upper()
    return compact if _IBAN_SHAPE.fullmatch(compact) else None


def iban_checks_out(value: str) -> bool:
    """The ISO 13616 mod-97 check of an IBAN-shaped string (for IBANs found in free text)."""
    compact = "".join(value.split()).upper()
    if not _IBAN_SHAPE.fullmatch(compact):
        return False
    digits = "".join(str(int(c, 36)) for c in compact[4:] + compact[:4])
    return int(digits) % 97 == 1


def join_text(parts: Iterable[str | None], wrap_at: int | None = None) -> str | None:
    """Pieces of remittance text as one line with single spaces.

    A piece exactly ``wrap_at`` characters long was cut by the bank's line length, so
    the next piece continues it without a space (MT940 lines of 65, CAMT Ustrd of 140).
    """
    out = ""
    glue = False
    for raw in parts:
        if raw is None:
            continue
        piece = raw.replace("\r", "")
        if not piece.strip():
            glue = False
            continue
        if out and not glue:
            out += " "
        out += piece
        glue = wrap_at is not None and len(piece) >= wrap_at and not piece.endswith(" ")
    text = " ".join(out.split())
    return text or None
