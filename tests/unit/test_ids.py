"""Ids are a prefix and a ULID: 26 Crockford base32 digits, time first, so they sort by creation."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import ids
from domain.ids import _ALPHABET, _encode, new_id, new_ids


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


def test_a_batch_of_ids_is_made_as_new_id_makes_each(monkeypatch: pytest.MonkeyPatch) -> None:
    before = new_id("evt")
    raw = bytes(range(200, 248))
    monkeypatch.setattr(ids.os, "urandom", lambda n: raw[:n])
    batch = new_ids("evt", 3)
    monkeypatch.undo()
    after = new_id("evt")
    assert all(re.fullmatch(r"evt_[0-9a-hjkmnp-tv-z]{26}", i) for i in batch)
    # the random part: 16 digits of 5 random bits each (a byte's low five)
    assert [i[-16:] for i in batch] == ["".join(_ALPHABET[b % 32] for b in raw[k : k + 16]) for k in (0, 16, 32)]
    # the time part: the batch's millisecond, between the ids made just before and after
    assert before[4:14] <= batch[0][4:14] == batch[2][4:14] <= after[4:14]
    assert new_ids("evt", 0) == [] and len(set(new_ids("act", 500))) == 500
