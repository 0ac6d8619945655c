"""Invoices: create (one or a thousand), list, read, cancel, pause and resume."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import msgspec
from litestar import Controller, Request, Response, get, post
from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from adapters.db import finish_reading
from api import docs, idempotency
from api.auth import Auth
from api.docs import responses
from api.errors import domain_error_status, error_body
from api.pagination import Cursor, Limit, page
from api.schemas import (
    BulkItemResult,
    BulkResult,
    DunningRead,
    InvoiceBulk,
    InvoiceCreate,
    InvoicePage,
    InvoiceRead,
    PauseRequest,
)
from domain import invoices
from domain.errors import DomainError, ValidationError
from domain.models import Invoice, Organisation, PolicyStep
from domain.money import MoneyError, format_amount, parse_amount, parse_currency


def _new_invoice(data: InvoiceCreate) -> invoices.NewInvoice:
    try:
        amount = parse_amount(data.amount, allow_zero=False)
    except MoneyError as exc:
        raise ValidationError(f"amount {exc}", "amount") from None
    try:
        currency = parse_currency(data.currency)
    except MoneyError as exc:
        raise ValidationError(f"currency {exc}", "currency") from None
    open_cents = None
    if data.open_amount is not None:
        try:
            open_cents = parse_amount(data.open_amount)
        except MoneyError as exc:
            raise ValidationError(f"open_amount {exc}", "open_amount") from None
    return invoices.NewInvoice(
        number=data.number, issue_date=data.issue_date, amount_cents=amount, currency=currency,
        customer_id=data.customer_id, customer_external_ref=data.customer_external_ref,
        due_date=data.due_date, open_cents=open_cents, payment_reference=data.payment_reference,
        description=data.description, pdf_url=data.pdf_url,
    )


def _refused(index: int, exc: DomainError) -> BulkItemResult:
    status = domain_error_status(exc)
    return BulkItemResult(index=index, ok=False, status=status,
                          error=error_body(status, exc.message, exc.field, exc.code))


_ZERO = format_amount(0)


def _read_row(row: dict[str, Any]) -> InvoiceRead:
    """The answer for an invoice just stored from ``row`` (its columns): not yet on a step, so no
    stage. What ``InvoiceRead.of`` gives for the stored invoice, read from the dict straight (a
    bulk answer makes a thousand; tests/integration/test_bulk_intake.py holds it to ``of``)."""
    amount = format_amount(row["amount_cents"])
    open_amount = amount if row["open_cents"] == row["amount_cents"] else format_amount(row["open_cents"])
    fees = _ZERO if row["fees_cents"] == 0 else format_amount(row["fees_cents"])
    costs = _ZERO if row["costs_cents"] == 0 else format_amount(row["costs_cents"])
    interest = _ZERO if row["interest_cents"] == 0 else format_amount(row["interest_cents"])
    return InvoiceRead(
        id=row["id"], customer_id=row["customer_id"], number=row["number"], issue_date=row["issue_date"],
        due_date=row["due_date"], amount=amount, currency=row["currency"], open_amount=open_amount,
        status=row["status"], payment_reference=row["payment_reference"], description=row["description"],
        pdf_url=row["pdf_url"], paid_on=row["paid_on"], fees=fees, costs=costs, interest=interest,
        dunning=DunningRead(stage=None, step=row["dunning_step"], next_action_on=row["next_action_on"],
                            paused_until=row["paused_until"], pause_reason=row["pause_reason"]),
        created_at=row["created_at"],
    )  # fmt: skip


def stages(db: Session, rows: list[Invoice]) -> dict[tuple[str | None, int], str]:
    """The kind of each invoice's current dunning step, in one query for a page of invoices."""
    policy_ids = {r.policy_id for r in rows if r.policy_id and r.dunning_step}
    if not policy_ids:
        return {}
    steps = db.execute(
        select(PolicyStep.policy_id, PolicyStep.position, PolicyStep.kind).where(PolicyStep.policy_id.in_(policy_ids))
    )
    return {(p, pos): kind for p, pos, kind in steps}


def read(db: Session, invoice: Invoice) -> InvoiceRead:
    return InvoiceRead.of(invoice, stages(db, [invoice]).get((invoice.policy_id, invoice.dunning_step)))


