"""UBL 2.1 imports as real senders write them: credit notes (a CreditNote, an Invoice with type code
381, a negative total), payment ids that are not Dutch, buyers without identifiers, prepaid invoices."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain import customers as customers_mod
from domain.imports import ImportFailed, apply, parse_file
from domain.models import Customer, Invoice, Organisation, Payment, PaymentAllocation
from domain.payment_reference import is_valid_betalingskenmerk
from domain.statement import credits
from tests.conftest import Api, Tenant

DATA = Path(__file__).resolve().parent.parent / "data"
UBL = DATA / "ubl"


def _org(db: Session, tenant: Tenant) -> Organisation:
    return db.get_one(Organisation, tenant.org_id)


def _import(db: Session, tenant: Tenant, path: Path, data: bytes | None = None):  # type: ignore[no-untyped-def]
    raw = path.read_bytes() if data is None else data
    result = apply(db, _org(db, tenant), parse_file(raw, path.name), path.name)
    db.commit()
    return result


def _count(db: Session, model: type) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0


def _the_invoice(db: Session, number: str) -> Invoice:
    inv = db.scalar(select(Invoice).where(Invoice.number == number))
    assert inv is not None
    return inv


def test_an_invoice_with_type_code_381_is_a_credit_allocated_to_the_invoice_it_names(
    db: Session, tenant: Tenant
) -> None:
    _import(db, tenant, DATA / "invoice-ubl.xml")
    result = _import(db, tenant, UBL / "invoice-381-credit.xml")
    assert (result.created, result.credit_notes, result.credited_cents) == (0, 1, 12100)
    assert db.scalar(select(Invoice).where(Invoice.number == "CN-2026-0007")) is None  # never a debt
    inv = _the_invoice(db, "INV-2026-0042")
    assert (inv.status, inv.open_cents) == ("open", 125033 - 12100)
    pay = db.scalar(select(Payment).where(Payment.method == "credit_note"))
    assert pay is not None and pay.amount_cents == 12100 and pay.unallocated_cents == 0
    assert pay.customer_id == inv.customer_id and pay.provider_payment_id == "CN-2026-0007"
    # Importing it again registers nothing.
    again = _import(db, tenant, UBL / "invoice-381-credit.xml")
    assert (again.credit_notes, again.skipped) == (0, 1)
    assert _count(db, Payment) == 1


def test_a_credit_note_document_pays_the_invoice_it_names_in_full(db: Session, tenant: Tenant, api: Api) -> None:
    _import(db, tenant, DATA / "invoice-ubl.xml")
    result = _import(db, tenant, UBL / "creditnote-billing-reference.xml")
    assert (result.credit_notes, result.credited_cents) == (1, 125033)
    inv = _the_invoice(db, "INV-2026-0042")
    assert (inv.status, inv.open_cents, inv.next_action_on) == ("paid", 0, None)
    alloc = db.scalar(select(PaymentAllocation))
    assert alloc is not None and alloc.invoice_id == inv.id and alloc.amount_cents == 125033
    body = api.get(f"/invoices/{inv.id}").json()
    assert body["status"] == "paid"
    assert any(p["method"] == "credit_note" for p in api.get("/payments").json()["items"])


def test_a_credit_note_without_an_open_invoice_to_allocate_to_is_the_customers_credit(
    db: Session, tenant: Tenant
) -> None:
    result = _import(db, tenant, UBL / "creditnote-billing-reference.xml")  # INV-2026-0042 is not there
    assert (result.credit_notes, result.customers_created, result.credited_cents) == (1, 1, 0)
    assert _count(db, Invoice) == 0
    customer = db.scalar(select(Customer).where(Customer.external_ref == "DEB-77"))
    assert customer is not None
    assert credits(db, customer) == {"EUR": 125033}


def test_a_negative_payable_amount_on_an_invoice_is_a_credit(db: Session, tenant: Tenant) -> None:
    text = (DATA / "invoice-ubl.xml").read_text()
    text = text.replace(">1250.33</cbc:PayableAmount>", ">-50.00</cbc:PayableAmount>").replace(
        "INV-2026-0042", "CR-9")
    result = _import(db, tenant, UBL / "negative.xml", text.encode())
    assert (result.created, result.credit_notes) == (0, 1)
    assert _count(db, Invoice) == 0


def test_a_kid_payment_id_is_kept_as_printed_and_not_checked_as_a_betalingskenmerk(
    db: Session, tenant: Tenant
) -> None:
    assert not is_valid_betalingskenmerk("0000 1234 5678 9015")
    _import(db, tenant, UBL / "invoice-kid.xml")
    inv = _the_invoice(db, "2026-5531")
    assert (inv.payment_reference, inv.currency, inv.amount_cents) == ("0000 1234 5678 9015", "NOK", 1000000)


def test_a_betalingskenmerk_and_an_rf_reference_are_kept_as_printed(db: Session, tenant: Tenant) -> None:
    _import(db, tenant, UBL / "invoice-grouped-kenmerk.xml")
    _import(db, tenant, UBL / "invoice-buyer-without-identifier.xml")
    assert _the_invoice(db, "INV-2026-0103").payment_reference == "5000 0567 8901 2345"
    assert _the_invoice(db, "INV-2026-0101").payment_reference == "RF18 5390 0754 7034"


def test_a_betalingskenmerk_with_a_wrong_check_digit_on_a_dutch_invoice_is_refused(
    db: Session, tenant: Tenant
) -> None:
    text = (UBL / "invoice-grouped-kenmerk.xml").read_text().replace("5000 0567 8901 2345", "5000 0567 8901 2346")
    with pytest.raises(ImportFailed, match="not a valid betalingskenmerk"):
        _import(db, tenant, UBL / "bad.xml", text.encode())
    db.rollback()  # as the CLI does: the import is one transaction
    assert _count(db, Invoice) == 0 and _count(db, Customer) == 0


def test_a_buyer_without_identifier_is_found_by_name_and_email_or_created(db: Session, tenant: Tenant) -> None:
    first = _import(db, tenant, UBL / "invoice-buyer-without-identifier.xml")
    assert (first.created, first.customers_created) == (1, 1)
    customer = db.scalar(select(Customer).where(Customer.name == "Bloemenhandel Vos"))
    assert customer is not None and customer.external_ref is None and customer.email == "info@bloemenvos.example"
    text = (UBL / "invoice-buyer-without-identifier.xml").read_text().replace("INV-2026-0101", "INV-2026-0199")
    text = text.replace("RF18 5390 0754 7034", "RF71 2348 231")
    second = _import(db, tenant, UBL / "second.xml", text.encode())
    assert (second.created, second.customers_created) == (1, 0)
    assert _the_invoice(db, "INV-2026-0199").customer_id == customer.id


def test_an_existing_customer_is_found_by_the_endpoint_id(db: Session, tenant: Tenant) -> None:
    existing = customers_mod.create(db, tenant.org_id, name="Zwaan (KvK)", external_ref="87654321")
    db.commit()
    result = _import(db, tenant, DATA / "invoice-ubl.xml")
    assert (result.created, result.customers_created) == (1, 0)
    assert _the_invoice(db, "INV-2026-0042").customer_id == existing.id


def test_a_prepaid_invoice_is_imported_paid_and_nothing_payable_is_skipped(db: Session, tenant: Tenant) -> None:
    result = _import(db, tenant, UBL / "invoice-prepaid.xml")
    assert result.created == 1 and result.credit_notes == 0
    inv = _the_invoice(db, "INV-2026-0102")
    assert (inv.status, inv.amount_cents, inv.open_cents, inv.next_action_on) == ("paid", 6050, 0, None)
    text = (UBL / "invoice-prepaid.xml").read_text().replace("INV-2026-0102", "INV-2026-0109")
    for tag in ("TaxInclusiveAmount", "PrepaidAmount"):
        text = text.replace(f'>60.50</cbc:{tag}>', f'>0.00</cbc:{tag}>')
    nothing = _import(db, tenant, UBL / "zero.xml", text.encode())
    assert (nothing.created, nothing.nothing_payable) == (0, ["INV-2026-0109"])
    assert "nothing payable" in nothing.summary()


def test_an_invoice_type_code_380_with_a_positive_total_stays_a_debt(db: Session, tenant: Tenant) -> None:
    rows = parse_file((DATA / "invoice-ubl.xml").read_bytes(), "invoice-ubl.xml")
    assert rows[0].kind == "invoice"


def test_an_ubl_file_with_an_unknown_encoding_is_refused_by_name() -> None:
    from domain.imports.ubl import parse_ubl

    with pytest.raises(ImportFailed) as err:
        parse_ubl(b'<?xml version="1.0" encoding="TF-8"?>\n<Invoice/>', "odd.xml")
    assert "unknown encoding: TF-8" in str(err.value.problems)
