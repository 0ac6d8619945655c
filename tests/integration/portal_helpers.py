"""Shared setup for the portal tests: a creditor with a debtor and invoices, a signed
link, a signed-in test client, the CSRF token of a page, the sandbox checkout,
and the e-mails the outbox delivered."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.settings import Settings
from domain import customers, invoices, organisations, portal_links
from domain.models import Customer, Event, Invoice, Organisation, OutboxMessage, Payment

TODAY = dt.date.today()
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PORTAL_LINK = re.compile(r"https?://[^\s\"'<>]+(/p/[A-Za-z0-9_.\-]+)")


@dataclass
class World:
    org: Organisation
    customer: Customer
    invoices: list[Invoice]

    @property
    def ids(self) -> list[str]:
        return [inv.id for inv in self.invoices]


def world(
    db: Session,
    org_name: str = "Noord Groothandel",
    *,
    org: Organisation | None = None,
    customer_name: str = "Bakkerij Jansen",
    email_address: str | None = "ap@jansen.example",
    locale: str = "nl",
    kind: str = "business",
    lines: Sequence[tuple[str, int, int]] = (("F-1", 10, 123_456), ("F-2", -5, 5_000)),
    pdf: bool = False,
) -> World:
    """An organisation (made unless given), a customer and invoices ``(number, days overdue, cents)``."""
    if org is None:
        org, _ = organisations.create(db, org_name)
        org.email, org.phone, org.iban = "debiteuren@noord.example", "+31 20 555 0100", "NL91ABNA0417164300"
        org.address = "Keizersgracht 1\n1015 AA Amsterdam"
    customer = customers.create(db, org.id, name=customer_name, email=email_address, locale=locale, kind=kind)
    made = []
    for number, overdue, cents in lines:
        due = TODAY - dt.timedelta(days=overdue)
        made.append(invoices.create(db, org, invoices.NewInvoice(
            number=number, issue_date=due - dt.timedelta(days=30), due_date=due, amount_cents=cents,
            currency="EUR", customer_id=customer.id,
            pdf_url=f"https://files.acme.example/{number}.pdf" if pdf else None,
        )))  # fmt: skip
    db.commit()
    return World(org, customer, made)


def token(db: Session, settings: Settings, customer: Customer, *, days: int = 30,
          now: dt.datetime | None = None) -> str:  # fmt: skip
    link = portal_links.issue(db, customer, secret_keys=settings.secret_keys, base_url=settings.base_url,
                              now=now or dt.datetime.now(dt.UTC), expires_in_days=days)  # fmt: skip
    db.commit()
    return link.token


def sign_in(client: Any, db: Session, settings: Settings, customer: Customer) -> str:
    """Open a fresh link in the client; answers the statement page's HTML."""
    r = client.get(f"/p/{token(db, settings, customer)}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/portal", r.text
    page = client.get("/portal")
    assert page.status_code == 200, page.text
    return str(page.text)


def csrf(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def pay(client: Any, html: str, invoice_ids: Sequence[str] = (), provider: str = "sandbox") -> Any:
    return client.post("/portal/pay", data={"csrf_token": csrf(html), "provider": provider,
                                            "invoice_ids": list(invoice_ids)}, follow_redirects=False)  # fmt: skip


def checkout_path(response: Any) -> str:
    assert response.status_code == 303, response.text
    location = str(response.headers["location"])
    assert "/sandbox/checkout/sbx_" in location, location
    return urlsplit(location).path


def sandbox(client: Any, path: str, outcome: str) -> Any:
    """Choose an outcome on the sandbox checkout page, as the payer would."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    return client.post(path, data={"csrf_token": csrf(page.text), "outcome": outcome}, follow_redirects=False)


def pay_through_sandbox(client: Any, html: str, invoice_ids: Sequence[str] = (), outcome: str = "paid") -> Any:
    """Pay and choose an outcome; answers the return page."""
    back = sandbox(client, checkout_path(pay(client, html, invoice_ids)), outcome)
    assert back.status_code == 303, back.text
    return client.get(back.headers["location"])


def mails(settings: Settings) -> list[EmailMessage]:
    folder = Path(settings.mail_url[len("file:"):])
    out = []
    for path in sorted(folder.glob("*.eml")) if folder.exists() else []:
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        out.append(msg)
    return out


def body(msg: EmailMessage, subtype: str = "plain") -> str:
    part = msg.get_body(preferencelist=(subtype,))
    assert part is not None
    return str(part.get_content())


def reread(db: Session) -> None:
    """See what the app committed meanwhile: end the test session's transaction (its snapshot)."""
    db.commit()
    db.expire_all()


def events(db: Session, kind: str) -> list[Event]:
    reread(db)
    return list(db.scalars(select(Event).where(Event.kind == kind).order_by(Event.id)))


def payments(db: Session, customer: Customer) -> list[Payment]:
    reread(db)
    return list(db.scalars(select(Payment).where(Payment.customer_id == customer.id).order_by(Payment.id)))


def outbox(db: Session, kind: str) -> list[OutboxMessage]:
    reread(db)
    return list(db.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)))


def fresh(db: Session, invoice: Invoice) -> Invoice:
    reread(db)
    return db.get_one(Invoice, invoice.id)


def api_key(db: Session, org: Organisation, scopes: list[str] | None = None) -> str:
    """A fresh back-office key of ``org``."""
    from domain import apikeys

    issued = apikeys.issue(db, org.id, scopes)
    db.commit()
    return issued.key
