"""What a bank statement says, as plain data: the same shape for CAMT.053 and MT940."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field


class StatementError(ValueError):
    """A file that is not a statement we can read; ``where`` names the file and line or element."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


@dataclass(frozen=True)
class Entry:
    """One booked line. ``amount_cents`` is signed: credits (money in) positive."""

    booking_date: dt.date
    value_date: dt.date | None
    amount_cents: int
    currency: str
    counterparty_name: str | None
    counterparty_iban: str | None
    remittance_text: str | None
    structured_reference: str | None
    end_to_end_id: str | None
    bank_reference: str | None
    is_reversal: bool
    dedupe_key: str


@dataclass(frozen=True)
class Statement:
    format: str  # camt053 | mt940
    statement_id: str | None
    account_iban: str | None
    currency: str | None
    opening_balance_cents: int | None
    closing_balance_cents: int | None
    entries: tuple[Entry, ...] = field(default_factory=tuple)


def dedupe_key(account: str | None, position: int, *parts: object) -> str:
    """Stable across re-imports of the same file; two identical payments on one statement differ by position."""
    text = "|".join(str(p) for p in (account, position, *parts))
    return hashlib.sha256(text.encode()).hexdigest()[:40]
