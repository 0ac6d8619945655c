"""Seeding and reading for the letter tests: a creditor with its details, debtors with a postal
address at every letter step on one day, and PDFs read back with pdfplumber and zxing-cpp."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

import pdfplumber
import zxingcpp
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from domain import customers, invoices, organisations
from domain.models import Customer, Invoice, Letter, Organisation, PolicyStep

MM = 72 / 25.4  # PDF points per millimetre
# DIN 5008 form B: the window of a window envelope, in mm from the sheet's top-left corner.
WINDOW = {"left": 20.0, "top": 45.0, "width": 85.0, "height": 45.0}

AS_OF = dt.date(2026, 6, 1)  # a Monday
IBAN = "NL91ABNA0417164300"
ORG_NAME = "Groothandel Brieven B.V."
# Days overdue on AS_OF that put an invoice at each step of the default policy.
KIND_DAYS = {"reminder": 7, "statement_reminder": 14, "final_reminder": 28, "formal_notice": 35,
             "collection_handover": 50}  # fmt: skip


@dataclass
class Debtor:
    customer_id: str
    name: str
    address: list[str]
    kind: str  # the step it is at on AS_OF
    locale: str
    invoice_number: str
    reference: str
    cents: int


def creditor(db: Session, *, all_by_post: bool = True, name: str = ORG_NAME) -> Organisation:
    org, _ = organisations.create(db, name)
    organisations.update(db, org, {
        "address": "Havenstraat 1\n1011 AB Amsterdam", "iban": IBAN, "kvk_number": "12345678",
        "vat_number": "NL004495445B01", "email": "debiteuren@brieven.example", "phone": "+31201234567",
    })  # fmt: skip
    if all_by_post:
        db.flush()
        db.execute(update(PolicyStep).where(PolicyStep.org_id == org.id, PolicyStep.kind != "call_task")
                   .values(channel="letter"))  # fmt: skip
    return org


def debtor(db: Session, org: Organisation, kind: str, locale: str, n: int, *, consumer: bool = False,
           days: int | None = None, cents: int = 123_456) -> Debtor:  # fmt: skip
    name = f"{'Familie' if consumer else 'Bakkerij'} {kind.title().replace('_', '')} {locale.upper()} {n}"
    address = [f"Dorpsstraat {n}", f"{1000 + n} AB Utrecht"]
    c = customers.create(db, org.id, name=name, email=f"d{n}@debtor.example",
                         kind="consumer" if consumer else "business", locale=locale, address="\n".join(address),
                         external_ref=f"DEB-{n:04d}")  # fmt: skip
    due = AS_OF - dt.timedelta(days=KIND_DAYS[kind] if days is None else days)
    inv = invoices.create(db, org, invoices.NewInvoice(
        number=f"F2026-{n:04d}", issue_date=due - dt.timedelta(days=30), due_date=due, amount_cents=cents,
        currency="EUR", customer_id=c.id,
    ))  # fmt: skip
    return Debtor(c.id, name, address, kind, locale, inv.number, str(inv.payment_reference), cents)


def letters_of(db: Session, org_id: str) -> list[Letter]:
    return list(db.scalars(select(Letter).where(Letter.org_id == org_id).order_by(Letter.id)))


def customer(db: Session, customer_id: str) -> Customer:
    return db.get_one(Customer, customer_id)


def invoice(db: Session, number: str) -> Invoice:
    found = db.scalar(select(Invoice).where(Invoice.number == number))
    assert found is not None
    return found


# --- reading PDFs ------------------------------------------------------------------


def pdf_text(data: bytes) -> str:
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return "\n".join(page.extract_text() or "" for page in pdf.pages)


def page_texts(data: bytes) -> list[str]:
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return [page.extract_text() or "" for page in pdf.pages]


def words_in_mm(data: bytes, page: int = 0) -> list[dict[str, Any]]:
    """The words of a page with their box in mm from the sheet's top-left corner."""
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        words = pdf.pages[page].extract_words()
    return [{"text": w["text"], "x0": w["x0"] / MM, "x1": w["x1"] / MM, "top": w["top"] / MM,
             "bottom": w["bottom"] / MM} for w in words]  # fmt: skip


def in_window(word: dict[str, Any]) -> bool:
    w = WINDOW
    return (w["left"] <= word["x0"] and word["x1"] <= w["left"] + w["width"]
            and w["top"] <= word["top"] and word["bottom"] <= w["top"] + w["height"])  # fmt: skip


def fonts(data: bytes) -> set[str]:
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return {ch["fontname"] for page in pdf.pages for ch in page.chars}


def qr_codes(data: bytes, page: int | None = None, resolution: int = 200) -> list[str]:
    """The texts of every QR code on a page (all pages: ``None``), as a phone's camera would read
    them off the paper."""
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        pages = pdf.pages if page is None else [pdf.pages[page]]
        images = [p.to_image(resolution=resolution).original for p in pages]
    return [b.text for image in images for b in zxingcpp.read_barcodes(image)
            if b.format == zxingcpp.BarcodeFormat.QRCode]  # fmt: skip
