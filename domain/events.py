"""The audit trail: every change a person or a machine made, appended, never edited."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Connection, Table
from sqlalchemy.orm import Session

from domain.bulk import Insert
from domain.models import Event


def record(
    session: Session,
    org_id: str,
    kind: str,
    subject: Any = None,
    *,
    actor: str | None = None,
    **data: Any,
) -> Event:
    """Append an event about ``subject`` (any model with an ``id``) in the caller's transaction."""
    event = Event(
        org_id=org_id,
        kind=kind,
        subject_type=type(subject).__name__.lower() if subject is not None else None,
        subject_id=getattr(subject, "id", None),
        actor=actor,
        data=data,
    )
    session.add(event)
    return event


# What a batch's event rows carry (a dunning run's, a bulk intake's): ``public_id`` made
# beforehand (``domain.ids.new_ids``), ``data`` a dict.
_INSERT = Insert(cast(Table, Event.__table__), ("public_id", "org_id", "kind", "subject_type", "subject_id", "actor",
                                               "data", "occurred_at"))  # fmt: skip


def insert_rows(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Append a batch's events in one multi-row statement (``domain.bulk.Insert``)."""
    _INSERT(conn, rows)
