"""Invoices: what a customer owes, and the life of that debt.

Status is one of ``open`` (being collected), ``paid``, ``cancelled``,
``disputed`` (on hold while the debtor's objection is looked at) and
``in_collection`` (handed to a collection agency; Settle stops chasing).
``open_cents`` is what is still due on the invoice.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import customers as customers_mod
from domain.errors import Conflict, NotFound, ValidationError
from domain.events import record
from domain.models import Customer, Invoice, Organisation
from domain.payment_reference import (
    generate_betalingskenmerk,
    is_valid_betalingskenmerk,
    is_valid_rf_reference,
    normalize_reference,
)
from domain.policies import end_pause, policy_for, schedule

STATUSES = ("open", "paid", "cancelled", "disputed", "in_collection")
UNSETTLED = ("open", "disputed", "in_collection")
MAX_BULK = 1000


@dataclass
class NewInvoice:
    number: str
    issue_date: dt.date
    amount_cents: int
    currency: str
    customer_id: str | None = None
    customer_external_ref: str | None = None
    due_date: dt.date | None = None
    open_cents: int | None = None
    payment_reference: str | None = None
    description: str | None = None
    pdf_url: str | None = None


def get(session: Session, org_id: str, invoice_id: str, *, for_update: bool = False) -> Invoice:
    stmt = select(Invoice).where(Invoice.id == invoice_id, Invoice.org_id == org_id)
    if for_update:
        stmt = stmt.with_for_update()
    invoice = session.scalar(stmt)
    if invoice is None:
        raise NotFound(f"no invoice {invoice_id!r}", "invoice_id")
    return invoice


def _resolve_customer(session: Session, org_id: str, new: NewInvoice) -> Customer:
    if new.customer_id:
        try:
            return customers_mod.get(session, org_id, new.customer_id)
        except NotFound:
            raise ValidationError(f"no customer {new.customer_id!r}", "customer_id") from None
    if new.customer_external_ref:
        customer = customers_mod.by_external_ref(session, org_id, new.customer_external_ref)
        if customer is None:
            raise ValidationError(
                f"no customer with external_ref {new.customer_external_ref!r}", "customer_external_ref"
            )
        return customer
    raise ValidationError("customer_id or customer_external_ref is required", "customer_id")


def _payment_reference(session: Session, org_id: str, given: str | None) -> str:
    if given is not None:
        ref = normalize_reference(given)
        if not ref:
            raise ValidationError("payment_reference must not be empty", "payment_reference")
        if ref.isdigit() and len(ref) == 16 and not is_valid_betalingskenmerk(ref):
            raise ValidationError(
                f"{given!r} is not a valid betalingskenmerk (check digit)", "payment_reference"
            )
        if ref.startswith("RF") and not is_valid_rf_reference(ref):
            raise ValidationError(f"{given!r} is not a valid RF creditor reference", "payment_reference")
        return ref
    while True:
        ref = generate_betalingskenmerk(secrets.randbelow(10**15))
        taken = session.scalar(
            select(Invoice.id).where(Invoice.org_id == org_id, Invoice.payment_reference == ref)
        )
        if taken is None:
            return ref


def create(session: Session, org: Organisation, new: NewInvoice) -> Invoice:
    """Validate and store one invoice, and put it on its customer's dunning track."""
    number = (new.number or "").strip()
    if not number:
        raise ValidationError("number must not be empty", "number")
    if len(number) > 64:
        raise ValidationError("number is longer than 64 characters", "number")
    if new.amount_cents <= 0:
        raise ValidationError("amount must be greater than zero", "amount")
    customer = _resolve_customer(session, org.id, new)
    term = customer.payment_term_days
    if term is None:
        term = org.default_payment_term_days
    due_date = new.due_date or new.issue_date + dt.timedelta(days=term)
    if due_date < new.issue_date:
        raise ValidationError("due_date must not be before issue_date", "due_date")
    open_cents = new.amount_cents if new.open_cents is None else new.open_cents
    if not 0 <= open_cents <= new.amount_cents:
        raise ValidationError("open_amount must be between 0 and amount", "open_amount")
    if session.scalar(select(Invoice.id).where(Invoice.org_id == org.id, Invoice.number == number)):
        raise Conflict(f"an invoice with number {number!r} already exists", "number")
    invoice = Invoice(
        org_id=org.id,
        customer_id=customer.id,
        number=number,
        issue_date=new.issue_date,
        due_date=due_date,
        currency=new.currency,
        amount_cents=new.amount_cents,
        open_cents=open_cents,
        status="open" if open_cents > 0 else "paid",
        payment_reference=_payment_reference(session, org.id, new.payment_reference),
        description=new.description,
        pdf_url=new.pdf_url,
        dunning_step=0,
        fees_cents=0,
        costs_cents=0,
        interest_cents=0,
    )
    if invoice.status == "paid":
        invoice.paid_on = new.issue_date
    schedule(invoice, policy_for(session, customer))
    session.add(invoice)
    session.flush()
    record(session, org.id, "invoice.created", invoice, number=number, amount_cents=new.amount_cents)
    return invoice


def cancel(session: Session, org_id: str, invoice_id: str) -> Invoice:
    invoice = get(session, org_id, invoice_id, for_update=True)
    if invoice.status == "cancelled":
        return invoice
    if invoice.status == "paid":
        raise Conflict("a paid invoice cannot be cancelled", "status")
    invoice.status = "cancelled"
    invoice.open_cents = 0
    invoice.next_action_on = None
    record(session, org_id, "invoice.cancelled", invoice)
    return invoice


def pause(
    session: Session, org_id: str, invoice_id: str, until: dt.date, reason: str | None, as_of: dt.date
) -> Invoice:
    """Hold dunning until ``until``; the track resumes where it stood when the pause lapses."""
    invoice = get(session, org_id, invoice_id, for_update=True)
    if invoice.status not in UNSETTLED:
        raise Conflict(f"a {invoice.status} invoice cannot be paused", "status")
    if until <= as_of:
        raise ValidationError("until must be a date after today", "until")
    invoice.paused_until = until
    invoice.pause_reason = (reason or "").strip() or None
    customer = customers_mod.get(session, org_id, invoice.customer_id)
    schedule(invoice, policy_for(session, customer))
    record(session, org_id, "invoice.paused", invoice, until=until.isoformat(), reason=invoice.pause_reason)
    return invoice


def resume(session: Session, org_id: str, invoice_id: str, as_of: dt.date) -> Invoice:
    invoice = get(session, org_id, invoice_id, for_update=True)
    if invoice.paused_until is None:
        return invoice
    customer = customers_mod.get(session, org_id, invoice.customer_id)
    policy = policy_for(session, customer)
    end_pause(invoice, policy, min(as_of, invoice.paused_until))
    schedule(invoice, policy)
    record(session, org_id, "invoice.resumed", invoice)
    return invoice


def filters(
    org_id: str, *, customer_id: str | None, status: str | None, overdue: bool | None, as_of: dt.date
) -> list[Any]:
    conds: list[Any] = [Invoice.org_id == org_id]
    if customer_id:
        conds.append(Invoice.customer_id == customer_id)
    if status:
        if status not in STATUSES:
            raise ValidationError(f"status must be one of {', '.join(STATUSES)}", "status")
        conds.append(Invoice.status == status)
    if overdue is True:
        conds += [Invoice.status.in_(UNSETTLED), Invoice.due_date < as_of, Invoice.open_cents > 0]
    elif overdue is False:
        conds.append(~(Invoice.status.in_(UNSETTLED) & (Invoice.due_date < as_of)))
    return conds
