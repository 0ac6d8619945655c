"""What a dunning message says, as data. The edges render it (Jinja, SMTP, HTML letters).

The engine decides *that* a customer gets a message of a certain kind about
certain invoices; a ``Composer`` supplied by the caller turns that into words
in the customer's language and issues the fresh portal link it carries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.orm import Session

from domain.law import InterestResult
from domain.law.be import ReminderContent
from domain.models import Customer, Invoice, Organisation
from domain.portal_links import Link
from domain.statement import split_open


@dataclass(frozen=True)
class MessageLine:
    """One invoice as a message shows it, after this run's fees, costs and interest."""

    invoice_id: str
    number: str
    issue_date: dt.date
    due_date: dt.date
    days_overdue: int
    currency: str
    amount_cents: int
    principal_open_cents: int
    fees_cents: int
    costs_cents: int
    interest_cents: int
    open_cents: int
    payment_reference: str | None
    step_kind: str | None  # the step this invoice reached in this run, if it is one the message is about

    @classmethod
    def of(cls, invoice: Invoice, as_of: dt.date, step_kind: str | None) -> MessageLine:
        principal, _ = split_open(invoice)
        return cls(
            invoice_id=invoice.id,
            number=invoice.number,
            issue_date=invoice.issue_date,
            due_date=invoice.due_date,
            days_overdue=max(0, (as_of - invoice.due_date).days),
            currency=invoice.currency,
            amount_cents=invoice.amount_cents,
            principal_open_cents=principal,
            fees_cents=invoice.fees_cents,
            costs_cents=invoice.costs_cents,
            interest_cents=invoice.interest_cents,
            open_cents=invoice.open_cents,
            payment_reference=invoice.payment_reference,
            step_kind=step_kind,
        )


@dataclass(frozen=True)
class Totals:
    currency: str
    principal_cents: int
    fees_cents: int
    costs_cents: int
    interest_cents: int
    open_cents: int


def totals_of(lines: list[MessageLine]) -> list[Totals]:
    by: dict[str, list[MessageLine]] = {}
    for ln in lines:
        by.setdefault(ln.currency, []).append(ln)
    return [
        Totals(
            currency=cur,
            principal_cents=sum(x.principal_open_cents for x in xs),
            fees_cents=sum(x.fees_cents for x in xs),
            costs_cents=sum(x.costs_cents for x in xs),
            interest_cents=sum(x.interest_cents for x in xs),
            open_cents=sum(x.open_cents for x in xs),
        )
        for cur, xs in sorted(by.items())
    ]


@dataclass(frozen=True)
class CostsNotice:
    """The collection costs a formal notice announces, and from when they are charged."""

    amount_cents: int
    currency: str
    charged_from: dt.date
    already_charged: bool


@dataclass
class MessageContext:
    org: Organisation
    customer: Customer
    kind: str
    as_of: dt.date
    lines: list[MessageLine]  # the invoices this message is about
    statement: list[MessageLine]  # every open invoice of the customer (the account statement)
    portal_url: str
    costs_notice: CostsNotice | None = None
    interest: list[InterestResult] = field(default_factory=list)
    skipped_kinds: list[str] = field(default_factory=list)
    template: str | None = None  # the step's own words, if its policy names them; else the kind's
    book_xix: ReminderContent | None = None  # a Belgian consumer's first reminder: what it must state
    law: str = "NL"  # NL | BE: the creditor's law, whose terms the words name

    @property
    def totals(self) -> list[Totals]:
        return totals_of(self.lines)

    @property
    def statement_totals(self) -> list[Totals]:
        return totals_of(self.statement)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


class Composer(Protocol):
    """Supplied by the caller of a run: words, letters and links for a message."""

    def portal_url(self, session: Session, customer: Customer) -> str: ...

    def links(self, customers: Sequence[Customer]) -> list[Link]:
        """Fresh portal links for many customers, signed at once and not recorded: the run
        stores their ``portal_link.issued`` events with its batch (``portal_links.sign_many``)."""
        ...

    def email(self, ctx: MessageContext) -> Rendered: ...

    def letter(self, ctx: MessageContext) -> Rendered: ...

    def sms_links(self, customers: Sequence[Customer]) -> list[Link]:
        """``links``, short enough for a text message (``portal_links.sign_short``)."""
        ...

    def sms(self, ctx: MessageContext) -> Rendered:
        """A text message's words (``Rendered.text``), one segment where they fit."""
        ...


class DeliveryError(Exception):
    """The message was not accepted; it stays pending and is retried later."""


class Transport(Protocol):
    """Where e-mail goes: SMTP, or a folder of ``.eml`` files."""

    def send(self, *, message_id: str, sender: str, to: str, subject: str, text: str, html: str,
             reply_to: str | None = None) -> None: ...

    def close(self) -> None: ...
