"""What debtors sent from the portal (disputes, extensions, promises) and the back office's decision."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from litestar import Controller, Request, Response, get, post
from msgspec import Struct
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import docs, idempotency
from api.auth import Auth
from api.docs import responses
from api.pagination import Cursor, Limit, page
from domain import debtor_requests
from domain.models import DebtorRequest, Invoice


class RequestRead(Struct):
    id: str
    customer_id: str
    kind: str
    status: str
    reason: str | None
    message: str | None
    requested_date: dt.date | None
    invoice_ids: list[str]
    invoice_numbers: list[str]
    decision_note: str | None
    new_due_date: dt.date | None
    created_at: dt.datetime
    resolved_at: dt.datetime | None


class RequestPage(Struct):
    items: list[RequestRead]
    next_cursor: str | None


class RequestResolve(Struct):
    decision: Literal["accepted", "rejected"]
    note: str | None = None
    new_due_date: dt.date | None = None


def _numbers(db: Session, org_id: str, rows: list[DebtorRequest]) -> dict[str, str]:
    ids = {i for r in rows for i in r.invoice_ids}
    if not ids:
        return {}
    found = db.execute(select(Invoice.id, Invoice.number).where(Invoice.org_id == org_id, Invoice.id.in_(ids)))
    return {inv_id: number for inv_id, number in found}


def _read(r: DebtorRequest, numbers: dict[str, str]) -> RequestRead:
    return RequestRead(
        id=r.id, customer_id=r.customer_id, kind=r.kind, status=r.status, reason=r.reason, message=r.message,
        requested_date=r.requested_date, invoice_ids=list(r.invoice_ids),
        invoice_numbers=[numbers[i] for i in r.invoice_ids if i in numbers], decision_note=r.decision_note,
        new_due_date=r.new_due_date, created_at=r.created_at, resolved_at=r.resolved_at,
    )  # fmt: skip


class RequestController(Controller):
    path = "/requests"
    tags = ["requests"]

    @get("/", opt={"scope": "requests:read"}, sync_to_thread=True, summary="List debtor requests",
         responses=responses(RequestPage, docs.page_of(docs.REQUEST), description="A page of requests"))
    def list_requests(self, db: Session, auth: Auth, status: Literal["open", "accepted", "rejected"] | None = None,
                      kind: Literal["dispute", "extension", "promise"] | None = None,
                      customer_id: str | None = None, cursor: Cursor = None,
                      limit: Limit = None) -> RequestPage:  # fmt: skip
        """Disputes, extension requests and promises to pay from the portal, oldest first.
        Filter by ``status`` (``open``, ``accepted``, ``rejected``), ``kind`` or ``customer_id``."""
        conds = debtor_requests.filters(auth.org_id, status=status, customer_id=customer_id, kind=kind)
        rows, nxt = page(db, select(DebtorRequest).where(*conds), DebtorRequest.id, cursor, limit)
        numbers = _numbers(db, auth.org_id, rows)
        return RequestPage(items=[_read(r, numbers) for r in rows], next_cursor=nxt)

    @get("/{request_id:str}", opt={"scope": "requests:read"}, sync_to_thread=True, summary="Read a debtor request",
         responses=responses(RequestRead, docs.REQUEST, 404, description="The request"))
    def get_request(self, db: Session, auth: Auth, request_id: str) -> RequestRead:
        """The request, the invoices it is about and, once decided, the decision."""
        found = debtor_requests.get(db, auth.org_id, request_id)
        return _read(found, _numbers(db, auth.org_id, [found]))

    @post("/{request_id:str}/resolve", opt={"scope": "requests:write"}, sync_to_thread=True, status_code=200,
          summary="Decide a debtor request",
          responses=responses(RequestRead, {**docs.REQUEST, "status": "accepted", "new_due_date": "2026-04-14",
                                            "resolved_at": docs.REQUEST["created_at"]},
                              404, 409, 413, description="The request, decided"))  # fmt: skip
    def resolve(self, request: Request[Any, Any, Any], db: Session, auth: Auth, request_id: str,
                data: RequestResolve) -> Response[Any]:  # fmt: skip
        """Decide: ``decision`` ``accepted`` or ``rejected``, an optional ``note``, and for an accepted
        extension ``new_due_date`` (default: the date the debtor asked for). Rejecting a dispute reopens
        its invoices and resumes dunning; rejecting an extension or promise lifts the pause; accepting an
        extension moves the due date. A request is decided once: a second decision is a 409."""
        debtor_requests.get(db, auth.org_id, request_id)

        def action() -> tuple[int, Any]:
            resolved = debtor_requests.resolve(
                db, auth.org_id, request_id, decision=data.decision, note=data.note,
                new_due_date=data.new_due_date, as_of=dt.date.today(), actor=auth.actor,
            )  # fmt: skip
            return 200, _read(resolved, _numbers(db, auth.org_id, [resolved]))

        return idempotency.run(request, db, auth, data, action)
