"""Ids are a prefix and a ULID: 26 Crockford base32 digits, time first, so they sort by creation."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from domain.ids import _ALPHABET, _encode, new_id


def digit_by_digit(number: int, length: int) -> str:
    """The definition: base 32, most significant digit first, Crockford's alphabet."""
    digits = []
    for _ in range(length):
        number, rem = divmod(number, 32)
        digits.append(_ALPHABET[rem])
    return "".join(reversed(digits))


@given(st.integers(min_value=0, max_value=2**48 - 1), st.integers(min_value=0, max_value=2**80 - 1))
def test_the_body_is_the_time_then_the_randomness_in_crockford_base32(millis: int, rand: int) -> None:
    assert _encode((millis << 80) | rand, 26) == digit_by_digit(millis, 10) + digit_by_digit(rand, 16)


def test_ids_have_their_prefix_a_ulid_body_and_sort_by_creation() -> None:
    ids = [new_id("inv") for _ in range(2000)]
    assert all(re.fullmatch(r"inv_[0-9a-hjkmnp-tv-z]{26}", i) for i in ids)
    assert len(set(ids)) == 2000
    times = [i[4:14] for i in ids]  # the millisecond part never goes backwards
    assert times == sorted(times)
