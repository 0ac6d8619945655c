"""The audit trail: every change a person or a machine made, appended, never edited."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

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