class InvoiceController(Controller):
    path = "/invoices"
    tags = ["invoices"]

    @post("/", opt={"scope": "invoices:write"}, sync_to_thread=True, status_code=201, summary="Create an invoice",
          responses=responses(InvoiceRead, docs.INVOICE, 404, 409, 413, status=201, description="The invoice"))
    def create(self, request: Request[Any, Any, Any], db: Session, auth: Auth, data: InvoiceCreate) -> Response[Any]:
        """Create an invoice for ``customer_id`` or ``customer_external_ref``. A duplicate number is 409."""
        new = _new_invoice(data)
        org = db.get(Organisation, auth.org_id)
        assert org is not None

        def action() -> tuple[int, Any]:
            return 201, read(db, invoices.create(db, org, new))

        return idempotency.run(request, db, auth, data, action)

    @post("/bulk", opt={"scope": "invoices:write"}, sync_to_thread=True, status_code=200,
          request_max_body_size=5_000_000, summary="Create up to 1000 invoices",
          responses=responses(BulkResult, docs.BULK, 409, 413, description="One answer per item, in order"))
    def bulk(self, request: Request[Any, Any, Any], db: Session, auth: Auth, data: InvoiceBulk) -> Response[Any]:
        """Up to 1000 invoices; each item answers on its own, in order, and a bad one sinks no other."""
        if len(data.items) > invoices.MAX_BULK:
            raise ValidationError(
                f"items holds {len(data.items)} invoices; at most {invoices.MAX_BULK} per call", "items"
            )
        if not data.items:
            raise ValidationError("items must hold at least one invoice", "items")
        # The items are read and checked before the first query: on SQLite that query takes the
        # write lock, which other writers wait for, and this part needs no database.
        results: list[BulkItemResult | None] = [None] * len(data.items)
        valid: list[tuple[int, invoices.NewInvoice]] = []
        for index, raw in enumerate(data.items):
            try:
                valid.append((index, _new_invoice(msgspec.convert(raw, InvoiceCreate))))
            except msgspec.ValidationError as exc:
                msg = str(exc)
                field = msg.split("`$.", 1)[1].split("`", 1)[0] if "`$." in msg else None
                results[index] = BulkItemResult(index=index, ok=False, status=422,
                                                error=error_body(422, msg.split(" - at ")[0], field))
            except DomainError as exc:
                results[index] = _refused(index, exc)
        org = db.get(Organisation, auth.org_id)
        assert org is not None

        def action() -> tuple[int, Any]:
            stored = invoices.create_many(db, org, [new for _, new in valid])
            for (index, _), outcome in zip(valid, stored, strict=True):
                if isinstance(outcome, DomainError):
                    results[index] = _refused(index, outcome)
                else:
                    results[index] = BulkItemResult(index=index, ok=True, status=201, invoice=_read_row(outcome))
            items = [r for r in results if r is not None]
            created = sum(1 for r in items if r.ok)
            return 200, BulkResult(items=items, created=created, failed=len(items) - created)

        return idempotency.run(request, db, auth, data, action)

    @get("/", opt={"scope": "invoices:read"}, sync_to_thread=True, summary="List invoices",
         responses=responses(InvoicePage, docs.page_of(docs.INVOICE), description="A page of invoices"))
    def list_invoices(
        self, db: Session, auth: Auth, customer_id: str | None = None,
        status: Literal["open", "paid", "cancelled", "disputed", "in_collection"] | None = None,
        overdue: bool | None = None, number: str | None = None, cursor: Cursor = None, limit: Limit = None,
    ) -> InvoicePage:
        """Invoices oldest first, filtered by ``customer_id``, ``status``, ``overdue`` (today) or ``number``."""
        conds = invoices.filters(auth.org_id, customer_id=customer_id, status=status, overdue=overdue,
                                 as_of=dt.date.today())
        # Plain column rows, not entities: the list is a hot read (tools poll it) and an
        # ``InvoiceRead`` needs nothing the ORM adds. The current step's kind comes in the same
        # query (a step is unique per policy and position), not in a second one.
        stage = and_(PolicyStep.policy_id == Invoice.policy_id, PolicyStep.position == Invoice.dunning_step)
        stmt = (select(*Invoice.__table__.columns, PolicyStep.kind.label("stage_kind"))
                .outerjoin(PolicyStep, stage).where(*conds))  # fmt: skip
        if number is not None:
            stmt = stmt.where(Invoice.number == number)
        rows, nxt = page(db, stmt, Invoice.id, cursor, limit, entities=False)
        finish_reading(db)  # all read: the connection goes back from this thread, before the answer is encoded
        return InvoicePage(items=[InvoiceRead.of(r, r.stage_kind) for r in rows], next_cursor=nxt)

    @get("/{invoice_id:str}", opt={"scope": "invoices:read"}, sync_to_thread=True, summary="Read an invoice",
         responses=responses(InvoiceRead, docs.INVOICE, 404, description="The invoice"))
    def get_invoice(self, db: Session, auth: Auth, invoice_id: str) -> InvoiceRead:
        """The invoice with what is open, its fees, costs and interest, and where its dunning stands."""
        return read(db, invoices.get(db, auth.org_id, invoice_id))

    @post("/{invoice_id:str}/cancel", opt={"scope": "invoices:write"}, sync_to_thread=True, status_code=200,
          summary="Cancel an invoice",
          responses=responses(InvoiceRead, docs.INVOICE, 404, 409, description="The invoice, cancelled"))
    def cancel(self, request: Request[Any, Any, Any], db: Session, auth: Auth, invoice_id: str) -> Response[Any]:
        """Cancel (credit) the invoice: nothing is due any more and dunning stops."""
        invoices.get(db, auth.org_id, invoice_id)
        return idempotency.run(request, db, auth, None,
                               lambda: (200, read(db, invoices.cancel(db, auth.org_id, invoice_id))))

    @post("/{invoice_id:str}/pause", opt={"scope": "invoices:write"}, sync_to_thread=True, status_code=200,
          summary="Pause an invoice's dunning",
          responses=responses(InvoiceRead, docs.INVOICE, 404, 409, 413, description="The invoice, paused"))
    def pause(self, request: Request[Any, Any, Any], db: Session, auth: Auth, invoice_id: str,
              data: PauseRequest) -> Response[Any]:
        """Hold dunning until ``until``; the track resumes where it stood afterwards."""
        invoices.get(db, auth.org_id, invoice_id)
        return idempotency.run(request, db, auth, data, lambda: (200, read(db, invoices.pause(
            db, auth.org_id, invoice_id, data.until, data.reason, dt.date.today()))))

    @post("/{invoice_id:str}/resume", opt={"scope": "invoices:write"}, sync_to_thread=True, status_code=200,
          summary="Resume an invoice's dunning",
          responses=responses(InvoiceRead, docs.INVOICE, 404, 409, description="The invoice, resumed"))
    def resume(self, request: Request[Any, Any, Any], db: Session, auth: Auth, invoice_id: str) -> Response[Any]:
        """Lift a pause before its date: dunning continues from the step it stood on."""
        invoices.get(db, auth.org_id, invoice_id)
        return idempotency.run(request, db, auth, None,
                               lambda: (200, read(db, invoices.resume(db, auth.org_id, invoice_id, dt.date.today()))))
