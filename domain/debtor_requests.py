"""What a debtor asks from the portal, and what the back office decides.

- A **dispute** puts the invoices on hold at once: status ``disputed``, no next
  dunning action. Rejected, the invoice reopens and its track resumes where it
  stood (a step that fell due meanwhile comes now, not in a burst). Accepted, it
  stays on hold: cancel or correct it through the invoices API.
- An **extension** (a later due date, at most ``Organisation.max_extension_days``
  after the due date) and a **promise** to pay on a date pause dunning until that
  date, or until the back office decides. Accepting an extension moves the due
  date to ``new_due_date`` and the track counts from there; rejecting either
  lifts the pause. An accepted promise keeps its pause: if the date passes
  unpaid, dunning simply resumes.

Every request made from the portal is acknowledged by e-mail (``acknowledge``): what was
asked, about which invoices, what happens next, and the link back. It goes through the
outbox like every other message, once per request.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain import invoices as invoices_mod
from domain import outbox
from domain.dunning.messages import Rendered
from domain.errors import Conflict, NotFound, ValidationError
from domain.events import record
from domain.invoices import UNSETTLED
from domain.models import Customer, DebtorRequest, Invoice, Organisation, OutboxMessage, utcnow
from domain.policies import end_pause, policy_for, schedule

KINDS = ("dispute", "extension", "promise")
STATUSES = ("open", "accepted", "rejected")
DECISIONS = ("accepted", "rejected")
REASONS = ("not_received", "wrong_amount", "already_paid", "quality", "other")
MAX_MESSAGE = 2000


def _invoices(session: Session, customer: Customer, invoice_ids: list[str], kind: str) -> list[Invoice]:
    candidates = list(
        session.scalars(
            select(Invoice)
            .where(
                Invoice.org_id == customer.org_id,
                Invoice.customer_id == customer.id,
                Invoice.status.in_(UNSETTLED),
                Invoice.open_cents > 0,
            )
            .order_by(Invoice.due_date, Invoice.number)
            .with_for_update()
        )
    )
    if not invoice_ids:
        if kind == "dispute" or not candidates:
            raise ValidationError("choose the invoices this is about", "invoice_ids")
        return candidates
    by_id = {inv.id: inv for inv in candidates}
    if any(i not in by_id for i in invoice_ids):
        # Another customer's invoice looks exactly like one that does not exist.
        raise ValidationError("choose among your open invoices", "invoice_ids")
    wanted = set(invoice_ids)
    return [inv for inv in candidates if inv.id in wanted]


def latest_extension(org: Organisation, invoices: list[Invoice]) -> dt.date:
    return min(inv.due_date for inv in invoices) + dt.timedelta(days=org.max_extension_days)


def create(
    session: Session,
    customer: Customer,
    *,
    kind: str,
    invoice_ids: list[str],
    message: str | None,
    reason: str | None,
    date: dt.date | None,
    as_of: dt.date,
) -> DebtorRequest:
    """Record a debtor's request and put its invoices on hold (dispute) or pause them."""
    if kind not in KINDS:
        raise ValidationError("kind must be dispute, extension or promise", "kind")
    text = (message or "").strip() or None
    if text is not None and len(text) > MAX_MESSAGE:
        raise ValidationError(f"message is longer than {MAX_MESSAGE} characters", "message")
    org = session.get_one(Organisation, customer.org_id)
    chosen = _invoices(session, customer, invoice_ids, kind)
    if kind == "dispute":
        if reason not in REASONS:
            raise ValidationError("choose a reason", "reason")
        if reason == "other" and text is None:
            raise ValidationError("tell us what is wrong", "message")
        date = None
    else:
        reason = None
        if date is None:
            raise ValidationError("choose a date", "date")
        if date <= as_of:
            raise ValidationError("choose a date after today", "date")
        if kind == "extension":
            limit = latest_extension(org, chosen)
        else:  # a promise: within the same allowance, counted from today
            limit = as_of + dt.timedelta(days=org.max_extension_days)
        if date > limit:
            raise ValidationError(f"choose a date on or before {limit.isoformat()}", "date")
    request = DebtorRequest(
        org_id=customer.org_id, customer_id=customer.id, kind=kind, status="open", reason=reason,
        message=text, requested_date=date, invoice_ids=[inv.id for inv in chosen],
    )  # fmt: skip
    session.add(request)
    session.flush()
    for inv in chosen:
        if kind == "dispute":
            if inv.status == "open":
                inv.status = "disputed"
                inv.next_action_on = None
                record(session, org.id, "invoice.disputed", inv, request_id=request.id)
        else:
            assert date is not None
            invoices_mod.pause(session, org.id, inv.id, date, f"{kind} requested", as_of)
    record(session, org.id, "request.created", request, actor=f"customer:{customer.id}", request_kind=kind,
           invoices=[inv.number for inv in chosen], date=date.isoformat() if date else None)  # fmt: skip
    return request


class AckComposer(Protocol):
    """Supplied by the caller (``adapters.portal_mail.PortalMailer``): a link and the words."""

    def portal_url(self, session: Session, customer: Customer) -> str: ...

    def acknowledgement(self, org: Organisation, customer: Customer, request: DebtorRequest,
                        invoices: list[Invoice], url: str) -> Rendered: ...  # fmt: skip


def acknowledgement_key(request_id: str) -> str:
    """One acknowledgement per request: a retried form post never sends two."""
    return f"request_received:{request_id}"


