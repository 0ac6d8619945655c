"""The demo's Belgian creditor (issue 16): a brewery in Ghent whose invoices carry a structured
communication (OGM), Belgian customers in Dutch, French and English, and a Dutch one.

Its invoices are recent (due in the coming weeks, or a few days overdue, before the first
reminder): they show the OGM on the portal and in the statement, Bancontact first for its
Belgian debtors, and leave today's ``settle run`` of the Dutch demo as the README says. Beside
the demo database it writes a CAMT.053 day of its bank account in which three of those
invoices are paid, each OGM written as a Belgian bank writes it (``+++…+++`` in the free text, a
structured ``BBA`` reference, twelve bare digits) and one with wrong check digits, to try
``settle import bank FILE --org demo-be``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import apikeys, customers, invoices, organisations
from domain.models import Customer, Invoice, Organisation
from domain.payment_reference import normalize_reference

BE_SLUG = "demo-be"

# (name, kind, locale, country or None for the creditor's, email, [(days until due (negative: overdue), cents)])
BE_CUSTOMERS: list[tuple[str, str, str, str | None, str, list[tuple[int, int]]]] = [
    ("Café Den Hoek", "business", "nl", None, "boekhouding@denhoek.example", [(-3, 48_400), (12, 96_800)]),
    ("Brasserie Le Coin SRL", "business", "fr", None, "compta@lecoin.example", [(-5, 121_000), (20, 30_250)]),
    ("Marie Dubois", "consumer", "fr", None, "marie.dubois@example.be", [(-2, 7_260)]),
    ("Harbour Pub Antwerp", "business", "en", None, "accounts@harbourpub.example", [(9, 60_500)]),
    ("Bakkerij Jansen B.V.", "business", "nl", "NL", "administratie@bakkerij-jansen.example", [(-4, 24_200)]),
]  # fmt: skip


def seed(session: Session, today: dt.date) -> Organisation:
    """The Belgian creditor, its customers and invoices, made once (the invoices of ``today``)."""
    org = session.scalar(select(Organisation).where(Organisation.slug == BE_SLUG))
    if org is not None:
        return org
    org, first = organisations.create(session, "Brouwerij De Kroon BV", BE_SLUG)
    apikeys.revoke(session, first.record.prefix)  # nobody saw it
    organisations.update(session, org, {
        "country": "BE", "email": "boekhouding@dekroon.example", "phone": "+32 9 225 40 00",
        "address": "Kerkstraat 1\n9000 Gent", "iban": "BE71096123456769", "vat_number": "BE0403170701",
        "enterprise_number": "0403170701",
    })  # fmt: skip
    number = 0
    for i, (name, kind, locale, country, email, lines) in enumerate(BE_CUSTOMERS, start=1):
        customer = customers.create(
            session, org.id, name=name, kind=kind, locale=locale, email=email, external_ref=f"KL-{100 + i}",
            country=country, payment_term_days=14 if kind == "consumer" else 30,
        )  # fmt: skip
        for until_due, cents in lines:
            number += 1
            due = today + dt.timedelta(days=until_due)
            issued = min(due - dt.timedelta(days=30), today)
            inv = invoices.create(session, org, invoices.NewInvoice(
                number=f"VF{today.year % 100:02d}/{number:05d}", issue_date=issued, due_date=due,
                amount_cents=cents, currency="EUR", customer_id=customer.id, description="Levering bier en fusten",
            ))  # fmt: skip
            # Sent on its issue date, as the Dutch demo's invoices are (the history keeps its dates).
            inv.created_at = dt.datetime.combine(issued, dt.time(8, 30), tzinfo=dt.UTC)
    return org


def portal_customers(session: Session, org: Organisation) -> list[Customer]:
    return list(session.scalars(select(Customer).where(Customer.org_id == org.id).order_by(Customer.external_ref)))


def write_statement(session: Session, org: Organisation, path: Path, today: dt.date) -> Path:
    """A CAMT.053 day of the creditor's account paying three of its open invoices by their OGMs, in
    three written forms, and one transfer whose OGM has a wrong check digit (left for a person)."""
    open_ = list(session.scalars(
        select(Invoice).where(Invoice.org_id == org.id, Invoice.status == "open").order_by(Invoice.number)
    ))[:4]  # fmt: skip
    forms = ["ustrd", "bba", "bare", "wrong"]
    entries = []
    total = 0
    for i, (inv, form) in enumerate(zip(open_, forms, strict=False)):
        digits = normalize_reference(inv.payment_reference or "")
        amount = f"{inv.open_cents // 100}.{inv.open_cents % 100:02d}"
        total += inv.open_cents
        if form == "ustrd":
            rmt = f"<Ustrd>Betaling {inv.payment_reference}</Ustrd>"
        elif form == "bba":
            rmt = ("<Strd><CdtrRefInf><Tp><CdOrPrtry><Prtry>BBA</Prtry></CdOrPrtry></Tp>"
                   f"<Ref>{digits}</Ref></CdtrRefInf></Strd>")  # fmt: skip
        elif form == "bare":
            rmt = f"<Ustrd>FACTUUR {digits} DANK U</Ustrd>"
        else:
            wrong = digits[:10] + f"{(int(digits[10:]) % 97) + 1:02d}"
            rmt = f"<Ustrd>+++{wrong[:3]}/{wrong[3:7]}/{wrong[7:]}+++</Ustrd>"
        entries.append(
            f"<Ntry><NtryRef>DEMO-BE-{i + 1}</NtryRef><Amt Ccy=\"EUR\">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd>"
            f"<Sts>BOOK</Sts><BookgDt><Dt>{today.isoformat()}</Dt></BookgDt><ValDt><Dt>{today.isoformat()}</Dt>"
            "</ValDt><NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs><RltdPties><Dbtr><Nm>"
            f"{_xml(_customer_name(session, inv))}</Nm></Dbtr></RltdPties><RmtInf>{rmt}</RmtInf></TxDtls></NtryDtls>"
            "</Ntry>"
        )
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
        f"<GrpHdr><MsgId>DEMO-BE-{today.isoformat()}</MsgId><CreDtTm>{today.isoformat()}T18:00:00</CreDtTm></GrpHdr>"
        f"<Stmt><Id>DEMO-BE-{today.isoformat()}</Id><CreDtTm>{today.isoformat()}T18:00:00</CreDtTm>"
        f"<Acct><Id><IBAN>{org.iban}</IBAN></Id><Ccy>EUR</Ccy></Acct>{''.join(entries)}</Stmt>"
        "</BkToCstmrStmt></Document>\n"
    )
    path.write_text(body, encoding="utf-8")
    return path


def _customer_name(session: Session, inv: Invoice) -> str:
    return session.get_one(Customer, inv.customer_id).name


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
