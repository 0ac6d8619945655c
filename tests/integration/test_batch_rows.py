"""``domain.bulk`` against each database: rows stored by one statement read back as SQLAlchemy's own
insert stores them, a value too long for its column is refused (not cut), and a batch lookup
compares values whole, on SQLite and PostgreSQL alike (tests/unit/test_bulk.py: SQLite in memory)."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import pytest
from sqlalchemy import Table, insert, select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from domain import customers
from domain.bulk import Insert, among
from domain.ids import new_id
from domain.models import Event, Invoice, Policy
from tests.conftest import Tenant

INVOICES = cast(Table, Invoice.__table__)
EVENTS = cast(Table, Event.__table__)
NOW = dt.datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=dt.timezone(dt.timedelta(hours=1)))  # not UTC: converted


def insert_rows(db: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    Insert(table, tuple(rows[0]))(db.connection(), rows)


def _invoice(org_id: str, customer_id: str, policy_id: str, number: str, **extra: Any) -> dict[str, Any]:
    row = {"id": new_id("inv"), "org_id": org_id, "customer_id": customer_id, "number": number,
           "issue_date": dt.date(2026, 3, 1), "due_date": dt.date(2026, 3, 31), "currency": "EUR",
           "amount_cents": 12_345_678_901, "open_cents": 0, "status": "paid", "payment_reference": None,
           "description": "Levering één", "pdf_url": None, "paid_on": dt.date(2026, 3, 2), "policy_id": policy_id,
           "dunning_step": 0, "dunning_anchor": dt.date(2026, 3, 31), "next_action_on": None, "fees_cents": 0,
           "costs_cents": 0, "interest_cents": 0, "created_at": NOW, "updated_at": NOW}  # fmt: skip
    return {**row, **extra}


def _event(org_id: str, subject_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"public_id": new_id("evt"), "org_id": org_id, "kind": "invoice.created", "subject_type": "invoice",
            "subject_id": subject_id, "actor": None, "data": data, "occurred_at": NOW}  # fmt: skip


def _setup(db: Session, tenant: Tenant) -> tuple[str, str]:
    customer = customers.create(db, tenant.org_id, name="Debiteur", external_ref="DEB-1")
    db.flush()
    policy_id = db.scalars(select(Policy.id).where(Policy.org_id == tenant.org_id)).one()
    return customer.id, policy_id


def _stored(db: Session, model: Any, ids: list[Any], key: Any) -> list[dict[str, Any]]:
    db.expire_all()
    found = {getattr(r, key.key): r for r in db.scalars(select(model).where(key.in_(ids)))}
    skip = {"id", "number", "public_id", "subject_id"}
    return [{c.key: getattr(found[i], c.key) for c in model.__table__.columns if c.key not in skip} for i in ids]


def test_rows_read_back_as_a_core_insert_of_the_same_rows_stores_them(db: Session, tenant: Tenant) -> None:
    customer_id, policy_id = _setup(db, tenant)
    ours = [_invoice(tenant.org_id, customer_id, policy_id, f"B-{n}", next_action_on=dt.date(2026, 4, n + 1),
                     status="open", open_cents=n) for n in range(3)]  # fmt: skip
    ours.append(_invoice(tenant.org_id, customer_id, policy_id, "B-paid"))
    core = [{**r, "id": new_id("inv"), "number": "C" + r["number"][1:]} for r in ours]
    insert_rows(db, INVOICES, ours)
    db.execute(insert(INVOICES), core)
    assert _stored(db, Invoice, [r["id"] for r in ours], Invoice.id) == _stored(db, Invoice, [r["id"] for r in core],
                                                                                 Invoice.id)  # fmt: skip
    got = db.get_one(Invoice, ours[3]["id"])
    assert got.created_at == NOW and got.created_at.tzinfo is not None and got.amount_cents == 12_345_678_901
    assert got.description == "Levering één" and got.next_action_on is None and got.paid_on == dt.date(2026, 3, 2)

    data = [{"number": "B-0", "amount_cents": 5}, {"nested": {"list": [1, "twee", None]}, "naïef": True}]
    our_events = [_event(tenant.org_id, ours[0]["id"], d) for d in data]
    core_events = [{**e, "public_id": new_id("evt"), "subject_id": core[0]["id"]} for e in our_events]
    insert_rows(db, EVENTS, our_events)
    db.execute(insert(EVENTS), core_events)
    mine = _stored(db, Event, [e["public_id"] for e in our_events], Event.public_id)
    assert mine == _stored(db, Event, [e["public_id"] for e in core_events], Event.public_id)
    assert [e["data"] for e in mine] == data and all(e["occurred_at"] == NOW for e in mine)


def test_a_number_already_stored_is_an_integrity_error_and_stores_nothing(db: Session, tenant: Tenant) -> None:
    """What ``invoices.create_many`` retries on: the whole statement is refused."""
    customer_id, policy_id = _setup(db, tenant)
    insert_rows(db, INVOICES, [_invoice(tenant.org_id, customer_id, policy_id, "D-1")])
    again = [_invoice(tenant.org_id, customer_id, policy_id, "D-2"), _invoice(tenant.org_id, customer_id, policy_id,
                                                                               "D-1")]  # fmt: skip
    with pytest.raises(IntegrityError), db.begin_nested():
        insert_rows(db, INVOICES, again)
    assert db.scalars(select(Invoice.number).where(Invoice.org_id == tenant.org_id)).all() == ["D-1"]


def test_a_value_longer_than_its_column_is_refused_not_cut(db: Session, tenant: Tenant, on_postgres: bool) -> None:
    if not on_postgres:
        pytest.skip("SQLite keeps strings of any length")
    customer_id, policy_id = _setup(db, tenant)
    with pytest.raises(DataError), db.begin_nested():
        insert_rows(db, INVOICES, [_invoice(tenant.org_id, customer_id, policy_id, "L-1", payment_reference="9" * 41)])


def test_a_batch_lookup_compares_each_value_whole(db: Session, tenant: Tenant) -> None:
    """A looked-up value longer than the column never matches the row it starts like."""
    customer_id, policy_id = _setup(db, tenant)
    ref = "R" * 40
    insert_rows(db, INVOICES, [_invoice(tenant.org_id, customer_id, policy_id, "W-1", payment_reference=ref)])

    def found(values: list[str]) -> list[str | None]:
        return list(db.scalars(select(Invoice.payment_reference).where(
            Invoice.org_id == tenant.org_id, among(db, Invoice.payment_reference, values))))  # fmt: skip

    assert found([ref + "X", ref[:-1], "", "elsewhere"]) == []
    assert found([ref, ref + "X", 'it\'s "quoted" \\ ñ']) == [ref]
    assert found([]) == []
