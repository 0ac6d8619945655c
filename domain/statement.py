"""The account statement: what a customer owes today, invoice by invoice.

Principal, collection costs, step fees and statutory interest are shown
separately, because Dutch law requires a debtor to see what each part is
before being asked to pay it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.invoices import UNSETTLED
from domain.models import Customer, Invoice, Payment


@dataclass(frozen=True)
class StatementLine:
    invoice: Invoice
    days_overdue: int
    principal_open_cents: int
    extras_open_cents: int


@dataclass
class CurrencyTotal:
    currency: str
    principal_cents: int = 0
    costs_cents: int = 0
    fees_cents: int = 0
    interest_cents: int = 0
    total_cents: int = 0


@dataclass
class Statement:
    customer: Customer
    as_of: dt.date
    lines: list[StatementLine] = field(default_factory=list)
    totals: dict[str, CurrencyTotal] = field(default_factory=dict)
    # Money received that settles no invoice, per currency: a payment for invoices that were
    # meanwhile paid another way, an overpayment. The customer's, never lost.
    credits: dict[str, int] = field(default_factory=dict)


def split_open(invoice: Invoice) -> tuple[int, int]:
    """Split what is open into principal and extras (fees, costs, interest).

    Art. 6:44 BW: a payment goes first to costs, then to interest, then to the
    principal, so extras are the first thing a payment clears.
    """
    extras = invoice.fees_cents + invoice.costs_cents + invoice.interest_cents
    paid = invoice.amount_cents + extras - invoice.open_cents
    extras_open = max(0, extras - paid)
    return invoice.open_cents - extras_open, extras_open


def build(session: Session, customer: Customer, as_of: dt.date) -> Statement:
    invoices = session.scalars(
        select(Invoice)
        .where(
            Invoice.org_id == customer.org_id,
            Invoice.customer_id == customer.id,
            Invoice.status.in_(UNSETTLED),
            Invoice.open_cents > 0,
        )
        .order_by(Invoice.due_date, Invoice.number)
    )
    statement = Statement(customer=customer, as_of=as_of)
    for inv in invoices:
        principal, extras = split_open(inv)
        statement.lines.append(
            StatementLine(
                invoice=inv,
                days_overdue=max(0, (as_of - inv.due_date).days),
                principal_open_cents=principal,
                extras_open_cents=extras,
            )
        )
        total = statement.totals.setdefault(inv.currency, CurrencyTotal(inv.currency))
        total.principal_cents += principal
        if extras:
            # Extras still open are reported in the order they were charged.
            total.fees_cents += min(inv.fees_cents, extras)
            rest = extras - min(inv.fees_cents, extras)
            total.costs_cents += min(inv.costs_cents, rest)
            total.interest_cents += rest - min(inv.costs_cents, rest)
        total.total_cents += inv.open_cents
    statement.credits = credits(session, customer)
    return statement


def credits(session: Session, customer: Customer) -> dict[str, int]:
    """The customer's unallocated credit per currency (see ``Statement.credits``)."""
    rows = session.execute(
        select(Payment.currency, func.sum(Payment.unallocated_cents))
        .where(
            Payment.org_id == customer.org_id,
            Payment.customer_id == customer.id,
            Payment.status == "paid",
            Payment.unallocated_cents > 0,
        )
        .group_by(Payment.currency)
    )
    return {currency: int(cents) for currency, cents in rows}
