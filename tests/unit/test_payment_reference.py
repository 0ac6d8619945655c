"""Betalingskenmerk and RF creditor references, against published examples.

Sources of the known-valid examples:
* Betaalvereniging Nederland (formerly Currence), "Specificaties betalingskenmerk": the
  check digit is a weighted modulus 11 with weights 2, 4, 8, 5, 10, 9, 7, 3, 6, 1 from the
  right, repeating; C = 11 - (sum mod 11), 10 -> 1, 11 -> 0. Worked example: (5)000 0567
  8901 2345, sum 215, 215 mod 11 = 6, check digit 5.
* ISO 11649 as documented by python-stdnum (stdnum.iso11649): RF18 5390 0754 7034 and
  RF18 5390 0754 70Y are valid, RF17 5390 0754 7034 is not.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.payment_reference import (
    MAX_SEED,
    find_references,
    generate_betalingskenmerk,
    is_valid_betalingskenmerk,
    is_valid_rf_reference,
    make_rf_reference,
    normalize_reference,
)


def test_published_betalingskenmerk_example() -> None:
    assert is_valid_betalingskenmerk("5000056789012345")
    assert is_valid_betalingskenmerk("5000 0567 8901 2345")
    assert generate_betalingskenmerk(56789012345) == "5000056789012345"
    for wrong in "0123456789".replace("5", ""):
        assert not is_valid_betalingskenmerk(wrong + "000056789012345")


@pytest.mark.parametrize(
    ("seed", "expected"),
    [
        # Worked by hand from the published rule:
        (0, "0000000000000000"),  # sum 0 -> 11 - 0 = 11 -> 0
        (6, "1000000000000006"),  # 6 x 2 = 12, 12 mod 11 = 1 -> 11 - 1 = 10 -> 1
        (5, "1000000000000005"),  # 5 x 2 = 10 -> 11 - 10 = 1
        (100001, "0000000000100001"),  # 1 x 9 (6th from the right) + 1 x 2 = 11 -> 11 - 0 = 11 -> 0
        (10**10, "9000010000000000"),  # the 11th digit from the right weighs 2 again: 2 -> 9
        (1, "9000000000000001"),  # 1 x 2 = 2 -> 9
        (MAX_SEED, "3999999999999999"),  # 9 x (55 + 2+4+8+5+10) = 756, 756 mod 11 = 8 -> 3
    ],
)
def test_check_digit_worked_examples(seed: int, expected: str) -> None:
    assert generate_betalingskenmerk(seed) == expected
    assert is_valid_betalingskenmerk(expected)


@pytest.mark.parametrize("seed", [-1, MAX_SEED + 1, 10**20])
def test_seed_out_of_range_is_refused_not_wrapped(seed: int) -> None:
    with pytest.raises(ValueError, match="between 0 and"):
        generate_betalingskenmerk(seed)


@pytest.mark.parametrize("seed", [True, 1.0, "12"])
def test_seed_must_be_an_int(seed: object) -> None:
    with pytest.raises(TypeError):
        generate_betalingskenmerk(seed)  # type: ignore[arg-type]


@given(st.integers(min_value=0, max_value=MAX_SEED))
def test_generated_kenmerken_are_valid_and_keep_their_seed(seed: int) -> None:
    ref = generate_betalingskenmerk(seed)
    assert len(ref) == 16 and ref.isdigit() and int(ref[1:]) == seed
    assert is_valid_betalingskenmerk(ref)
    assert find_references(f"betaling {ref[:4]} {ref[4:8]} {ref[8:12]} {ref[12:]} dank") == [ref]


@pytest.mark.parametrize(
    "value",
    ["500005678901234", "50000567890123456", "500005678901234X", "", "RF18539007547034", "５000056789012345"],
)
def test_not_a_betalingskenmerk(value: str) -> None:
    assert not is_valid_betalingskenmerk(value)


def test_not_a_string_is_not_valid() -> None:
    assert not is_valid_betalingskenmerk(None)  # type: ignore[arg-type]
    assert not is_valid_rf_reference(5000056789012345)  # type: ignore[arg-type]


def test_published_rf_examples() -> None:
    assert is_valid_rf_reference("RF18 5390 0754 7034")
    assert is_valid_rf_reference("RF18539007547034")
    assert is_valid_rf_reference("rf18 5390 0754 70y")
    assert is_valid_rf_reference("RF18 5390 0754 70Y")
    assert not is_valid_rf_reference("RF17 5390 0754 7034")
    assert make_rf_reference("539007547034") == "RF18539007547034"
    assert make_rf_reference("5390 0754 70y") == "RF185390075470Y"


@pytest.mark.parametrize("value", ["RF18", "RF1X539007547034", "XX18539007547034", "RF18" + "1" * 22, "RF185390_0754"])
def test_not_an_rf_reference(value: str) -> None:
    assert not is_valid_rf_reference(value)


@pytest.mark.parametrize("body", ["", "A" * 22, "INV_1", "FACTUUR 2026/01"])
def test_make_rf_reference_refuses_bad_bodies(body: str) -> None:
    with pytest.raises(ValueError, match="1 to 21 letters or digits"):
        make_rf_reference(body)


@given(st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=21))
def test_made_rf_references_are_valid(body: str) -> None:
    ref = make_rf_reference(body)
    assert is_valid_rf_reference(ref) and ref[4:] == body and find_references(f"ref: {ref}, dank") == [ref]


@given(st.text(alphabet="0123456789", min_size=1, max_size=21), st.data())
def test_a_changed_digit_is_caught(body: str, data: st.DataObject) -> None:
    ref = make_rf_reference(body)
    at = data.draw(st.integers(min_value=2, max_value=len(ref) - 1))
    digit = data.draw(st.sampled_from([d for d in "0123456789" if d != ref[at]]))
    # MOD 97-10 catches every change of a single digit (97 is prime, the change is d x 10^k).
    assert not is_valid_rf_reference(ref[:at] + digit + ref[at + 1 :])


def test_normalize_reference() -> None:
    assert normalize_reference(" rf18 5390-0754\t7034 ") == "RF18539007547034"
    assert normalize_reference("5000.0567.8901.2345") == "5000056789012345"
    assert normalize_reference("5000\u00a00567\u20138901 2345") == "5000056789012345"


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Factuur 5000056789012345", ["5000056789012345"]),
        ("kenmerk 5000 0567 8901 2345.", ["5000056789012345"]),
        ("kenmerk 5000-0567-8901-2345", ["5000056789012345"]),
        ("REF RF18 5390 0754 7034 FACTUUR 12", ["RF18539007547034"]),
        ("ref:rf18539007547034/", ["RF18539007547034"]),
        ("RF18 5390 0754 70Y en 5000 0567 8901 2345", ["RF185390075470Y", "5000056789012345"]),
        ("eerst 5000056789012345 dan RF18539007547034 weer 5000056789012345", ["5000056789012345", "RF18539007547034"]),
        ("wrong check digit 4000056789012345", []),
        ("inside a longer number 95000056789012345", []),
        ("inside a longer number 5000056789012345 6", []),
        ("in a word X5000056789012345", []),
        ("RF17 5390 0754 7034", []),
        ("mixed grouping 5000 05678901 2345", []),
        ("", []),
    ],
)
def test_find_references(text: str, found: list[str]) -> None:
    assert find_references(text) == found


@given(st.text(alphabet="0123456789", min_size=15, max_size=15))
def test_the_check_digit_is_the_weighted_modulus_11_of_the_published_rule(body: str) -> None:
    """The C-level sum (``_check_digit``) against the rule written out digit by digit."""
    from domain.payment_reference import _check_digit

    weights = (2, 4, 8, 5, 10, 9, 7, 3, 6, 1)
    check = 11 - sum(int(d) * weights[i % 10] for i, d in enumerate(reversed(body))) % 11
    assert _check_digit(body) == {10: 1, 11: 0}.get(check, check)
