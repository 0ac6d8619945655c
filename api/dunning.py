"""Tasks, the dunning preview and the audit trail."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from litestar import Controller, Request, Response, get, post
from msgspec import Struct
from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.composer import JinjaComposer
from api import docs, idempotency
from api.auth import Auth
from api.docs import responses
from api.pagination import Cursor, Limit, check_limit, page
from domain import arrangements
from domain import tasks as tasks_mod
from domain.dunning import engine as dunning
from domain.errors import ValidationError
from domain.invoices import check_day
from domain.models import Event, Task
from domain.money import format_amount

TaskStatus = Literal["open", "done"]


class TaskOut(Struct):
    id: str
    kind: str
    title: str
    status: str
    customer_id: str
    invoice_ids: list[str]
    due_on: dt.date | None
    outcome: str | None
    note: str | None
    promised_on: dt.date | None
    created_at: dt.datetime
    completed_at: dt.datetime | None


class TaskComplete(Struct):
    outcome: Literal["reached", "no_answer", "voicemail", "promised", "disputed", "wrong_number", "other"]
    note: str | None = None
    promised_on: dt.date | None = None


def _task(db: Session, t: Task) -> TaskOut:
    return TaskOut(
        id=t.id, kind=t.kind, title=t.title, status=t.status, customer_id=t.customer_id,
        invoice_ids=sorted(i.id for i in tasks_mod.invoices_of(db, t)), due_on=t.due_on, outcome=t.outcome,
        note=t.note, promised_on=t.promised_on, created_at=t.created_at, completed_at=t.completed_at,
    )


class PreviewItem(Struct):
    customer_id: str
    customer_name: str
    kind: str
    channel: str
    to: str | None
    invoices: list[str]
    skipped: list[dict[str, str]]


class PlanPreviewItem(Struct):
    """One thing the run's payment-plan stage would do (``domain.arrangements.preview_day``)."""

    kind: Literal["instalment_reminder", "instalment_missed", "arrangement_broken", "instalment_paid",
                  "arrangement_completed", "hold_lapsed"]  # fmt: skip
    arrangement_id: str
    customer_id: str
    customer_name: str
    to: str | None
    instalment: int | None
    amount: str
    currency: str


class Preview(Struct):
    as_of: dt.date
    items: list[PreviewItem]
    examined: int
    messages: int
    tasks: int
    skipped: int
    arrangements: list[PlanPreviewItem] = []


class EventOut(Struct):
    id: str
    kind: str
    subject_type: str | None
    subject_id: str | None
    actor: str | None
    data: dict[str, Any]
    occurred_at: dt.datetime


class TaskPage(Struct):
    items: list[TaskOut]
    next_cursor: str | None


class EventPage(Struct):
    items: list[EventOut]
    next_cursor: str | None


class TaskController(Controller):
    path = "/tasks"
    tags = ["tasks"]

    @get("/", opt={"scope": "tasks:read"}, sync_to_thread=True, summary="List tasks",
         responses=responses(TaskPage, docs.page_of(docs.TASK), description="A page of tasks"))
    def list_tasks(self, db: Session, auth: Auth, status: TaskStatus | None = None, customer_id: str | None = None,
                   cursor: Cursor = None, limit: Limit = None) -> TaskPage:
        """The calls and letters dunning left for a person, oldest first; ``status`` open or done."""
        stmt = select(Task).where(Task.org_id == auth.org_id)
        if status is not None:
            if status not in ("open", "done"):
                raise ValidationError("status must be 'open' or 'done'", "status")
            stmt = stmt.where(Task.status == status)
        if customer_id is not None:
            stmt = stmt.where(Task.customer_id == customer_id)
        rows, nxt = page(db, stmt, Task.id, cursor, limit)
        return TaskPage(items=[_task(db, t) for t in rows], next_cursor=nxt)

    @post("/{task_id:str}/complete", opt={"scope": "tasks:write"}, sync_to_thread=True, status_code=200,
          summary="Complete a task",
          responses=responses(TaskOut, docs.TASK, 404, 409, 413, description="The task, done"))
    def complete(self, request: Request[Any, Any, Any], db: Session, auth: Auth, task_id: str,
                 data: TaskComplete) -> Response[Any]:
        """Close a task with its ``outcome``; ``promised_on`` pauses dunning of its invoices until then."""
        tasks_mod.get(db, auth.org_id, task_id)

        def action() -> tuple[int, Any]:
            task = tasks_mod.complete(db, auth.org_id, task_id, outcome=data.outcome, note=data.note,
                                      promised_on=data.promised_on, as_of=dt.date.today())
            return 200, _task(db, task)

        return idempotency.run(request, db, auth, data, action)


