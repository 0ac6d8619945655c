"""Belgian late payment in commercial transactions: interest and the flat EUR 40.

Wet van 2 augustus 2002 betreffende de bestrijding van de betalingsachterstand bij
handelstransacties / loi du 2 août 2002 concernant la lutte contre le retard de
paiement dans les transactions commerciales (BS/MB 7 augustus 2002), as amended by
the wet van 22 november 2013 (BS 10 december 2013):

* art. 5: unless agreed otherwise, interest runs of right and without notice from
  the day after the payment term, at the reference rate (the ECB's rate on its most
  recent main refinancing operation before the first calendar day of the half
  year) plus eight points, rounded up to the next half point. The minister of
  finance publishes the figure each half year in the Belgisch Staatsblad / Moniteur
  belge (``late_payment_rates.csv`` next to this module, each row with its source).
* art. 6: besides, the creditor is owed a flat EUR 40 for his recovery costs, of
  right and without notice, per late payment (reasonable further costs on proof);
  the EUR 40 came with the wet van 22 november 2013 (Directive 2011/7/EU), for
  contracts made, renewed or extended from 16 March 2013.

Belgian law adds no interest to the sum yearly (no capitalisation without an
agreement or a court, art. 5.210 BW / former art. 1154 BW), so unlike the Dutch
rates the interest here is simple.

Book XIX for consumers borrows this rate as the ceiling of a consumer's late
interest (art. XIX.4), see ``domain.law.be.book_xix``.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_CEILING, Decimal
from functools import lru_cache
from importlib import resources

from domain.law.interest import InterestResult, RateTable, statutory_interest

__all__ = [
    "FLAT_COMPENSATION_CENTS",
    "late_payment_interest",
    "late_payment_rate_table",
    "rate_from_reference",
]

FLAT_COMPENSATION_CENTS = 40_00  # art. 6, eerste lid: EUR 40 per late-paid invoice
RATES_RESOURCE = "late_payment_rates.csv"
_MARGIN = Decimal(8)
_HALF = Decimal("0.5")


def rate_from_reference(reference_percent: Decimal) -> Decimal:
    """Art. 5, eerste lid: the reference rate plus eight points, rounded up to the next half point."""
    raw = reference_percent + _MARGIN
    return (raw / _HALF).to_integral_value(rounding=ROUND_CEILING) * _HALF


@lru_cache(maxsize=1)
def late_payment_rate_table() -> RateTable:
    """The published half-yearly rates (kind ``commercial``) shipped next to this module."""
    text = resources.files("domain.law.be").joinpath(RATES_RESOURCE).read_text(encoding="utf-8")
    return RateTable.from_csv_text(text)


def late_payment_interest(
    principal_cents: int, start: dt.date, as_of: dt.date, table: RateTable | None = None
) -> InterestResult:
    """Interest under art. 5 on ``principal_cents`` for the days ``start <= d < as_of``, simple, cut
    at every half year whose rate differs (``start`` is the day after the payment term)."""
    rates = table if table is not None else late_payment_rate_table()
    return statutory_interest(principal_cents, start, as_of, "commercial", rates, capitalise=False)
