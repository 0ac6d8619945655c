"""The EPC QR payload (EPC069-12, version 002): the field list in order, the length limits,
and a clear refusal of what does not fit."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.epc_qr import EpcPayloadError, TransferRequest, build_payload, for_invoices, remittance

IBAN = "NL91ABNA0417164300"
FIELDS = ("service_tag", "version", "charset", "identification", "bic", "name", "iban", "amount", "purpose",
          "structured", "text", "information")  # fmt: skip


def fields(payload: str) -> dict[str, str]:
    lines = payload.split("\n")
    assert len(lines) <= 12
    return dict(zip(FIELDS, lines + [""] * (12 - len(lines)), strict=True))


def test_the_payload_lists_the_standards_elements_in_order() -> None:
    payload = build_payload(TransferRequest(name="Red Cross of Belgium", iban="BE72 0000 0000 1616", amount_cents=100,
                                            bic="BPOTBEB1", purpose="CHAR", text="Urgency fund",
                                            information="Sample EPC QR code"))  # fmt: skip
    assert payload == ("BCD\n002\n1\nSCT\nBPOTBEB1\nRed Cross of Belgium\nBE72000000001616\nEUR1.00\nCHAR\n\n"
                       "Urgency fund\nSample EPC QR code")  # fmt: skip


def test_bic_is_optional_and_empty_trailing_elements_are_left_out() -> None:
    assert build_payload(TransferRequest(name="Acme", iban=IBAN, amount_cents=123_456,
                                         structured_reference="RF18 5390 0754 7034")) == (
        f"BCD\n002\n1\nSCT\n\nAcme\n{IBAN}\nEUR1234.56\n\nRF18539007547034"
    )  # fmt: skip


@pytest.mark.parametrize(("cents", "text"), [(1, "EUR0.01"), (99_999_999_999, "EUR999999999.99"), (1000, "EUR10.00")])
def test_amounts_from_a_cent_to_just_under_a_billion(cents: int, text: str) -> None:
    assert fields(build_payload(TransferRequest(name="A", iban=IBAN, amount_cents=cents)))["amount"] == text


@pytest.mark.parametrize("cents", [0, -1, 100_000_000_000])
def test_an_amount_outside_the_range_is_refused_naming_it(cents: int) -> None:
    with pytest.raises(EpcPayloadError) as err:
        build_payload(TransferRequest(name="A", iban=IBAN, amount_cents=cents))
    assert err.value.field == "amount"


@pytest.mark.parametrize(("req", "field"), [
    (TransferRequest(name="x" * 71, iban=IBAN), "name"),
    (TransferRequest(name="", iban=IBAN), "name"),
    (TransferRequest(name="A", iban="not an iban"), "iban"),
    (TransferRequest(name="A", iban=IBAN, bic="ABNA"), "bic"),
    (TransferRequest(name="A", iban=IBAN, purpose="CHARITY"), "purpose"),
    (TransferRequest(name="A", iban=IBAN, structured_reference="RF" + "1" * 34), "structured_reference"),
    (TransferRequest(name="A", iban=IBAN, text="x" * 141), "text"),
    (TransferRequest(name="A", iban=IBAN, information="x" * 71), "information"),
    (TransferRequest(name="A", iban=IBAN, structured_reference="RF18539007547034", text="F-1"), "text"),
    (TransferRequest(name="A\nB", iban=IBAN), "name"),
])  # fmt: skip
def test_a_value_that_does_not_fit_is_refused_naming_the_element(req: TransferRequest, field: str) -> None:
    with pytest.raises(EpcPayloadError) as err:
        build_payload(req)
    assert err.value.field == field and err.value.code == "epc_payload"


def test_a_payload_over_331_bytes_is_refused() -> None:
    # Every element at its limit in characters, in letters of two bytes: more than the QR holds.
    with pytest.raises(EpcPayloadError) as err:
        build_payload(TransferRequest(name="é" * 70, iban=IBAN, amount_cents=1, text="é" * 140, information="é" * 70))
    assert err.value.field == "payload"


_text = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=160)


@given(name=_text, text=_text, info=_text, cents=st.integers(-10, 10**11 + 10))
def test_any_payload_built_keeps_every_limit_or_is_refused(name: str, text: str, info: str, cents: int) -> None:
    req = TransferRequest(name=name, iban=IBAN, amount_cents=cents, text=text, information=info)
    try:
        payload = build_payload(req)
    except EpcPayloadError as exc:
        assert exc.field in {"name", "amount", "text", "information", "payload"}
        return
    f = fields(payload)
    assert (f["service_tag"], f["version"], f["charset"], f["identification"]) == ("BCD", "002", "1", "SCT")
    assert len(payload.encode("utf-8")) <= 331
    assert 1 <= len(f["name"]) <= 70 and len(f["text"]) <= 140 and len(f["information"]) <= 70
    assert f["iban"] == IBAN and f["amount"] == f"EUR{cents // 100}.{cents % 100:02d}"
    assert not (f["structured"] and f["text"])


def test_one_invoice_with_an_rf_or_ogm_reference_pays_with_it_structured_else_as_text() -> None:
    assert remittance([("RF18 5390 0754 7034", "F-1")]) == ("RF18539007547034", None)
    assert remittance([("+++090/9337/55493+++", "F-1")]) == ("090933755493", None)
    assert remittance([("5000056789012345", "F-1")]) == (None, "5000056789012345")  # a betalingskenmerk
    assert remittance([("RF18 5390 0754 7034", "F-1"), (None, "F-2")]) == (None, "RF18 5390 0754 7034 F-2")
    assert remittance([("RF00 0000", "F-1")]) == (None, "RF00 0000")  # check digits wrong: text
    many = remittance([(None, f"F2026-{i:05d}") for i in range(40)])[1]
    assert many is not None and len(many) <= 140 and many.startswith("F2026-00000 F2026-00001")


def test_no_transfer_without_an_iban_in_another_currency_or_for_nothing() -> None:
    assert for_invoices(name="A", iban=None, currency="EUR", amount_cents=100, items=[]) is None
    assert for_invoices(name="A", iban=IBAN, currency="USD", amount_cents=100, items=[]) is None
    assert for_invoices(name="A", iban=IBAN, currency="EUR", amount_cents=0, items=[]) is None
    long = for_invoices(name="B" * 90, iban=IBAN, currency="EUR", amount_cents=100, items=[(None, "F-1")])
    assert long is not None and long.name == "B" * 70 and build_payload(long).endswith("\nF-1")
