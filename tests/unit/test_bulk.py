"""``domain.bulk`` writes what SQLAlchemy's own executemany writes, without its per-row work."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import pytest
from sqlalchemy import Table, create_engine, insert, select
from sqlalchemy.orm import Session

from domain import bulk
from domain.models import Base, Customer, Event, Invoice, Organisation

NOW = dt.datetime(2026, 6, 1, 6, 30, 15, 123456, tzinfo=dt.UTC)
EVENTS = cast(Table, Event.__table__)
COLUMNS = ("public_id", "org_id", "kind", "subject_type", "subject_id", "actor", "data", "occurred_at")


def _rows(prefix: str) -> list[dict[str, Any]]:
    return [
        {"public_id": f"{prefix}1", "org_id": "org_1", "kind": "a", "subject_type": "customer", "subject_id": "c1",
         "actor": None, "data": {"n": 1, "when": "2026-06-01", "x": [1, None]}, "occurred_at": NOW},
        {"public_id": f"{prefix}2", "org_id": "org_1", "kind": "b", "subject_type": None, "subject_id": None,
         "actor": "me", "data": None, "occurred_at": NOW + dt.timedelta(hours=2)},
    ]  # fmt: skip


def test_inserted_rows_read_back_as_sqlalchemys_own_insert_writes_them() -> None:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add(Organisation(id="org_1", slug="acme", name="Acme"))
        s.flush()
        conn = s.connection()
        conn.execute(insert(Event), _rows("sa_"))
        bulk.Insert(EVENTS, COLUMNS)(conn, _rows("bulk_"))
        read = {e.public_id: e for e in s.scalars(select(Event))}
        raw = dict(conn.exec_driver_sql("SELECT public_id, data FROM events").all())
    for n in "12":
        ours, theirs = read[f"bulk_{n}"], read[f"sa_{n}"]
        assert [getattr(ours, c) for c in COLUMNS[1:]] == [getattr(theirs, c) for c in COLUMNS[1:]]
        assert raw[f"bulk_{n}"] == raw[f"sa_{n}"]  # the stored text too: JSON null for None
    assert read["bulk_2"].occurred_at == NOW + dt.timedelta(hours=2) and read["bulk_2"].data is None


def test_updated_rows_get_their_own_values() -> None:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add(Organisation(id="org_1", slug="acme", name="Acme"))
        s.add(Customer(id="cus_1", org_id="org_1", name="Jansen"))
        s.flush()
        for n in (1, 2, 3):
            s.add(Invoice(id=f"inv_{n}", org_id="org_1", customer_id="cus_1", number=f"F{n}", issue_date=NOW.date(),
                          due_date=NOW.date(), currency="EUR", amount_cents=100 * n, open_cents=100 * n))  # fmt: skip
        s.flush()
        update = bulk.Update(cast(Table, Invoice.__table__), "id", ("open_cents", "next_action_on", "pause_reason"))
        update(s.connection(), [
            {"id": "inv_1", "open_cents": 0, "next_action_on": None, "pause_reason": "x"},
            {"id": "inv_3", "open_cents": 7, "next_action_on": dt.date(2026, 6, 9), "pause_reason": None},
        ])  # fmt: skip
        s.expire_all()
        got = {i.id: (i.open_cents, i.next_action_on, i.pause_reason) for i in s.scalars(select(Invoice))}
    assert got == {"inv_1": (0, None, "x"), "inv_2": (200, None, None), "inv_3": (7, dt.date(2026, 6, 9), None)}


def test_a_column_whose_default_raw_sql_would_not_apply_must_be_written() -> None:
    with pytest.raises(ValueError, match="public_id"):
        bulk.Insert(EVENTS, [c for c in COLUMNS if c != "public_id"])