def acknowledge(session: Session, request: DebtorRequest, composer: AckComposer,
                now: dt.datetime | None = None) -> OutboxMessage | None:  # fmt: skip
    """Queue the e-mail that confirms ``request`` to the customer's address on file, in the
    caller's transaction; ``None`` when the customer has no e-mail address."""
    customer = session.get_one(Customer, request.customer_id)
    if not customer.email:
        record(session, request.org_id, "request.acknowledged", request, sent=False, why="no e-mail address")
        return None
    org = session.get_one(Organisation, request.org_id)
    invoices = list(
        session.scalars(
            select(Invoice)
            .where(Invoice.org_id == org.id, Invoice.id.in_(request.invoice_ids))
            .order_by(Invoice.due_date, Invoice.number)
        )
    )
    rendered = composer.acknowledgement(org, customer, request, invoices, composer.portal_url(session, customer))
    message = outbox.add(
        session, org_id=org.id, customer_id=customer.id, kind="request_received",
        key=acknowledgement_key(request.id), to=customer.email, subject=rendered.subject, text=rendered.text,
        html=rendered.html, created_at=now,
    )  # fmt: skip
    record(session, org.id, "request.acknowledged", request, sent=True, message_id=message.id)
    return message


def get(session: Session, org_id: str, request_id: str, *, for_update: bool = False) -> DebtorRequest:
    stmt = select(DebtorRequest).where(DebtorRequest.id == request_id, DebtorRequest.org_id == org_id)
    found = session.scalar(stmt.with_for_update() if for_update else stmt)
    if found is None:
        raise NotFound(f"no request {request_id!r}", "request_id")
    return found


def of_customer(session: Session, customer: Customer, limit: int = 10) -> list[DebtorRequest]:
    return list(
        session.scalars(
            select(DebtorRequest)
            .where(DebtorRequest.org_id == customer.org_id, DebtorRequest.customer_id == customer.id)
            .order_by(DebtorRequest.created_at.desc(), DebtorRequest.id.desc())
            .limit(limit)
        )
    )


def filters(org_id: str, *, status: str | None, customer_id: str | None, kind: str | None) -> list[Any]:
    conds: list[Any] = [DebtorRequest.org_id == org_id]
    if status is not None:
        if status not in STATUSES:
            raise ValidationError(f"status must be one of {', '.join(STATUSES)}", "status")
        conds.append(DebtorRequest.status == status)
    if kind is not None:
        if kind not in KINDS:
            raise ValidationError(f"kind must be one of {', '.join(KINDS)}", "kind")
        conds.append(DebtorRequest.kind == kind)
    if customer_id is not None:
        conds.append(DebtorRequest.customer_id == customer_id)
    return conds


def resolve(
    session: Session,
    org_id: str,
    request_id: str,
    *,
    decision: str,
    note: str | None,
    new_due_date: dt.date | None,
    as_of: dt.date,
    actor: str | None = None,
) -> DebtorRequest:
    request = get(session, org_id, request_id, for_update=True)
    if decision not in DECISIONS:
        raise ValidationError("decision must be accepted or rejected", "decision")
    if request.status != "open":
        raise Conflict(f"this request was already {request.status}", "status")
    if new_due_date is not None and not (request.kind == "extension" and decision == "accepted"):
        raise ValidationError("new_due_date is only for accepting an extension", "new_due_date")
    if request.kind == "extension" and decision == "accepted":
        new_due_date = new_due_date or request.requested_date
        if new_due_date is None or new_due_date <= as_of:
            raise ValidationError("new_due_date must be a date after today", "new_due_date")
    invoices = list(
        session.scalars(
            select(Invoice)
            .where(Invoice.org_id == org_id, Invoice.id.in_(request.invoice_ids), Invoice.status.in_(UNSETTLED))
            .with_for_update()
        )
    )
    for inv in invoices:
        _apply(session, request, inv, decision, new_due_date, as_of)
    request.status = decision
    request.decision_note = (note or "").strip() or None
    request.new_due_date = new_due_date
    request.resolved_at = utcnow()
    record(session, org_id, "request.resolved", request, actor=actor, request_kind=request.kind, decision=decision,
           new_due_date=new_due_date.isoformat() if new_due_date else None)  # fmt: skip
    return request


def _apply(
    session: Session, request: DebtorRequest, inv: Invoice, decision: str, new_due_date: dt.date | None,
    as_of: dt.date,
) -> None:
    customer = session.get_one(Customer, inv.customer_id)
    policy = policy_for(session, customer)
    if request.kind == "dispute":
        if decision == "rejected" and inv.status == "disputed":
            inv.status = "open"
            held = inv.paused_until if inv.paused_until is not None and inv.paused_until > as_of else None
            reason = inv.pause_reason
            end_pause(inv, policy, as_of)  # steps that fell due during the dispute come from today
            inv.paused_until, inv.pause_reason = held, reason if held else None
            schedule(inv, policy)
            record(session, inv.org_id, "invoice.reopened", inv, request_id=request.id)
        return
    if decision == "rejected":
        if inv.paused_until is not None:
            invoices_mod.resume(session, inv.org_id, inv.id, as_of)
        return
    if request.kind == "extension":
        assert new_due_date is not None
        old = inv.due_date
        inv.due_date = new_due_date
        inv.dunning_anchor = new_due_date
        inv.paused_until = None
        inv.pause_reason = None
        schedule(inv, policy)
        record(session, inv.org_id, "invoice.due_date_moved", inv, request_id=request.id,
               old=old.isoformat(), new=new_due_date.isoformat())  # fmt: skip
