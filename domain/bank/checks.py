"""Do a file's statements add up, and does each follow the one before it?

Two checks on the balances a bank states, neither of which stops an import by itself:

* a statement adds up when its opening balance plus its credits minus its debits is its
  closing balance; one that does not has a line missing or doubled (or the bank's export
  is wrong);
* a statement follows the previous one for its account (and currency) when it opens at
  the balance that one closed at; one that does not means a statement in between was
  never imported.

"The previous one" is the statement before it in the same file, or else the last one
imported for that account, as the caller gives it (``Previous``). An older statement
imported after a newer one (a backfill: its closing date is before the previous
one's) and the same statement exported again (same number, balances and dates) are
not compared. A statement without both balances is not checked.

Nothing here touches a database: ``reconcile.import_statement`` reads the previous
closing balances, reports the ``BalanceWarning``s and, when asked to be strict, refuses
the file with a ``BalanceRefused`` (a ``StatementError``, so it is refused where any
unreadable file is).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from domain.bank.model import Statement, StatementError, format_cents

Kind = Literal["does_not_add_up", "opening_is_not_previous_closing"]


@dataclass(frozen=True, slots=True)
class Previous:
    """The last statement imported for an account, as the import recorded it."""

    statement_id: str | None
    number: str | None
    opening_cents: int | None
    closing_cents: int
    closing_date: dt.date | None
    file: str | None = None


@dataclass(frozen=True, slots=True)
class BalanceWarning:
    kind: Kind
    position: int  # the statement's place in the file, from 1
    statement_id: str | None
    number: str | None
    account: str | None
    difference_cents: int  # what is unexplained: closing - (opening + lines), or opening - previous closing
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "position": self.position,
            "statement": self.statement_id,
            "number": self.number,
            "account": self.account,
            "difference_cents": self.difference_cents,
            "message": self.message,
        }


class BalanceRefused(StatementError):
    """A strict import of a file with a statement that does not add up or does not follow."""

    def __init__(self, filename: str, warnings: Sequence[BalanceWarning]) -> None:
        first = warnings[0]
        super().__init__(
            f"{filename}, statement {first.position}",
            "; ".join(w.message for w in warnings) + " (refused because the import is strict)",
        )
        self.warnings = tuple(warnings)


def _names(s: Statement | Previous) -> list[str]:
    return ([repr(s.statement_id)] if s.statement_id else []) + ([f"number {s.number}"] if s.number else [])


def label(position: int, s: Statement, account: str | None) -> str:
    """``statement 2 ('940S130101', number 0/2, account NL71RABO0123456789)``."""
    parts = _names(s) + ([f"account {account}"] if account else [])
    return f"statement {position}" + (f" ({', '.join(parts)})" if parts else "")


def key(s: Statement) -> tuple[str, str] | None:
    if not s.account_iban:
        return None
    return "".join(s.account_iban.split()).upper(), s.currency or ""


def as_previous(s: Statement, file: str | None = None) -> Previous | None:
    if s.closing_balance_cents is None:
        return None
    return Previous(s.statement_id, s.number, s.opening_balance_cents, s.closing_balance_cents, s.closing_date, file)


def record_of(position: int, s: Statement) -> dict[str, Any]:
    """What the import event keeps of a statement, so that the next import can find it."""
    k = key(s)
    return {
        "position": position,
        "statement": s.statement_id,
        "number": s.number,
        "account": k[0] if k else None,
        "currency": s.currency,
        "opening_cents": s.opening_balance_cents,
        "closing_cents": s.closing_balance_cents,
        "opening_date": s.opening_date.isoformat() if s.opening_date else None,
        "closing_date": s.closing_date.isoformat() if s.closing_date else None,
    }


def previous_from_record(item: Mapping[str, Any], file: str | None) -> tuple[tuple[str, str], Previous] | None:
    """The inverse of ``record_of``: the account key and the statement, or None for a record without them."""
    try:
        account, closing = item.get("account"), item.get("closing_cents")
        if not isinstance(account, str) or not isinstance(closing, int):
            return None
        day = item.get("closing_date")
        opening = item.get("opening_cents")
        return (account, str(item.get("currency") or "")), Previous(
            item.get("statement"),
            item.get("number"),
            opening if isinstance(opening, int) else None,
            closing,
            dt.date.fromisoformat(day) if isinstance(day, str) else None,
            file,
        )
    except (AttributeError, ValueError):
        return None


def check(statements: Sequence[Statement], previous: Mapping[tuple[str, str], Previous]) -> list[BalanceWarning]:
    """The warnings for a file's statements, in file order; ``previous`` is what was imported before."""
    out: list[BalanceWarning] = []
    last = dict(previous)
    for position, s in enumerate(statements, start=1):
        k = key(s)
        account = k[0] if k else s.account_iban
        diff = s.difference_cents
        if diff:
            assert s.opening_balance_cents is not None and s.closing_balance_cents is not None
            credits = sum(e.amount_cents for e in s.entries if e.amount_cents > 0)
            debits = -sum(e.amount_cents for e in s.entries if e.amount_cents < 0)
            adds = s.opening_balance_cents + credits - debits
            out.append(
                BalanceWarning(
                    "does_not_add_up", position, s.statement_id, s.number, account, diff,
                    f"{label(position, s, account)} does not add up: opening balance"
                    f" {format_cents(s.opening_balance_cents)} + credits {format_cents(credits)}"
                    f" - debits {format_cents(debits)} = {format_cents(adds)},"
                    f" but its closing balance is {format_cents(s.closing_balance_cents)}"
                    f" (difference {format_cents(diff)}): a line missing or doubled?",
                )
            )  # fmt: skip
        if k is None:
            continue
        before = last.get(k)
        if before is not None and s.opening_balance_cents is not None and _comparable(s, before):
            gap = s.opening_balance_cents - before.closing_cents
            if gap:
                parts = _names(before) + ([f"in {before.file}"] if before.file else [])
                earlier = f" ({', '.join(parts)})" if parts else ""
                out.append(
                    BalanceWarning(
                        "opening_is_not_previous_closing", position, s.statement_id, s.number, account, gap,
                        f"{label(position, s, account)} opens at {format_cents(s.opening_balance_cents)}, but the"
                        f" previous statement of the account{earlier} closed at {format_cents(before.closing_cents)}"
                        f" (difference {format_cents(gap)}): a statement missing?",
                    )
                )  # fmt: skip
        here = as_previous(s)
        if here is not None:
            last[k] = here
    return out


def _comparable(s: Statement, before: Previous) -> bool:
    if s.closing_date and before.closing_date and s.closing_date < before.closing_date:
        return False  # an older statement imported after a newer one
    same = (s.statement_id, s.number, s.opening_balance_cents, s.closing_balance_cents, s.closing_date) == (
        before.statement_id,
        before.number,
        before.opening_cents,
        before.closing_cents,
        before.closing_date,
    )
    return not same  # the same statement again (another export of it): its lines are deduplicated
