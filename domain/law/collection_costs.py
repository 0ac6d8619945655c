"""Dutch extrajudicial collection costs (buitengerechtelijke incassokosten).

Art. 6:96 lid 2 sub c BW lets a creditor claim the reasonable costs of collecting
a debt out of court. The "Besluit vergoeding voor buitengerechtelijke
incassokosten" (Stb. 2012, 141, in force 1 July 2012) fixes what is reasonable
with a sliding scale (the WIK staffel) over the principal:

    15%  of the first        EUR   2,500
    10%  of the next         EUR   2,500
     5%  of the next         EUR   5,000
     1%  of the next         EUR 190,000
     0.5% of everything above EUR 200,000

with a minimum of EUR 40 and a maximum of EUR 6,775. For consumers the scale is
mandatory law: a creditor may not charge more, however much the collection cost
him. The amounts are exclusive of VAT; a creditor who cannot deduct the VAT he
is charged for collection (a VAT-exempt business, a private person) may add it
on top, which is what ``vat_uplift`` is for.

Everything here is integer cents; Decimal is used only for the percentages,
and the result is rounded to whole cents with ROUND_HALF_UP.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

__all__ = [
    "MAXIMUM_COSTS_CENTS",
    "MINIMUM_COSTS_CENTS",
    "STAFFEL",
    "CollectionCosts",
    "collection_costs",
    "collection_costs_breakdown",
]

MINIMUM_COSTS_CENTS = 40_00
MAXIMUM_COSTS_CENTS = 6_775_00
DEFAULT_VAT_RATE = Decimal("0.21")

# (width of the band in cents, or None for "everything above", percentage)
STAFFEL: tuple[tuple[int | None, Decimal], ...] = (
    (2_500_00, Decimal("0.15")),
    (2_500_00, Decimal("0.10")),
    (5_000_00, Decimal("0.05")),
    (190_000_00, Decimal("0.01")),
    (None, Decimal("0.005")),
)

_CENT = Decimal(1)


@dataclass(frozen=True)
class CollectionCosts:
    """The costs as a letter shows them: the scale amount, the VAT on it, the sum."""

    base_cents: int
    vat_cents: int

    @property
    def total_cents(self) -> int:
        return self.base_cents + self.vat_cents


def _check_cents(value: object, name: str) -> int:
    # bool is an int subclass and float would smuggle binary fractions in.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int number of cents, not {type(value).__name__}")
    return value


def _staffel_cents(principal_cents: int) -> int:
    """The scale amount before minimum and maximum, rounded once at the end."""
    remaining = Decimal(principal_cents)
    total = Decimal(0)
    for width, rate in STAFFEL:
        band = remaining if width is None else min(remaining, Decimal(width))
        total += band * rate
        remaining -= band
        if remaining <= 0:
            break
    return int(total.quantize(_CENT, rounding=ROUND_HALF_UP))


def collection_costs_breakdown(
    principal_cents: int,
    *,
    vat_uplift: bool = False,
    vat_rate: Decimal = DEFAULT_VAT_RATE,
) -> CollectionCosts:
    """The WIK collection costs on an open principal, split into scale amount and VAT.

    A zero or negative principal (nothing, or a credit, is owed) gives no costs.
    The minimum of EUR 40 applies to any positive principal, however small: the
    Besluit sets it as a floor, not as a threshold. VAT, when uplifted, is
    computed on the already rounded scale amount, the way an invoice line is.
    """
    principal_cents = _check_cents(principal_cents, "principal_cents")
    if not isinstance(vat_rate, Decimal) or not vat_rate.is_finite() or vat_rate < 0:
        raise ValueError("vat_rate must be a finite, non-negative Decimal such as Decimal('0.21')")
    if principal_cents <= 0:
        return CollectionCosts(base_cents=0, vat_cents=0)
    base = min(max(_staffel_cents(principal_cents), MINIMUM_COSTS_CENTS), MAXIMUM_COSTS_CENTS)
    vat = 0
    if vat_uplift:
        vat = int((Decimal(base) * vat_rate).quantize(_CENT, rounding=ROUND_HALF_UP))
    return CollectionCosts(base_cents=base, vat_cents=vat)


def collection_costs(
    principal_cents: int,
    *,
    vat_uplift: bool = False,
    vat_rate: Decimal = DEFAULT_VAT_RATE,
) -> int:
    """The WIK collection costs in cents, VAT included when ``vat_uplift`` is set.

    ``principal_cents`` is the open principal (hoofdsom) the costs are charged
    over; deciding what belongs to it (several invoices of one debtor are
    usually taken together) is the caller's business.
    """
    return collection_costs_breakdown(
        principal_cents, vat_uplift=vat_uplift, vat_rate=vat_rate
    ).total_cents
