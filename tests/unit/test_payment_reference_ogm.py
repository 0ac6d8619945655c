"""Belgian structured communication (OGM / VCS): generation, validation and every written form.

The rule (Febelfin, banking standards for online banking; python-stdnum ``stdnum.be.ogm_vcs``): ten
digits, then the ten modulo 97 as two digits, a remainder of 0 written 97; printed
``+++123/4567/89002+++``. stdnum's own published example: ``+++010/8068/17183+++`` is valid,
``010/8068/17180`` is not.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.be import ogm_vcs

from domain.payment_reference import (
    MAX_OGM_BODY,
    find_ogms,
    find_references,
    format_ogm,
    generate_ogm,
    is_valid_betalingskenmerk,
    is_valid_ogm,
    normalize_reference,
    ogm_bodies_for_number,
    ogm_digits,
    printed_forms,
    reference_kind,
)
from domain.providers import methods_for, providers_for


def test_stdnums_published_example() -> None:
    assert is_valid_ogm("+++010/8068/17183+++")
    assert not is_valid_ogm("010/8068/17180")
    assert generate_ogm(108068171) == "+++010/8068/17183+++"
    assert generate_ogm(1234567890) == "+++123/4567/89002+++"  # 1234567890 mod 97 = 2


def test_a_remainder_of_zero_is_written_97() -> None:
    assert generate_ogm(97) == "+++000/0000/09797+++"
    assert generate_ogm(0) == "+++000/0000/00097+++"
    assert not is_valid_ogm("000000009700")


@settings(max_examples=1000, deadline=None)
@given(st.integers(min_value=0, max_value=MAX_OGM_BODY))
def test_generated_ogms_are_what_stdnum_says(body: int) -> None:
    ogm = generate_ogm(body)
    digits = ogm_vcs.validate(ogm)  # raises if stdnum disagrees
    assert digits[:10] == f"{body:010d}"
    assert digits[10:] == ogm_vcs.calc_check_digits(f"{body:010d}")
    assert ogm == f"+++{ogm_vcs.format(digits)}+++"
    # Every form a bank writes is the same twelve digits, and valid.
    slashed = ogm_vcs.format(digits)
    for written in (ogm, f"***{slashed}***", slashed, digits, f"+++ {slashed} +++"):
        assert normalize_reference(written) == digits
        assert is_valid_ogm(written)
        assert format_ogm(written) == ogm
    # Any other check digits are refused, as stdnum refuses them.
    wrong = digits[:10] + f"{(int(digits[10:]) % 97) + 1:02d}"
    assert is_valid_ogm(wrong) is ogm_vcs.is_valid(wrong) is False


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet="0123456789", min_size=12, max_size=12))
def test_validation_agrees_with_stdnum_on_any_twelve_digits(digits: str) -> None:
    assert is_valid_ogm(digits) == ogm_vcs.is_valid(digits)
    assert is_valid_ogm(f"+++{digits[:3]}/{digits[3:7]}/{digits[7:]}+++") == ogm_vcs.is_valid(digits)


def test_out_of_range_bodies_are_refused_not_wrapped() -> None:
    with pytest.raises(ValueError):
        generate_ogm(MAX_OGM_BODY + 1)
    with pytest.raises(ValueError):
        generate_ogm(-1)
    with pytest.raises(TypeError):
        generate_ogm(True)


def test_written_forms_and_what_is_not_one() -> None:
    assert reference_kind("+++010/8068/17183+++") == "ogm"
    assert reference_kind("***010/8068/17183***") == "ogm"
    assert reference_kind("010/8068/17183") == "ogm"
    assert reference_kind("010806817183") is None  # twelve bare digits may be anything
    assert ogm_digits("+++010/8068/17183***") == "010806817183"  # banks mix them up too
    assert ogm_digits("+++010/8068/17183") is None  # opened, never closed
    assert ogm_digits("010/806817183") is None  # one slash is no OGM
    assert "+++010/8068/17183+++" in printed_forms("010806817183")
    assert "***010/8068/17183***" in printed_forms("010806817183")


def test_found_in_free_text_in_every_form() -> None:
    text = ("Fact. 2026-42 +++010/8068/17183+++ en ***123/4567/89002*** ook 000000009797 "
            "en 999 / 0000 / 00070 IBAN BE71096123456769 tel 0032470123456")
    assert find_references(text) == ["010806817183", "123456789002", "000000009797", "999000000070"]


def test_wrong_check_digits_are_not_references_but_are_found() -> None:
    text = "betaling +++010/8068/17180+++ en 123456789003"
    assert find_references(text) == []
    found = find_ogms(text)
    assert [(f.digits, f.valid, f.delimited) for f in found] == [
        ("010806817180", False, True), ("123456789003", False, False)]


def test_betalingskenmerk_still_wins_its_sixteen_digits() -> None:
    # A 16-digit betalingskenmerk holds twelve-digit runs; none of them is an OGM.
    assert is_valid_betalingskenmerk("5000056789012345")
    assert find_references("kenmerk 5000056789012345") == ["5000056789012345"]


def test_the_ogm_of_an_invoice_number_is_its_own_digits_first_and_deterministic() -> None:
    first = list(itertools.islice(ogm_bodies_for_number("F2026-0042"), 3))
    assert first[0] == 20260042
    assert first == list(itertools.islice(ogm_bodies_for_number("F2026-0042"), 3))
    assert len(set(first)) == 3
    # Same digits, other number: the same first proposal, different later ones.
    other = list(itertools.islice(ogm_bodies_for_number("C2026-0042"), 3))
    assert other[0] == first[0] and other[1:] != first[1:]
    # Too many digits or none: hashed, in range.
    for number in ("INV-2026-000000000042", "ABC"):
        body = next(ogm_bodies_for_number(number))
        assert 0 <= body <= MAX_OGM_BODY


def test_bancontact_first_for_a_belgian_only() -> None:
    assert methods_for(["ideal", "bancontact", "creditcard"], "BE") == ["bancontact", "ideal", "creditcard"]
    assert methods_for(["ideal", "bancontact", "creditcard"], "NL") == ["ideal", "bancontact", "creditcard"]
    assert methods_for(["ideal", "creditcard"], "BE") == ["ideal", "creditcard"]
    methods = {"mollie": ["ideal", "creditcard"], "stripe": ["card", "bancontact"]}
    assert providers_for(["mollie", "stripe", "sandbox"], methods, "BE") == ["stripe", "mollie", "sandbox"]
    assert providers_for(["mollie", "stripe", "sandbox"], methods, "NL") == ["mollie", "stripe", "sandbox"]


_WORDS = st.lists(st.sampled_from(["Factuur", "betaling", "VIREMENT", "dank u", "REF:", "F-2026", "EUR", "12,50"]),
                  max_size=4).map(" ".join)


def _written(digits: str, form: str) -> str:
    slashed = f"{digits[:3]}/{digits[3:7]}/{digits[7:]}"
    return {"+++": f"+++{slashed}+++", "***": f"***{slashed}***", "slashed": slashed, "bare": digits}[form]


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=MAX_OGM_BODY), st.sampled_from(["+++", "***", "slashed", "bare"]),
       _WORDS, _WORDS)
def test_an_ogm_in_any_form_is_found_in_free_text_and_a_wrong_one_is_not(
    body: int, form: str, before: str, after: str
) -> None:
    digits = normalize_reference(generate_ogm(body))
    assert digits in find_references(f"{before} {_written(digits, form)} {after}")
    wrong = digits[:10] + f"{(int(digits[10:]) % 97) + 1:02d}"
    text = f"{before} {_written(wrong, form)} {after}"
    assert wrong not in find_references(text)
    assert [(f.digits, f.delimited) for f in find_ogms(text) if not f.valid] == [(wrong, form != "bare")]
