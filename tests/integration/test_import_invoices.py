"""`settle import invoices`: CSV and UBL 2.1, all or nothing, safe to repeat."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.imports import ImportFailed, apply, parse_file
from domain.models import Customer, Invoice, Organisation
from tests.conftest import Tenant

DATA = Path(__file__).resolve().parent.parent / "data"


def _org(db: Session, tenant: Tenant) -> Organisation:
    return db.get_one(Organisation, tenant.org_id)


def _count(db: Session, model: type) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0


def test_csv_import_creates_customers_and_invoices_and_a_second_import_skips_them(db: Session, tenant: Tenant) -> None:
    data = (DATA / "invoices.csv").read_bytes()
    first = apply(db, _org(db, tenant), parse_file(data, "invoices.csv"), "invoices.csv")
    db.commit()
    assert (first.created, first.skipped, first.customers_created) == (3, 0, 2)
    partly = db.scalar(select(Invoice).where(Invoice.number == "F2026-1002"))
    assert partly is not None and partly.open_cents == 4995 and partly.due_date.isoformat() == "2026-11-14"
    consumer = db.scalar(select(Customer).where(Customer.external_ref == "DEB-2"))
    assert consumer is not None and consumer.kind == "consumer"
    again = apply(db, _org(db, tenant), parse_file(data, "invoices.csv"), "invoices.csv")
    db.commit()
    assert (again.created, again.skipped) == (0, 3)
    assert _count(db, Invoice) == 3


def test_a_bad_row_is_reported_with_its_line_and_nothing_is_imported(db: Session, tenant: Tenant) -> None:
    text = (DATA / "invoices.csv").read_text().splitlines()
    text.insert(3, "F2026-1009,DEB-1,,,,,2026-10-15,,12.345,EUR,,,")
    text.append("F2026-1010,DEB-9,Nieuw,,,,31-13-2026,,10.00,EUR,,,")
    with pytest.raises(ImportFailed) as info:
        parse_file("\n".join(text).encode(), "bad.csv")
    problems = info.value.problems
    assert any(p.startswith("line 4: amount") and "two decimals" in p for p in problems)
    assert any(p.startswith("line 6: issue_date") for p in problems)
    assert _count(db, Invoice) == 0


def test_a_new_customer_without_a_name_sinks_the_whole_file(db: Session, tenant: Tenant) -> None:
    rows = parse_file(b"number,customer_external_ref,issue_date,amount\nA-1,NEW,2026-01-01,10.00\n", "x.csv")
    with pytest.raises(ImportFailed, match="line 2: customer 'NEW' is new"):
        apply(db, _org(db, tenant), rows, "x.csv")


def test_dutch_spreadsheet_csv_with_semicolons_and_decimal_commas(db: Session, tenant: Tenant) -> None:
    data = (
        "number;customer_external_ref;customer_name;issue_date;due_date;amount\n"
        "N-1;D-1;Jansen;01-10-2026;31-10-2026;1.250,50\n"
    )
    result = apply(db, _org(db, tenant), parse_file(data.encode(), "nl.csv"), "nl.csv")
    assert result.created == 1
    inv = db.scalar(select(Invoice).where(Invoice.number == "N-1"))
    assert inv is not None and inv.amount_cents == 125050


def test_ubl_invoice_import(db: Session, tenant: Tenant) -> None:
    rows = parse_file((DATA / "invoice-ubl.xml").read_bytes(), "invoice-ubl.xml")
    result = apply(db, _org(db, tenant), rows, "invoice-ubl.xml")
    assert result.created == 1 and result.customers_created == 1
    inv = db.scalar(select(Invoice).where(Invoice.number == "INV-2026-0042"))
    assert inv is not None and inv.amount_cents == 125033 and inv.payment_reference == "5000700000420013"
    customer = db.get_one(Customer, inv.customer_id)
    assert (customer.external_ref, customer.name, customer.email) == (
        "DEB-77", "Café De Zwaan", "eigenaar@cafedezwaan.example")


def test_ubl_with_an_external_entity_is_refused() -> None:
    evil = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'
    with pytest.raises(ImportFailed, match="refused"):
        parse_file(evil, "evil.xml")


def test_ubl_missing_total_names_the_element() -> None:
    total = '<cbc:PayableAmount currencyID="EUR">1250.33</cbc:PayableAmount>'
    data = (DATA / "invoice-ubl.xml").read_text().replace(total, "")
    with pytest.raises(ImportFailed, match="PayableAmount is missing"):
        parse_file(data.encode(), "x.xml")


def test_cli_import_exit_codes(tmp_path: Path, scratch_database: object) -> None:
    url = scratch_database()  # type: ignore[operator]
    settle = shutil.which("settle", path=str(Path(sys.executable).parent)) or "settle"
    env = {**os.environ, "SETTLE_DATABASE_URL": url}
    subprocess.run([settle, "org", "create", "--name", "Acme"], env=env, check=True, capture_output=True)
    ok = subprocess.run([settle, "import", "invoices", str(DATA / "invoices.csv"), "--org", "acme"], env=env,
                        capture_output=True, text=True)
    assert ok.returncode == 0 and "3 invoices imported" in ok.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("number,customer_external_ref,issue_date,amount\nA-1,DEB-1,2026-01-01,-5.00\n")
    res = subprocess.run([settle, "import", "invoices", str(bad), "--org", "acme"], env=env, capture_output=True,
                         text=True)
    assert res.returncode == 2 and "line 2: amount" in res.stderr and "nothing imported" in res.stderr
