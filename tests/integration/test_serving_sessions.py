"""Every request gives its database connection back, on every path, and a database that
cannot take a request in time answers 503 with Retry-After: never a 500, never a hang."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.orm import Session

from adapters.db import is_busy, make_engine
from adapters.settings import Settings
from domain.models import Customer
from settle.app import create_app
from tests.conftest import Api, Tenant
from tests.integration import portal_helpers as h


def test_connections_come_back_after_answers_of_every_kind(engine: Engine, api: Api, db: Session) -> None:
    """Reads, writes, a 404 raised in the handler after it queried, a 422, a 409, a 401."""
    customer = api.customer()
    api.invoice(customer["id"], "F-1")
    engine.pool.dispose()  # count from an empty pool: the test's own session connected before
    assert api.get("/invoices").status_code == 200
    assert api.get("/invoices/inv_doesnotexist").status_code == 404
    assert api.post("/invoices", json={"customer_id": customer["id"], "number": "F-1", "issue_date": "2026-01-01",
                                       "amount": "5.00"}).status_code == 409  # fmt: skip
    assert api.post("/invoices", json={"number": 1}).status_code in (400, 422)
    assert api.patch(f"/customers/{customer['id']}", json={"name": "Jansen & Zn"}).status_code == 200
    assert api.client.get("/api/v1/invoices", headers={"Authorization": "Bearer sk_nope_nope"}).status_code == 401
    assert api.get(f"/customers/{customer['id']}/statement").status_code == 200
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_portal_pages_give_their_connections_back(engine: Engine, client: TestClient[Any], db: Session,
                                                  settings: Settings) -> None:  # fmt: skip
    w = h.world(db)
    h.sign_in(client, db, settings, w.customer)
    engine.pool.dispose()
    assert client.get("/portal").status_code == 200
    assert client.get("/portal/payments/pay_unknown").status_code == 404
    assert client.get("/p/not-a-token").status_code == 404
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]


@pytest.fixture
def starved(database_url: str, settings: Settings) -> Iterator[tuple[Engine, TestClient[Any]]]:
    """An app whose pool has one connection, waited for at most 0.3 s."""
    small = make_engine(database_url, pool_size=1, max_overflow=0, pool_timeout=0.3)
    app = create_app(settings, engine=small)
    with TestClient(app=app, base_url="http://settle.test") as tc:
        yield small, tc
    small.dispose()


def test_a_pool_that_stays_empty_answers_503_with_retry_after(starved: tuple[Engine, TestClient[Any]],
                                                              tenant: Tenant) -> None:  # fmt: skip
    small, tc = starved
    with small.connect() as held:  # someone else holds the only connection
        held.execute(text("SELECT 1"))
        answer = tc.get("/api/v1/invoices", headers=tenant.headers)
        tc.cookies.set("settle_portal", "x")
        page = tc.get("/portal")
    assert answer.status_code == 503 and int(answer.headers["retry-after"]) >= 1
    assert answer.json()["error"] == "database_busy"
    # The portal page without a valid session never asks the database: it says the session ended.
    assert page.status_code == 403
    assert tc.get("/api/v1/invoices", headers=tenant.headers).status_code == 200  # and it recovers at once


def test_a_busy_portal_answers_a_503_page(starved: tuple[Engine, TestClient[Any]], db: Session,
                                          settings: Settings) -> None:  # fmt: skip
    small, tc = starved
    w = h.world(db)
    h.sign_in(tc, db, settings, w.customer)
    with small.connect() as held:
        held.execute(text("SELECT 1"))
        page = tc.get("/portal")
    assert page.status_code == 503 and int(page.headers["retry-after"]) >= 1
    assert "text/html" in page.headers["content-type"] and "druk" in page.text
    assert tc.get("/portal").status_code == 200


def test_a_sqlite_write_that_cannot_get_the_lock_answers_503_and_writes_nothing(
    on_postgres: bool, database_url: str, settings: Settings, tenant: Tenant, db: Session
) -> None:
    if on_postgres:
        pytest.skip("SQLite's single writer")
    impatient = make_engine(database_url, busy_timeout=0.2)
    other = make_engine(database_url)
    app = create_app(settings, engine=impatient)
    try:
        with TestClient(app=app, base_url="http://settle.test") as tc, other.connect() as conn:
            writer = conn.execution_options(sqlite_immediate=True)
            writer.begin()  # another writer holds the lock (BEGIN IMMEDIATE)
            answer = tc.post("/api/v1/customers", headers=tenant.headers, json={"name": "Waits B.V."})
            writer.rollback()
            assert answer.status_code == 503 and answer.headers["retry-after"]
            assert db.scalar(select(func.count()).select_from(Customer).where(Customer.name == "Waits B.V.")) == 0
            again = tc.post("/api/v1/customers", headers=tenant.headers, json={"name": "Waits B.V."})
            assert again.status_code == 201
    finally:
        impatient.dispose()
        other.dispose()


def test_sqlite_api_writes_begin_with_the_write_lock(on_postgres: bool, engine: Engine, api: Api) -> None:
    """A write that reads first cannot be overtaken by another writer between its read and its write."""
    if on_postgres:
        pytest.skip("SQLite's BEGIN IMMEDIATE")
    begins: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("BEGIN"):
            begins.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        api.customer()
        api.get("/customers")
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert "BEGIN IMMEDIATE" in begins and "BEGIN" in begins


def test_is_busy_tells_load_from_faults() -> None:
    import sqlalchemy.exc

    assert is_busy(sqlalchemy.exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached"))
    locked = sqlalchemy.exc.OperationalError("INSERT", {}, Exception("database is locked"))
    assert is_busy(locked)
    assert not is_busy(sqlalchemy.exc.OperationalError("SELECT", {}, Exception("no such table: invoices")))
    assert not is_busy(ValueError("database is locked"))


def test_a_read_finished_with_a_commit_stays_prepared_on_postgres(on_postgres: bool, database_url: str,
                                                                 engine: Engine) -> None:  # fmt: skip
    """psycopg forgets its prepared statements at every ROLLBACK: the hot reads end with
    ``finish_reading`` (a COMMIT), so that PostgreSQL does not parse and plan the statement page's
    read model on every view."""
    from adapters.db import finish_reading, make_sessionmaker

    if not on_postgres:
        pytest.skip("psycopg's prepared statements")
    one = make_engine(database_url, pool_size=1, max_overflow=0)  # every session on the same connection
    try:
        factory = make_sessionmaker(one)
        query = select(Customer.id).where(Customer.id == "cus_none")

        def prepared() -> int:
            with factory() as s:
                found = s.scalar(text("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%customers%'"))
                return int(found or 0)

        for end in ("close", "finish_reading"):
            for _ in range(8):  # psycopg prepares a query on its fifth run
                s = factory()
                s.execute(query).all()
                s.close() if end == "close" else finish_reading(s)
            assert prepared() == (0 if end == "close" else 1), end
    finally:
        one.dispose()


def test_finish_reading_refuses_a_session_with_changes(db: Session) -> None:
    from adapters.db import finish_reading

    db.add(Customer(org_id="org_x", name="Nobody"))
    with pytest.raises(RuntimeError, match="COMMIT would write"):
        finish_reading(db)
    db.rollback()
