"""Payments registered by the back office (bank transfers seen elsewhere, cash, set-offs)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, Response, get, post
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import docs, idempotency
from api.auth import Auth
from api.docs import responses
from api.pagination import Cursor, Limit, page
from api.schemas import PaymentCreate, PaymentPage, PaymentRead
from domain import payments
from domain.errors import NotFound, ValidationError
from domain.models import Payment
from domain.money import MoneyError, parse_amount, parse_currency


def _cents(value: str, field: str) -> int:
    try:
        return parse_amount(value, allow_zero=False)
    except MoneyError as exc:
        raise ValidationError(f"{field.split('.')[-1]} {exc}", field) from None


class PaymentController(Controller):
    path = "/payments"
    tags = ["payments"]

    @post("/", opt={"scope": "payments:write"}, sync_to_thread=True, status_code=201, summary="Register a payment",
          responses=responses(PaymentRead, docs.PAYMENT, 404, 409, 413, status=201, description="The payment"))
    def create(self, request: Request[Any, Any, Any], db: Session, auth: Auth, data: PaymentCreate) -> Response[Any]:
        """Register money received. Without ``allocations`` it settles the oldest open invoices first."""
        amount = _cents(data.amount, "amount")
        try:
            currency = parse_currency(data.currency)
        except MoneyError as exc:
            raise ValidationError(f"currency {exc}", "currency") from None
        allocations = None
        if data.allocations is not None:
            allocations = [
                payments.AllocationRequest(a.invoice_id, _cents(a.amount, f"allocations[{i}].amount"))
                for i, a in enumerate(data.allocations)
            ]

        def action() -> tuple[int, Any]:
            payment, made = payments.register_manual(
                db, auth.org_id, customer_id=data.customer_id, amount_cents=amount, currency=currency,
                received_on=data.received_on or dt.date.today(), reference=data.reference,
                allocations=allocations,
            )
            return 201, PaymentRead.of(payment, made)

        return idempotency.run(request, db, auth, data, action)

    @get("/", opt={"scope": "payments:read"}, sync_to_thread=True, summary="List payments",
         responses=responses(PaymentPage, docs.page_of(docs.PAYMENT), description="A page of payments"))
    def list_payments(self, db: Session, auth: Auth, customer_id: str | None = None, cursor: Cursor = None,
                      limit: Limit = None) -> PaymentPage:
        """Payments oldest first, with their allocations; ``customer_id`` for one customer's."""
        stmt = select(Payment).where(Payment.org_id == auth.org_id)
        if customer_id is not None:
            stmt = stmt.where(Payment.customer_id == customer_id)
        rows, nxt = page(db, stmt, Payment.id, cursor, limit)
        allocs = payments.allocations_of(db, [p.id for p in rows])
        return PaymentPage(items=[PaymentRead.of(p, allocs[p.id]) for p in rows], next_cursor=nxt)

    @get("/{payment_id:str}", opt={"scope": "payments:read"}, sync_to_thread=True, summary="Read a payment",
         responses=responses(PaymentRead, docs.PAYMENT, 404, description="The payment"))
    def get_payment(self, db: Session, auth: Auth, payment_id: str) -> PaymentRead:
        """The payment, what it settled (``allocations``) and what is left over (``unallocated_amount``)."""
        payment = db.get(Payment, payment_id)
        if payment is None or payment.org_id != auth.org_id:
            raise NotFound(f"no payment {payment_id!r}", "payment_id")
        return PaymentRead.of(payment, payments.allocations_of(db, [payment.id])[payment.id])
