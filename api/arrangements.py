"""Payment arrangements (payment plans) over the API, and the terms debtors' proposals meet.

The back office makes a plan (``POST /arrangements``, e.g. agreed by phone: accepted at once),
decides the ones debtors proposed outside the terms (``/accept``, ``/reject``), and cancels
one (``/cancel``: dunning resumes the next day). The terms live at ``/arrangement-terms``
(the organisation's) and ``/arrangement-terms/{policy_id}`` (a policy's own).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, delete, get, post, put
from msgspec import Meta, Struct
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import idempotency
from api.auth import Auth
from api.docs import error_response, responses
from api.pagination import Cursor, Limit, page
from domain import arrangements, customers
from domain.arrangement_models import Arrangement
from domain.errors import NotFound, ValidationError
from domain.models import Invoice, Policy
from domain.money import format_amount, parse_amount
from portal.delivery import deliver_soon

Interval = Literal["weekly", "monthly"]
Status = Literal["proposed", "accepted", "rejected", "cancelled", "broken", "completed"]
Note = Annotated[str, Meta(max_length=2000)]


class ArrangementCreate(Struct, forbid_unknown_fields=True):
    customer_id: Annotated[str, Meta(min_length=1, max_length=40)]
    instalments: Annotated[int, Meta(ge=2, le=60, description="The number of instalments, 2 to 60")]
    first_due_date: Annotated[dt.date, Meta(description="The first instalment's date: today or later")]
    interval: Interval
    invoice_ids: Annotated[list[Annotated[str, Meta(max_length=40)]], Meta(max_length=500)] = []
    note: Note | None = None


class ArrangementDecide(Struct, forbid_unknown_fields=True):
    note: Note | None = None


class InstalmentRead(Struct):
    position: int
    due_date: dt.date
    amount: str
    currency: str
    status: Literal["pending", "paid", "missed"]
    paid_amount: str


class ArrangementRead(Struct):
    id: str
    customer_id: str
    status: Status
    origin: Literal["portal", "api"]
    within_terms: bool
    outside_terms: list[str]
    invoice_ids: list[str]
    invoice_numbers: list[str]
    amount: str
    paid_amount: str
    currency: str
    interval: Interval
    instalments: list[InstalmentRead]
    proposed_on: dt.date
    decided_on: dt.date | None
    ended_on: dt.date | None
    note: str | None
    created_at: dt.datetime
    held_until: Annotated[dt.date | None, Meta(description=(
        "A proposal waiting for a decision holds its invoices' dunning until this day (the terms' decision_days "
        "after it was made); null for a plan accepted at once"))] = None  # fmt: skip


class ArrangementPage(Struct):
    items: list[ArrangementRead]
    next_cursor: str | None


Cents = Annotated[str, Meta(pattern=r"^[0-9]{1,12}(\.[0-9]{1,2})?$", examples=["50.00"])]


class TermsBody(Struct, forbid_unknown_fields=True):
    allowed: bool = True
    min_balance: Cents = "50.00"
    max_instalments: Annotated[int, Meta(ge=2, le=60)] = 6
    max_term_months: Annotated[int, Meta(ge=1, le=60)] = 6
    min_instalment: Cents = "10.00"
    intervals: Annotated[list[Interval], Meta(min_length=1, max_length=2)] = msgspec.field(
        default_factory=lambda: ["weekly", "monthly"]
    )
    first_within_days: Annotated[int, Meta(ge=0, le=365)] = 30
    outside: Literal["review", "not_offered"] = "not_offered"
    reminder_days_before: Annotated[int, Meta(ge=0, le=30)] = 3
    missed_after_days: Annotated[int, Meta(ge=0, le=60)] = 3
    broken_after_days: Annotated[int, Meta(ge=1, le=60)] = 7
    decision_days: Annotated[int, Meta(ge=0, le=60, description=(
        "How long a proposal waiting for a decision holds its invoices' dunning; 0: not at all"))] = 14  # fmt: skip


class TermsRead(TermsBody):
    policy_id: str | None = None
    own: bool = False  # this policy (or the organisation) has terms of its own; else the defaults


_INSTALMENT = {"position": 1, "due_date": "2026-04-01", "amount": "33.33", "currency": "EUR", "status": "pending",
               "paid_amount": "0.00"}  # fmt: skip
EXAMPLE: dict[str, Any] = {
    "id": "arr_01JNQ5A1B2", "customer_id": "cus_01JNQ3Z8K4", "status": "accepted", "origin": "api",
    "within_terms": True, "outside_terms": [], "invoice_ids": ["inv_01JNQ40B2S"], "invoice_numbers": ["F-2026-0042"],
    "amount": "100.00", "paid_amount": "0.00", "currency": "EUR", "interval": "monthly",
    "instalments": [_INSTALMENT, {**_INSTALMENT, "position": 2, "due_date": "2026-05-01"},
                    {**_INSTALMENT, "position": 3, "due_date": "2026-06-01", "amount": "33.34"}],
    "proposed_on": "2026-03-02", "decided_on": "2026-03-02", "ended_on": None, "note": "agreed by phone",
    "created_at": "2026-03-02T09:30:00.000000+00:00", "held_until": None,
}  # fmt: skip
TERMS_EXAMPLE: dict[str, Any] = {
    "allowed": True, "min_balance": "50.00", "max_instalments": 6, "max_term_months": 6, "min_instalment": "10.00",
    "intervals": ["weekly", "monthly"], "first_within_days": 30, "outside": "not_offered",
    "reminder_days_before": 3, "missed_after_days": 3, "broken_after_days": 7, "decision_days": 14,
    "policy_id": None, "own": False,
}  # fmt: skip


def _numbers(db: Session, org_id: str, rows: list[Arrangement]) -> dict[str, str]:
    ids = {i for r in rows for i in r.invoice_ids}
    if not ids:
        return {}
    found = db.execute(select(Invoice.id, Invoice.number).where(Invoice.org_id == org_id, Invoice.id.in_(ids)))
    return {inv_id: number for inv_id, number in found}


def read_many(db: Session, org_id: str, rows: list[Arrangement]) -> list[ArrangementRead]:
    """The plans as the API shows them, in three queries whatever their number."""
    numbers = _numbers(db, org_id, rows)
    instalments = arrangements.instalments_of(db, [r.id for r in rows])
    opened = arrangements.open_cents(db, sorted({i for r in rows if r.status == "accepted" for i in r.invoice_ids}))
    out = []
    for r in rows:
        paid, shown = arrangements.views(r, instalments[r.id], opened)
        out.append(ArrangementRead(
            id=r.id, customer_id=r.customer_id, status=r.status, origin=r.origin,  # type: ignore[arg-type]
            within_terms=r.within_terms, outside_terms=list(r.outside_reasons or []), invoice_ids=list(r.invoice_ids),
            invoice_numbers=[numbers[i] for i in r.invoice_ids if i in numbers], amount=format_amount(r.total_cents),
            paid_amount=format_amount(min(paid, r.total_cents)), currency=r.currency,
            interval=r.interval,  # type: ignore[arg-type]
            instalments=[InstalmentRead(i.position, i.due_date, format_amount(i.amount_cents), r.currency,
                                        i.status, format_amount(i.paid_cents)) for i in shown],  # type: ignore[arg-type]
            proposed_on=r.proposed_on, decided_on=r.decided_on, ended_on=r.ended_on, note=r.note,
            created_at=r.created_at, held_until=r.held_until,
        ))  # fmt: skip
    return out


def _terms_read(terms: arrangements.Terms, policy_id: str | None, own: bool) -> TermsRead:
    return TermsRead(
        allowed=terms.allowed, min_balance=format_amount(terms.min_balance_cents),
        max_instalments=terms.max_instalments, max_term_months=terms.max_term_months,
        min_instalment=format_amount(terms.min_instalment_cents),
        intervals=list(terms.intervals), first_within_days=terms.first_within_days,  # type: ignore[arg-type]
        outside=terms.outside,  # type: ignore[arg-type]
        reminder_days_before=terms.reminder_days_before, missed_after_days=terms.missed_after_days,
        broken_after_days=terms.broken_after_days, decision_days=terms.decision_days, policy_id=policy_id, own=own,
    )  # fmt: skip


def _terms_of(body: TermsBody) -> arrangements.Terms:
    def cents(value: str, field: str) -> int:
        try:
            return parse_amount(value)
        except Exception as exc:  # MoneyError: a bound the pattern lets through
            raise ValidationError(f"{field} {exc}", field) from None

    return arrangements.Terms(
        allowed=body.allowed, min_balance_cents=cents(body.min_balance, "min_balance"),
        max_instalments=body.max_instalments, max_term_months=body.max_term_months,
        min_instalment_cents=cents(body.min_instalment, "min_instalment"),
        intervals=tuple(dict.fromkeys(body.intervals)),
        first_within_days=body.first_within_days, outside=body.outside,
        reminder_days_before=body.reminder_days_before, missed_after_days=body.missed_after_days,
        broken_after_days=body.broken_after_days, decision_days=body.decision_days,
    )  # fmt: skip


def _deliver(request: Request[Any, Any, Any], org_id: str) -> Any:
    """The debtor's e-mail about the plan, sent right after the answer (``settle run`` sends what this misses)."""
    return deliver_soon(request.app.state.courier, org_id)


