"""Tasks for people: calls the policy asks for, hand-overs to prepare."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.errors import Conflict, NotFound, ValidationError
from domain.events import record
from domain.models import DunningAction, Invoice, Task, utcnow

OUTCOMES = ("reached", "no_answer", "voicemail", "promised", "disputed", "wrong_number", "other")


def get(session: Session, org_id: str, task_id: str) -> Task:
    task = session.get(Task, task_id)
    if task is None or task.org_id != org_id:
        raise NotFound(f"no task {task_id!r}", "task_id")
    return task


def invoices_of(session: Session, task: Task) -> list[Invoice]:
    """The invoices a task is about: its own, or those of the dunning message that created it."""
    ids: set[str] = {task.invoice_id} if task.invoice_id else set()
    if task.message_id:
        ids |= set(session.scalars(select(DunningAction.invoice_id).where(DunningAction.message_id == task.message_id)))
    if not ids:
        return []
    return list(session.scalars(select(Invoice).where(Invoice.id.in_(ids), Invoice.org_id == task.org_id)))


def complete(
    session: Session,
    org_id: str,
    task_id: str,
    *,
    outcome: str,
    note: str | None,
    promised_on: dt.date | None,
    as_of: dt.date,
) -> Task:
    """Close a task. A promise to pay pauses the task's invoices until the promised day."""
    from domain import invoices as invoices_mod

    task = get(session, org_id, task_id)
    if task.status == "done":
        raise Conflict("this task is already completed", "status")
    if outcome not in OUTCOMES:
        raise ValidationError(f"outcome must be one of {', '.join(OUTCOMES)}", "outcome")
    if promised_on is not None and promised_on <= as_of:
        raise ValidationError("promised_on must be a date after today", "promised_on")
    if outcome == "promised" and promised_on is None:
        raise ValidationError("a promise needs promised_on", "promised_on")
    task.status = "done"
    task.outcome = outcome
    task.note = note
    task.promised_on = promised_on
    task.completed_at = utcnow()
    if promised_on is not None:
        for invoice in invoices_of(session, task):
            if invoice.status in invoices_mod.UNSETTLED:
                invoices_mod.pause(session, org_id, invoice.id, promised_on, "promise to pay (phone)", as_of)
    record(session, org_id, "task.completed", task, outcome=outcome,
           promised_on=promised_on.isoformat() if promised_on else None)
    return task
