"""Dutch statutory interest (wettelijke rente and wettelijke handelsrente).

A debtor who is in default (verzuim) with paying a sum of money owes, as fixed
damages, statutory interest over that sum for the time of the default:

* ``consumer``: the ordinary wettelijke rente of art. 6:119 BW, fixed by order
  in council (art. 6:120 lid 1 BW) and owed in every relationship that is not a
  commercial contract, so in particular by consumers;
* ``commercial``: the wettelijke handelsrente of art. 6:119a BW for commercial
  contracts between businesses: the ECB main refinancing rate plus eight
  points (art. 6:120 lid 2 BW), re-determined every 1 January and 1 July.

Both rates are reviewed on 1 January and 1 July (the table itself accepts any
start date, as older history needs). The rates live in a data
table (``statutory_interest_rates.csv`` next to this module, or any
``RateTable`` the caller passes), so a new half-year is a data change, not a
code change.

Conventions, chosen to match how Dutch courts and the usual calculators work:

* ``start`` is the first day of default, normally the day after the due date.
  Interest runs for every day ``d`` with ``start <= d < as_of``: ``as_of`` (the
  payment or calculation date) itself is not counted.
* Day count is actual/365: each day is 1/365 of the yearly rate, also in a leap
  year (a year containing 29 February therefore earns 366/365 of the rate).
* Compounding (art. 6:119 lid 2 and art. 6:119a lid 3 BW): after each full year
  of default, counted from ``start``, the interest over that year is added to the
  sum on which interest runs. A year starting on 29 February ends on the last
  day of February of the next year; the next year starts on 1 March.
* The time is cut into periods at every rate change and every year end; the
  interest of each period is rounded to whole cents (ROUND_HALF_UP), so the
  lines of a notice letter add up to its total, and the capitalised amount is
  the sum of those rounded lines.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from importlib import resources
from os import PathLike
from typing import Literal, cast, get_args

__all__ = [
    "Capitalisation",
    "InterestKind",
    "InterestOverflowError",
    "InterestPeriod",
    "InterestResult",
    "RateRow",
    "RateTable",
    "RateUnavailableError",
    "default_rate_table",
    "missing_half_years",
    "statutory_interest",
]

InterestKind = Literal["consumer", "commercial"]
KINDS: tuple[str, ...] = get_args(InterestKind)

DAYS_PER_YEAR = 365
RATE_TABLE_RESOURCE = "statutory_interest_rates.csv"
CSV_COLUMNS = ("kind", "start_date", "rate_percent", "source")

_CENT = Decimal(1)


class RateUnavailableError(ValueError):
    """The rate table has no rate for a day the calculation needs."""


class InterestOverflowError(ValueError):
    """The interest has more digits than a calculation holds (a default of centuries)."""


@dataclass(frozen=True)
class RateRow:
    """One line of the rate table: from ``start_date`` on, ``kind`` is ``rate_percent``."""

    kind: InterestKind
    start_date: date
    rate_percent: Decimal
    source: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if not isinstance(self.start_date, date):
            raise TypeError("start_date must be a datetime.date")
        if not isinstance(self.rate_percent, Decimal):
            raise TypeError("rate_percent must be a Decimal, never a float")
        if not self.rate_percent.is_finite() or self.rate_percent < 0:
            raise ValueError(f"rate_percent must be finite and non-negative: {self.rate_percent}")


def _parse_row(raw: RateRow | Mapping[str, object]) -> RateRow:
    """A RateRow from itself or from a mapping with the CSV's columns (strings or typed)."""
    if isinstance(raw, RateRow):
        return raw
    missing = [c for c in CSV_COLUMNS[:3] if raw.get(c) in (None, "")]
    if missing:
        raise ValueError(f"rate row {dict(raw)!r} lacks {', '.join(missing)}")
    kind = str(raw["kind"]).strip()
    start = raw["start_date"]
    if isinstance(start, str):
        try:
            start = date.fromisoformat(start.strip())
        except ValueError:
            raise ValueError(f"start_date {start!r} is not an ISO date (YYYY-MM-DD)") from None
    rate = raw["rate_percent"]
    if isinstance(rate, float | bool):
        raise TypeError("rate_percent must be a decimal string or Decimal, never a float")
    if isinstance(rate, str | int):
        try:
            rate = Decimal(str(rate).strip())
        except InvalidOperation:
            raise ValueError(f"rate_percent {raw['rate_percent']!r} is not a number") from None
    if not isinstance(start, date) or not isinstance(rate, Decimal):
        raise TypeError(f"rate row {dict(raw)!r} has values of the wrong type")
    source = raw.get("source") or ""
    return RateRow(
        kind=cast(InterestKind, kind), start_date=start, rate_percent=rate, source=str(source)
    )


