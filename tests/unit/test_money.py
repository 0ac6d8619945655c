"""Money at the edges: decimal strings in, integer cents inside, never float."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.money import MoneyError, format_amount, parse_amount, parse_currency


@pytest.mark.parametrize(("text", "cents"), [("1250.00", 125000), ("0.1", 10), ("7", 700), (" 12.30 ", 1230)])
def test_decimal_strings_become_cents(text: str, cents: int) -> None:
    assert parse_amount(text) == cents


@pytest.mark.parametrize("bad", ["1.234", "1.500", "abc", "", "NaN", "Infinity", 12.5, True, None, "-1.00"])
def test_refused_amounts(bad: object) -> None:
    with pytest.raises(MoneyError):
        parse_amount(bad)


@given(st.integers(min_value=-10**12, max_value=10**12))
def test_format_and_parse_round_trip(cents: int) -> None:
    assert parse_amount(format_amount(cents), allow_negative=True) == cents
    assert Decimal(format_amount(cents)) * 100 == cents


def test_currencies() -> None:
    assert parse_currency("eur") == "EUR"
    with pytest.raises(MoneyError):
        parse_currency("XYZ")