class DunningController(Controller):
    path = "/dunning"
    tags = ["dunning"]

    @get("/preview", opt={"scope": "dunning:read"}, sync_to_thread=True, summary="Preview a dunning run",
         responses=responses(Preview, docs.PREVIEW, description="What a run on as_of would do"))
    def preview(self, request: Request[Any, Any, Any], auth: Auth, composer: JinjaComposer,
                as_of: dt.date | None = None) -> Preview:
        """Exactly what ``settle run --as-of`` would do for this organisation, changing nothing; its
        payment plans' part (instalment reminders, missed instalments, broken and completed plans,
        proposals whose hold on dunning runs out) under ``arrangements``."""
        day = as_of or dt.date.today()
        check_day(day, "as_of")  # far dates overflow the interest arithmetic
        factory = request.app.state.sessions.reader
        summary = dunning.plan(factory, as_of=day, composer=composer, org_id=auth.org_id, dry_run=True)
        with factory() as session:
            notices = arrangements.preview_day(session, day, auth.org_id)
        return Preview(
            as_of=day,
            items=[PreviewItem(customer_id=p.customer_id, customer_name=p.customer_name, kind=p.kind,
                               channel=p.channel, to=p.to, invoices=list(p.invoices),
                               skipped=[{"invoice": n, "step": k} for n, k in p.skipped])
                   for p in summary.plan],
            examined=summary.examined, messages=summary.messages, tasks=summary.tasks, skipped=summary.skipped,
            arrangements=[PlanPreviewItem(kind=n.kind, arrangement_id=n.arrangement_id,  # type: ignore[arg-type]
                                          customer_id=n.customer_id, customer_name=n.customer_name, to=n.to,
                                          instalment=n.instalment, amount=format_amount(n.amount_cents),
                                          currency=n.currency) for n in notices],
        )


class EventController(Controller):
    path = "/events"
    tags = ["events"]

    @get("/", opt={"scope": "events:read"}, sync_to_thread=True, summary="Read the audit trail",
         responses=responses(EventPage, docs.page_of(docs.EVENT), description="A page of events, oldest first"))
    def list_events(self, db: Session, auth: Auth, after: str | None = None, cursor: Cursor = None,
                    limit: Limit = None) -> EventPage:
        """The organisation's audit trail, oldest first; pass the last id seen (or ``next_cursor``) as
        ``after``. ``cursor`` is the same parameter under the name every other list uses.

        An event's id is its own random ``public_id``, not the integer that orders the trail: that
        one sequence is shared by all organisations, and its gaps would tell how busy the others
        are. A position is looked up among this organisation's events only, so another
        organisation's id (or anything else) is refused like any id that is not one."""
        size = check_limit(limit)
        stmt = select(Event).where(Event.org_id == auth.org_id)
        if after and cursor and after != cursor:
            raise ValidationError("give after or cursor, not two different positions", "cursor")
        name, position = ("after", after) if after else ("cursor", cursor)
        if position:
            seen = db.scalar(select(Event.id).where(Event.org_id == auth.org_id, Event.public_id == position))
            if seen is None:
                raise ValidationError(f"{name} must be an event id (a next_cursor of this list)", name)
            stmt = stmt.where(Event.id > seen)
        rows = list(db.scalars(stmt.order_by(Event.id).limit(size + 1)))
        more = len(rows) > size
        rows = rows[:size]
        return EventPage(
            items=[EventOut(id=e.public_id, kind=e.kind, subject_type=e.subject_type, subject_id=e.subject_id,
                            actor=e.actor, data=e.data or {}, occurred_at=e.occurred_at) for e in rows],
            next_cursor=rows[-1].public_id if more and rows else None,
        )
