"""Where the money is stuck: aging, days sales outstanding, and how each customer pays.

Aging on a past date counts an invoice as open by what was still unpaid on
that date: its amount less the allocations of payments received on or before
it. Cancelled invoices are left out altogether.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.models import Customer, DunningAction, Invoice, Payment, PaymentAllocation

BUCKETS = ("not_due", "1_30", "31_60", "61_90", "over_90")


def bucket(days_overdue: int) -> str:
    if days_overdue <= 0:
        return "not_due"
    if days_overdue <= 30:
        return "1_30"
    if days_overdue <= 60:
        return "31_60"
    if days_overdue <= 90:
        return "61_90"
    return "over_90"


@dataclass
class AgingRow:
    currency: str
    customer_id: str | None = None
    customer_name: str | None = None
    cents: dict[str, int] = field(default_factory=lambda: dict.fromkeys(BUCKETS, 0))

    @property
    def total(self) -> int:
        return sum(self.cents.values())


def _allocated(session: Session, org_id: str, as_of: dt.date | None) -> dict[str, int]:
    stmt = (
        select(PaymentAllocation.invoice_id, func.sum(PaymentAllocation.amount_cents))
        .join(Payment, Payment.id == PaymentAllocation.payment_id)
        .where(PaymentAllocation.org_id == org_id)
        .group_by(PaymentAllocation.invoice_id)
    )
    if as_of is not None:
        stmt = stmt.where(Payment.received_on <= as_of)
    return {inv: int(total) for inv, total in session.execute(stmt)}


def open_on(session: Session, org_id: str, as_of: dt.date) -> list[tuple[Invoice, int]]:
    """Each invoice issued by ``as_of`` with what was still unpaid of its amount on that day.

    What was paid before the invoice reached Settle (an import with a smaller
    ``open_amount``) counts as paid from the start.
    """
    until = _allocated(session, org_id, as_of)
    ever = _allocated(session, org_id, None)
    invoices = session.scalars(
        select(Invoice).where(Invoice.org_id == org_id, Invoice.issue_date <= as_of, Invoice.status != "cancelled")
    )
    out = []
    for inv in invoices:
        extras = inv.fees_cents + inv.costs_cents + inv.interest_cents
        paid_outside = max(0, inv.amount_cents + extras - inv.open_cents - ever.get(inv.id, 0))
        unpaid = min(inv.amount_cents, inv.amount_cents - paid_outside - until.get(inv.id, 0))
        if unpaid > 0:
            out.append((inv, unpaid))
    return out


def aging(session: Session, org_id: str, as_of: dt.date) -> tuple[list[AgingRow], list[AgingRow]]:
    """(totals per currency, rows per customer and currency)."""
    names = dict(session.execute(select(Customer.id, Customer.name).where(Customer.org_id == org_id)).all())
    totals: dict[str, AgingRow] = {}
    per_customer: dict[tuple[str, str], AgingRow] = {}
    for inv, unpaid in open_on(session, org_id, as_of):
        b = bucket((as_of - inv.due_date).days)
        total = totals.setdefault(inv.currency, AgingRow(inv.currency))
        total.cents[b] += unpaid
        row = per_customer.setdefault(
            (inv.customer_id, inv.currency), AgingRow(inv.currency, inv.customer_id, names.get(inv.customer_id))
        )
        row.cents[b] += unpaid
    customers = sorted(per_customer.values(), key=lambda r: (-r.total, r.customer_name or ""))
    return [totals[c] for c in sorted(totals)], customers


@dataclass(frozen=True)
class Dso:
    currency: str
    receivables_cents: int
    sales_cents: int
    days: Decimal | None


def dso(session: Session, org_id: str, as_of: dt.date, period_days: int = 90) -> list[Dso]:
    """Days sales outstanding: receivables on ``as_of`` / sales invoiced in the period x its days."""
    start = as_of - dt.timedelta(days=period_days - 1)
    receivables: dict[str, int] = defaultdict(int)
    for inv, unpaid in open_on(session, org_id, as_of):
        receivables[inv.currency] += unpaid
    sales = dict(
        session.execute(
            select(Invoice.currency, func.sum(Invoice.amount_cents))
            .where(Invoice.org_id == org_id, Invoice.issue_date >= start, Invoice.issue_date <= as_of,
                   Invoice.status != "cancelled")
            .group_by(Invoice.currency)
        ).all()
    )
    out = []
    for currency in sorted(set(receivables) | set(sales)):
        s = int(sales.get(currency, 0))
        r = receivables.get(currency, 0)
        days = (Decimal(r) / Decimal(s) * period_days).quantize(Decimal("0.1"), ROUND_HALF_UP) if s else None
        out.append(Dso(currency, r, s, days))
    return out


@dataclass(frozen=True)
class Behaviour:
    """How a customer has paid its last ``window`` paid invoices: what policy rules look at."""

    customer_id: str
    paid_invoices: int
    average_days_late: Decimal | None
    on_time_ratio: Decimal | None
    reminders_needed: int
    open_invoices: int
    segment: str  # new | loyal | risky | regular


def behaviour(session: Session, customer: Customer, window: int = 10, risky_days: int = 30) -> Behaviour:
    paid = session.execute(
        select(Invoice.id, Invoice.due_date, Invoice.paid_on)
        .where(Invoice.org_id == customer.org_id, Invoice.customer_id == customer.id, Invoice.status == "paid",
               Invoice.paid_on.is_not(None))
        .order_by(Invoice.paid_on.desc(), Invoice.id.desc())
        .limit(window)
    ).all()
    late = [max(0, (paid_on - due).days) if paid_on else 0 for _, due, paid_on in paid]
    ids = [row[0] for row in paid]
    reminders = session.scalar(
        select(func.count()).select_from(DunningAction)
        .where(DunningAction.invoice_id.in_(ids), DunningAction.status == "planned")
    ) if ids else 0
    open_count = session.scalar(
        select(func.count()).select_from(Invoice)
        .where(Invoice.customer_id == customer.id, Invoice.status.in_(("open", "disputed", "in_collection")))
    ) or 0
    average = (Decimal(sum(late)) / len(late)).quantize(Decimal("0.1"), ROUND_HALF_UP) if late else None
    on_time = (Decimal(sum(1 for x in late if x == 0)) / len(late)).quantize(Decimal("0.01")) if late else None
    if not paid:
        segment = "new"
    elif average is not None and average >= risky_days:
        segment = "risky"
    elif on_time == 1:
        segment = "loyal"
    else:
        segment = "regular"
    return Behaviour(customer.id, len(paid), average, on_time, int(reminders or 0), int(open_count), segment)
