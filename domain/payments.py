"""Payments and how they settle invoices.

Without instructions a payment settles the customer's oldest unsettled
invoices first (by due date), which is what a debtor expects and what most
accounting packages do. What cannot be allocated stays on the payment as an
unallocated credit: visible, never lost.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import arrangements
from domain import customers as customers_mod
from domain.errors import NotFound, ValidationError
from domain.events import record
from domain.ids import new_id
from domain.invoices import UNSETTLED, check_day
from domain.models import Invoice, Payment, PaymentAllocation
from domain.money import format_amount


@dataclass(frozen=True)
class AllocationRequest:
    invoice_id: str
    amount_cents: int


def open_invoices(session: Session, org_id: str, customer_id: str, currency: str) -> list[Invoice]:
    """The customer's unsettled invoices in this currency, oldest first, locked for the allocation.

    Checked again in memory: a caller working without autoflush may hold changes the
    database has not seen yet."""
    rows = list(
        session.scalars(
            select(Invoice)
            .where(
                Invoice.org_id == org_id,
                Invoice.customer_id == customer_id,
                Invoice.currency == currency,
                Invoice.status.in_(UNSETTLED),
                Invoice.open_cents > 0,
            )
            .order_by(Invoice.due_date, Invoice.issue_date, Invoice.number)
            .with_for_update()
        )
    )
    return [inv for inv in rows if inv.status in UNSETTLED and inv.open_cents > 0]


def settle(session: Session, invoice: Invoice, cents: int, payment: Payment) -> PaymentAllocation:
    """Apply ``cents`` of ``payment`` to ``invoice``; a fully paid invoice leaves dunning."""
    allocation = PaymentAllocation(
        org_id=payment.org_id, payment_id=payment.id, invoice_id=invoice.id, amount_cents=cents
    )
    session.add(allocation)
    invoice.open_cents -= cents
    if invoice.open_cents == 0:
        invoice.status = "paid"
        invoice.paid_on = payment.received_on
        invoice.next_action_on = None
        invoice.paused_until = None
        record(session, invoice.org_id, "invoice.paid", invoice, payment_id=payment.id)
    return allocation


def allocate(
    session: Session, payment: Payment, requested: list[AllocationRequest] | None = None
) -> list[PaymentAllocation]:
    """Allocate a registered payment: as requested, else oldest invoice first."""
    invoices = open_invoices(session, payment.org_id, payment.customer_id, payment.currency)
    by_id = {inv.id: inv for inv in invoices}
    remaining = payment.unallocated_cents
    made: list[PaymentAllocation] = []
    if requested is None:
        for invoice in invoices:
            if remaining == 0:
                break
            cents = min(remaining, invoice.open_cents)
            made.append(settle(session, invoice, cents, payment))
            remaining -= cents
    else:
        if sum(a.amount_cents for a in requested) > remaining:
            raise ValidationError("allocations add up to more than the payment amount", "allocations")
        seen: set[str] = set()
        for i, req in enumerate(requested):
            field = f"allocations[{i}]"
            if req.invoice_id in seen:
                raise ValidationError(f"invoice {req.invoice_id!r} is allocated twice", f"{field}.invoice_id")
            seen.add(req.invoice_id)
            target = by_id.get(req.invoice_id)
            if target is None:
                raise ValidationError(
                    f"invoice {req.invoice_id!r} is not an open {payment.currency} invoice of this customer",
                    f"{field}.invoice_id",
                )
            if req.amount_cents <= 0:
                raise ValidationError("amount must be greater than zero", f"{field}.amount")
            if req.amount_cents > target.open_cents:
                raise ValidationError(
                    f"amount is more than the {format_amount(target.open_cents)} open on invoice {target.number}",
                    f"{field}.amount",
                )
            made.append(settle(session, target, req.amount_cents, payment))
            remaining -= req.amount_cents
    payment.unallocated_cents = remaining
    return made


def register_manual(
    session: Session,
    org_id: str,
    *,
    customer_id: str,
    amount_cents: int,
    currency: str,
    received_on: dt.date,
    reference: str | None = None,
    allocations: list[AllocationRequest] | None = None,
    method: str = "manual",
) -> tuple[Payment, list[PaymentAllocation]]:
    check_day(received_on, "received_on")
    try:
        customers_mod.get(session, org_id, customer_id)
    except NotFound:
        raise ValidationError(f"no customer {customer_id!r}", "customer_id") from None
    if amount_cents <= 0:
        raise ValidationError("amount must be greater than zero", "amount")
    payment = Payment(
        id=new_id("pay"),  # known now: no flush needed before its allocations are added
        org_id=org_id,
        customer_id=customer_id,
        amount_cents=amount_cents,
        currency=currency,
        status="paid",
        method=method,
        received_on=received_on,
        unallocated_cents=amount_cents,
        reference=reference,
        requested_invoice_ids=[],
        refunded_cents=0,
    )
    session.add(payment)
    made = allocate(session, payment, allocations)
    arrangements.settle_paid(session, org_id, [customer_id], received_on)  # a plan's instalments, at once
    record(
        session,
        org_id,
        "payment.registered",
        payment,
        amount_cents=amount_cents,
        allocated=[{"invoice_id": a.invoice_id, "amount_cents": a.amount_cents} for a in made],
        unallocated_cents=payment.unallocated_cents,
    )
    return payment, made


def allocations_of(session: Session, payment_ids: list[str]) -> dict[str, list[PaymentAllocation]]:
    out: dict[str, list[PaymentAllocation]] = {pid: [] for pid in payment_ids}
    if payment_ids:
        rows = session.scalars(
            select(PaymentAllocation)
            .where(PaymentAllocation.payment_id.in_(payment_ids))
            .order_by(PaymentAllocation.id)
        )
        for row in rows:
            out[row.payment_id].append(row)
    return out