class RateTable:
    """Statutory interest rates per kind, each valid from its start date to the next row's.

    The last rate of a kind stays in force until a later row says otherwise;
    before the first row of a kind the table knows no rate and refuses.
    """

    def __init__(self, rows: Iterable[RateRow]) -> None:
        by_kind: dict[str, dict[date, RateRow]] = {k: {} for k in KINDS}
        for row in rows:
            seen = by_kind[row.kind]
            if row.start_date in seen:
                raise ValueError(f"two {row.kind} rates start on {row.start_date.isoformat()}")
            seen[row.start_date] = row
        self._rows: dict[str, tuple[RateRow, ...]] = {
            kind: tuple(sorted(seen.values(), key=lambda r: r.start_date))
            for kind, seen in by_kind.items()
        }

    @classmethod
    def from_rows(cls, rows: Iterable[RateRow | Mapping[str, object]]) -> RateTable:
        """Build a table from RateRows or CSV-like mappings (e.g. ``csv.DictReader`` rows)."""
        return cls(_parse_row(r) for r in rows)

    @classmethod
    def from_csv_text(cls, text: str) -> RateTable:
        reader = csv.DictReader(io.StringIO(text))
        if reader.fieldnames is None or not set(CSV_COLUMNS[:3]) <= set(reader.fieldnames):
            raise ValueError(f"a rate table CSV needs the columns {', '.join(CSV_COLUMNS)}")
        return cls.from_rows(reader)

    @classmethod
    def from_csv_path(cls, path: str | PathLike[str]) -> RateTable:
        with open(path, encoding="utf-8", newline="") as handle:
            return cls.from_csv_text(handle.read())

    def extended(self, rows: Iterable[RateRow | Mapping[str, object]]) -> RateTable:
        """A copy with ``rows`` added; a new row replaces one of the same kind and start date."""
        merged = {(r.kind, r.start_date): r for r in self.rows()}
        for raw in rows:
            row = _parse_row(raw)
            merged[(row.kind, row.start_date)] = row
        return RateTable(merged.values())

    def rows(self, kind: InterestKind | None = None) -> tuple[RateRow, ...]:
        """The rows of one kind, or of all kinds, in date order per kind."""
        if kind is None:
            return tuple(row for k in KINDS for row in self._rows[k])
        return self._rows[_check_kind(kind)]

    def rate_on(self, kind: InterestKind, day: date) -> Decimal:
        """The yearly rate in percent for ``kind`` on ``day``."""
        current: RateRow | None = None
        for row in self.rows(kind):
            if row.start_date > day:
                break
            current = row
        if current is None:
            first = self.rows(kind)[0].start_date.isoformat() if self.rows(kind) else None
            hint = f"; its {kind} rates start on {first}" if first else ""
            raise RateUnavailableError(f"the rate table has no {kind} rate for {day}{hint}")
        return current.rate_percent

    def changes_between(self, kind: InterestKind, start: date, end: date) -> list[date]:
        """Days strictly after ``start`` and before ``end`` on which the rate really changes.

        Rows that repeat the previous rate (the handelsrente is re-determined
        every half year, often to the same figure) do not cut a period.
        """
        result: list[date] = []
        previous: Decimal | None = None
        for row in self.rows(kind):
            if start < row.start_date < end and row.rate_percent != previous:
                result.append(row.start_date)
            previous = row.rate_percent
        return result


def missing_half_years(table: RateTable, kind: InterestKind, today: date) -> list[date]:
    """The half years (1 January, 1 July) from the first row of ``kind`` up to ``today`` that have no row.

    Both Dutch rates are re-determined every half year (art. 6:120 BW), so a table
    that is complete says so for every half year, even when the rate stays the same;
    a gap means nobody looked, and the last rate would silently run on. ``today`` is
    the caller's: the domain keeps no clock.
    """
    rows = table.rows(kind)
    if not rows:
        return []
    have = {r.start_date for r in rows}
    first = rows[0].start_date
    # The first half year that starts on or after the first row.
    if (first.month, first.day) == (1, 1):
        year, month = first.year, 1
    elif first <= date(first.year, 7, 1):
        year, month = first.year, 7
    else:
        year, month = first.year + 1, 1
    missing: list[date] = []
    while (day := date(year, month, 1)) <= today:
        if day not in have:
            missing.append(day)
        year, month = (year, 7) if month == 1 else (year + 1, 1)
    return missing