class ArrangementController(Controller):
    path = "/arrangements"
    tags = ["arrangements"]

    @post("/", opt={"scope": "arrangements:write"}, sync_to_thread=True, status_code=201,
          summary="Make a payment plan",
          responses=responses(ArrangementRead, EXAMPLE, 409, 413, status=201, description="The plan, accepted"))
    def create(self, request: Request[Any, Any, Any], db: Session, auth: Auth,
               data: ArrangementCreate) -> Response[Any]:  # fmt: skip
        """A plan the back office made (e.g. agreed by phone): ``instalments`` equal instalments of the
        open balance of ``invoice_ids`` (none: all the customer's open invoices), the rounding on the last,
        from ``first_due_date`` ``weekly`` or ``monthly``. Accepted at once (the back office is the
        person deciding, so it never waits): its invoices are not dunned while it holds. A customer
        has at most one proposed or running plan (409)."""
        try:
            customer = customers.get(db, auth.org_id, data.customer_id)
        except NotFound:
            raise ValidationError(f"no customer {data.customer_id!r}", "customer_id") from None

        def action() -> tuple[int, Any]:
            made = arrangements.propose(
                db, customer, invoice_ids=list(data.invoice_ids), instalments=data.instalments,
                first_due_date=data.first_due_date, interval=data.interval, as_of=dt.date.today(), origin="api",
                actor=auth.actor, note=data.note,
            )  # fmt: skip
            arrangements.notify_decision(db, made, request.app.state.mailer, dt.date.today())
            return 201, read_many(db, auth.org_id, [made])[0]

        response = idempotency.run(request, db, auth, data, action)
        response.background = _deliver(request, auth.org_id)
        return response

    @get("/", opt={"scope": "arrangements:read"}, sync_to_thread=True, summary="List payment plans",
         responses=responses(ArrangementPage, {"items": [EXAMPLE], "next_cursor": None}, description="A page"))
    def list_arrangements(self, db: Session, auth: Auth, status: Status | None = None,
                          customer_id: str | None = None, cursor: Cursor = None,
                          limit: Limit = None) -> ArrangementPage:  # fmt: skip
        """Payment plans, oldest first; filter by ``status`` or ``customer_id``. What happens to a plan is
        in ``GET /events``: ``arrangement.proposed``, ``.accepted``, ``.rejected``, ``.cancelled``,
        ``.instalment_paid``, ``.instalment_missed``, ``.broken``, ``.completed`` (and
        ``arrangement.terms_changed`` for the terms)."""
        conds = arrangements.filters(auth.org_id, status=status, customer_id=customer_id)
        rows, nxt = page(db, select(Arrangement).where(*conds), Arrangement.id, cursor, limit)
        return ArrangementPage(items=read_many(db, auth.org_id, rows), next_cursor=nxt)

    @get("/{arrangement_id:str}", opt={"scope": "arrangements:read"}, sync_to_thread=True,
         summary="Read a payment plan", responses=responses(ArrangementRead, EXAMPLE, 404, description="The plan"))
    def get_arrangement(self, db: Session, auth: Auth, arrangement_id: str) -> ArrangementRead:
        """The plan, its instalments and what has been paid on each (payments go to them in order)."""
        return read_many(db, auth.org_id, [arrangements.get(db, auth.org_id, arrangement_id)])[0]

    def _decide(self, request: Request[Any, Any, Any], db: Session, auth: Auth, arrangement_id: str,
                data: ArrangementDecide, decision: str) -> Response[Any]:  # fmt: skip
        arrangements.get(db, auth.org_id, arrangement_id)

        def action() -> tuple[int, Any]:
            done = arrangements.decide(db, auth.org_id, arrangement_id, decision, as_of=dt.date.today(),
                                       actor=auth.actor, note=data.note, composer=request.app.state.mailer)  # fmt: skip
            return 200, read_many(db, auth.org_id, [done])[0]

        response = idempotency.run(request, db, auth, data, action)
        response.background = _deliver(request, auth.org_id)
        return response

    @post("/{arrangement_id:str}/accept", opt={"scope": "arrangements:write"}, sync_to_thread=True, status_code=200,
          summary="Accept a proposed plan",
          responses=responses(ArrangementRead, EXAMPLE, 404, 409, 413, description="The plan, accepted"))
    def accept(self, request: Request[Any, Any, Any], db: Session, auth: Auth, arrangement_id: str,
               data: ArrangementDecide) -> Response[Any]:  # fmt: skip
        """Accept a plan a debtor proposed outside the terms; the debtor is told by e-mail. 409 when it
        is not ``proposed``, or an invoice in it is no longer open."""
        return self._decide(request, db, auth, arrangement_id, data, "accept")

    @post("/{arrangement_id:str}/reject", opt={"scope": "arrangements:write"}, sync_to_thread=True, status_code=200,
          summary="Reject a proposed plan",
          responses=responses(ArrangementRead, {**EXAMPLE, "status": "rejected"}, 404, 409, 413,
                              description="The plan, rejected"))  # fmt: skip
    def reject(self, request: Request[Any, Any, Any], db: Session, auth: Auth, arrangement_id: str,
               data: ArrangementDecide) -> Response[Any]:  # fmt: skip
        """Reject a proposed plan (``note``: why, shown to the debtor); the debtor is told by e-mail, and
        the invoices the proposal held are dunned again from the next day, where their track stood."""
        return self._decide(request, db, auth, arrangement_id, data, "reject")

    @post("/{arrangement_id:str}/cancel", opt={"scope": "arrangements:write"}, sync_to_thread=True, status_code=200,
          summary="Cancel a payment plan",
          responses=responses(ArrangementRead, {**EXAMPLE, "status": "cancelled"}, 404, 409, 413,
                              description="The plan, cancelled"))  # fmt: skip
    def cancel(self, request: Request[Any, Any, Any], db: Session, auth: Auth, arrangement_id: str,
               data: ArrangementDecide) -> Response[Any]:  # fmt: skip
        """Cancel a proposed or running plan; a running plan's invoices are dunned again from the next
        day, where their track stood."""
        return self._decide(request, db, auth, arrangement_id, data, "cancel")


