"""A French-speaking Belgian debtor and its creditor, for the French tests (integration and browser)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from domain import customers, invoices, organisations
from domain.models import Customer, Invoice, Organisation

NNBSP, NBSP = "\u202f", "\u00a0"
DAY = dt.timedelta(days=1)
CREDITOR = "Brasserie Lumière SRL"
# The names the test gives (creditor, debtors, address): not the product's words, so not checked.
OWN_NAMES = f"{CREDITOR} Sophie Dubois Boulangerie Dubois SRL Rue de la Loi Bruxelles BE KvK"


def belgian_creditor(db: Session) -> Organisation:
    org, _ = organisations.create(db, CREDITOR)
    organisations.update(db, org, {
        "country": "BE", "email": "comptabilite@brasserie-lumiere.example", "phone": "+32 2 511 11 11",
        "address": "Rue de la Loi 16\n1000 Bruxelles", "iban": "BE71096123456769",
        "enterprise_number": "0403.170.701", "vat_number": "BE0403170701",
    })  # fmt: skip
    db.commit()
    return org


def french_debtor(db: Session, org: Organisation, *, kind: str = "consumer") -> Customer:
    name, address = ("Sophie Dubois", "sophie.dubois@example.be") if kind == "consumer" else (
        "Boulangerie Dubois SRL", "compta@boulangerie-dubois.example")  # fmt: skip
    debtor = customers.create(db, org.id, name=name, email=address, kind=kind, locale="fr")
    db.commit()
    return debtor


def invoice(db: Session, org: Organisation, debtor: Customer, number: str, due: dt.date, cents: int) -> Invoice:
    made = invoices.create(db, org, invoices.NewInvoice(
        number=number, issue_date=due - 30 * DAY, due_date=due, amount_cents=cents, currency="EUR",
        customer_id=debtor.id,
    ))  # fmt: skip
    db.commit()
    return made