@lru_cache(maxsize=1)
def default_rate_table() -> RateTable:
    """The rate table shipped next to this module."""
    text = resources.files("domain.law").joinpath(RATE_TABLE_RESOURCE).read_text(encoding="utf-8")
    return RateTable.from_csv_text(text)


@dataclass(frozen=True)
class InterestPeriod:
    """A stretch with one rate and one base: days ``start`` up to (not including) ``end``."""

    start: date
    end: date
    rate_percent: Decimal
    base_cents: int
    interest_cents: int

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def last_day(self) -> date:
        """The last day counted, for "from ... up to and including ..." on a letter."""
        return date.fromordinal(self.end.toordinal() - 1)


@dataclass(frozen=True)
class Capitalisation:
    """Interest added to the base after a full year of default (art. 6:119 lid 2 BW)."""

    on: date
    amount_cents: int


@dataclass(frozen=True)
class InterestResult:
    kind: InterestKind
    principal_cents: int
    start: date
    as_of: date
    interest_cents: int
    periods: tuple[InterestPeriod, ...] = ()
    capitalisations: tuple[Capitalisation, ...] = ()

    @property
    def total_cents(self) -> int:
        """Principal plus interest: what the debtor owes for this sum on ``as_of``."""
        return self.principal_cents + self.interest_cents


def _check_kind(kind: str) -> InterestKind:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    return cast(InterestKind, kind)


def _anniversary(start: date, years: int) -> date:
    """The first day of year ``years + 1`` of the default (29 February -> 1 March)."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return date(start.year + years, 3, 1)


def _period_interest(base_cents: int, rate_percent: Decimal, days: int) -> int:
    exact = Decimal(base_cents) * rate_percent * days / (100 * DAYS_PER_YEAR)
    try:
        return int(exact.quantize(_CENT, rounding=ROUND_HALF_UP))
    except InvalidOperation:  # more digits than the context holds: centuries of compounding
        raise InterestOverflowError(
            f"the interest on a base of {base_cents} cents is too large to compute; is the date right?"
        ) from None


def statutory_interest(
    principal_cents: int,
    start: date,
    as_of: date,
    kind: InterestKind,
    table: RateTable | None = None,
    *,
    capitalise: bool = True,
) -> InterestResult:
    """Statutory interest on ``principal_cents`` for the days ``start <= d < as_of``.

    ``start`` is the first day of default (the day after the due date, or after
    the term of a notice of default); ``kind`` chooses art. 6:119 (consumer) or
    art. 6:119a (commercial). No interest is due when ``as_of <= start`` or the
    principal is not positive. Raises ``RateUnavailableError`` when the table
    has no rate for ``start``. ``capitalise=False`` leaves out the yearly compounding
    (Belgian law adds no interest to the sum unless a court or an agreement does).
    """
    if isinstance(principal_cents, bool) or not isinstance(principal_cents, int):
        raise TypeError("principal_cents must be an int number of cents")
    kind = _check_kind(kind)
    if principal_cents <= 0 or as_of <= start:
        return InterestResult(kind, principal_cents, start, as_of, 0)
    rates = table if table is not None else default_rate_table()
    rates.rate_on(kind, start)  # fail early, with the table's message

    year_ends: set[date] = set()
    years = 1
    while capitalise and (anniversary := _anniversary(start, years)) < as_of:
        year_ends.add(anniversary)
        years += 1
    cuts = sorted(year_ends.union(rates.changes_between(kind, start, as_of)))

    periods: list[InterestPeriod] = []
    capitalisations: list[Capitalisation] = []
    base = principal_cents
    this_year = 0
    period_start = start
    for period_end in [*cuts, as_of]:
        rate = rates.rate_on(kind, period_start)
        days = (period_end - period_start).days
        interest = _period_interest(base, rate, days)
        periods.append(InterestPeriod(period_start, period_end, rate, base, interest))
        this_year += interest
        if period_end in year_ends:
            capitalisations.append(Capitalisation(period_end, this_year))
            base += this_year
            this_year = 0
        period_start = period_end

    return InterestResult(
        kind=kind,
        principal_cents=principal_cents,
        start=start,
        as_of=as_of,
        interest_cents=sum(p.interest_cents for p in periods),
        periods=tuple(periods),
        capitalisations=tuple(capitalisations),
    )