class ArrangementTermsController(Controller):
    path = "/arrangement-terms"
    tags = ["arrangements"]

    @get("/", opt={"scope": "policies:read"}, sync_to_thread=True, summary="Read the organisation's plan terms",
         responses=responses(TermsRead, TERMS_EXAMPLE, description="The terms"))
    def get_terms(self, db: Session, auth: Auth) -> TermsRead:
        """The limits under which a debtor's proposed plan is accepted without a person (the defaults
        until they are set), and what happens outside them (``outside``)."""
        row = arrangements.terms_row(db, auth.org_id, None)
        terms = arrangements.Terms.of(row) if row is not None else arrangements.DEFAULT_TERMS
        return _terms_read(terms, None, row is not None)

    @put("/", opt={"scope": "policies:write"}, sync_to_thread=True, summary="Set the organisation's plan terms",
         responses=responses(TermsRead, {**TERMS_EXAMPLE, "own": True}, 413, description="The terms"))
    def put_terms(self, db: Session, auth: Auth, data: TermsBody) -> TermsRead:
        """Set the terms for every customer whose policy has none of its own. A plan keeps the
        reminder, missed and broken days it was accepted with."""
        terms = arrangements.set_terms(db, auth.org_id, None, _terms_of(data))
        db.commit()
        return _terms_read(terms, None, True)

    @get("/{policy_id:str}", opt={"scope": "policies:read"}, sync_to_thread=True,
         summary="Read a policy's plan terms", responses=responses(TermsRead, TERMS_EXAMPLE, 404, description="Terms"))
    def get_policy_terms(self, db: Session, auth: Auth, policy_id: str) -> TermsRead:
        """The terms for the customers of this policy: its own, else the organisation's (``own`` false)."""
        if db.scalar(select(Policy.id).where(Policy.id == policy_id, Policy.org_id == auth.org_id)) is None:
            raise NotFound(f"no policy {policy_id!r}", "policy_id")
        row = arrangements.terms_row(db, auth.org_id, policy_id)
        if row is not None:
            return _terms_read(arrangements.Terms.of(row), policy_id, True)
        return _terms_read(arrangements.org_terms(db, auth.org_id), policy_id, False)

    @put("/{policy_id:str}", opt={"scope": "policies:write"}, sync_to_thread=True,
         summary="Set a policy's own plan terms",
         responses=responses(TermsRead, {**TERMS_EXAMPLE, "own": True}, 404, 413, description="The terms"))
    def put_policy_terms(self, db: Session, auth: Auth, policy_id: str, data: TermsBody) -> TermsRead:
        """Override the organisation's terms for the customers of this policy."""
        terms = arrangements.set_terms(db, auth.org_id, policy_id, _terms_of(data))
        db.commit()
        return _terms_read(terms, policy_id, True)

    @delete("/{policy_id:str}", opt={"scope": "policies:write"}, sync_to_thread=True, status_code=204,
            summary="Drop a policy's own plan terms", responses={404: error_response(404)})
    def delete_policy_terms(self, db: Session, auth: Auth, policy_id: str) -> None:
        """The policy's customers get the organisation's terms again."""
        arrangements.clear_terms(db, auth.org_id, policy_id)
        db.commit()
