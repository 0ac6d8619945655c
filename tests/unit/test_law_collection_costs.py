"""WIK collection costs against the published staffel and its examples."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.law import (
    MAXIMUM_COSTS_CENTS,
    MINIMUM_COSTS_CENTS,
    collection_costs,
    collection_costs_breakdown,
)


def euros(amount: int) -> int:
    return amount * 100


@pytest.mark.parametrize(
    ("principal_eur", "costs_eur"),
    [
        (100, 40),  # 15% = 15, lifted to the EUR 40 minimum
        (2_500, 375),  # 15% of 2,500
        (5_000, 625),  # 375 + 10% of 2,500
        (10_000, 875),  # 625 + 5% of 5,000
        (200_000, 2_775),  # 875 + 1% of 190,000
        (1_000_000, 6_775),  # 2,775 + 0.5% of 800,000 = 6,775: exactly the maximum
        (5_000_000, 6_775),  # capped
    ],
)
def test_published_examples(principal_eur: int, costs_eur: int) -> None:
    assert collection_costs(euros(principal_eur)) == euros(costs_eur)


def test_middle_of_the_bands() -> None:
    # 375 + 10% of 1,000 = 475
    assert collection_costs(euros(3_500)) == euros(475)
    # 875 + 1% of 40,000 = 1,275
    assert collection_costs(euros(50_000)) == euros(1_275)
    # 2,775 + 0.5% of 100,000 = 3,275
    assert collection_costs(euros(300_000)) == euros(3_275)


def test_no_principal_no_costs() -> None:
    assert collection_costs(0) == 0
    assert collection_costs(-5_000) == 0
    assert collection_costs(-5_000, vat_uplift=True) == 0


def test_minimum_applies_to_the_smallest_debt() -> None:
    assert collection_costs(1) == MINIMUM_COSTS_CENTS


def test_boundary_cents_round_half_up() -> None:
    # 15% of 266.66 = 39.999 -> minimum 40.00
    assert collection_costs(266_66) == 40_00
    # 15% of 266.67 = 40.0005 -> 40.00
    assert collection_costs(266_67) == 40_00
    # 15% of 266.70 = 40.005 -> half up -> 40.01
    assert collection_costs(266_70) == 40_01
    # 375 + 10% of 0.01 = 375.001 -> 375.00
    assert collection_costs(2_500_01) == 375_00
    # 375 + 10% of 0.05 = 375.005 -> half up -> 375.01
    assert collection_costs(2_500_05) == 375_01


def test_vat_uplift_for_creditors_without_vat_deduction() -> None:
    # 375.00 + 21% = 453.75
    assert collection_costs(euros(2_500), vat_uplift=True) == 453_75
    # minimum 40.00 + 21% = 48.40
    assert collection_costs(euros(100), vat_uplift=True) == 48_40
    # maximum 6,775.00 + 21% = 8,197.75
    assert collection_costs(euros(1_000_000), vat_uplift=True) == 8_197_75


def test_vat_is_computed_on_the_rounded_scale_amount() -> None:
    costs = collection_costs_breakdown(266_70, vat_uplift=True)
    # scale 40.01; VAT 21% of 40.01 = 8.4021 -> 8.40
    assert (costs.base_cents, costs.vat_cents, costs.total_cents) == (40_01, 8_40, 48_41)


def test_other_vat_rate() -> None:
    # 375.00 + 9% = 408.75
    assert collection_costs(euros(2_500), vat_uplift=True, vat_rate=Decimal("0.09")) == 408_75


def test_vat_rate_is_ignored_without_uplift() -> None:
    assert collection_costs(euros(2_500), vat_rate=Decimal("0.09")) == euros(375)


@pytest.mark.parametrize("bad", [100.0, True, Decimal("100"), "100"])
def test_refuses_anything_but_int_cents(bad: object) -> None:
    with pytest.raises(TypeError):
        collection_costs(bad)  # type: ignore[arg-type]


def test_refuses_a_negative_vat_rate() -> None:
    with pytest.raises(ValueError):
        collection_costs(100_00, vat_uplift=True, vat_rate=Decimal("-0.21"))


positive_cents = st.integers(min_value=1, max_value=10**13)


@given(positive_cents)
def test_costs_stay_within_minimum_and_maximum(principal: int) -> None:
    assert MINIMUM_COSTS_CENTS <= collection_costs(principal) <= MAXIMUM_COSTS_CENTS


@given(positive_cents, positive_cents, st.booleans())
def test_costs_are_monotonic_in_the_principal(a: int, b: int, vat: bool) -> None:
    low, high = sorted((a, b))
    assert collection_costs(low, vat_uplift=vat) <= collection_costs(high, vat_uplift=vat)
