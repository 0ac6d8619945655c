"""Cursor pagination: ids are time-ordered, so a page continues after the last id."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from litestar.params import Parameter
from sqlalchemy import Select
from sqlalchemy.orm import Session

from domain.errors import ValidationError

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500

# The list parameters as every list declares them: ``limit`` 1..500 (default 50; outside is a 422
# naming ``limit``), ``cursor`` the ``next_cursor`` of the page before.
Limit = Annotated[
    int | None,
    Parameter(ge=1, le=MAX_LIMIT, description=f"Page size, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})"),
]
Cursor = Annotated[str | None, Parameter(description="The `next_cursor` of the previous page; leave out for the first")]


def check_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(f"limit must be between 1 and {MAX_LIMIT}", "limit")
    return limit


def page(session: Session, stmt: Select[Any], id_column: Any, cursor: str | None,
         limit: int | None, *, entities: bool = True) -> tuple[list[Any], str | None]:
    """A page of ``stmt`` after ``cursor``: ORM entities, or (``entities=False``) column rows."""
    size = check_limit(limit)
    if cursor:
        stmt = stmt.where(id_column > cursor)
    ordered = stmt.order_by(id_column).limit(size + 1)
    rows = list(session.scalars(ordered) if entities else session.execute(ordered).all())
    if len(rows) > size:
        rows = rows[:size]
        return rows, str(rows[-1].id)
    return rows, None
