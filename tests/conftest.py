"""Shared fixtures: a real database (SQLite by default, PostgreSQL when
SETTLE_TEST_DATABASE_URL says so), migrated with Alembic once per session and
emptied after every test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from adapters import migrate
from adapters.db import make_engine, make_sessionmaker
from adapters.settings import Settings, normalize_database_url
from domain import organisations
from domain.models import Base
from settle.app import create_app

SECRET = "test-secret-key-1"


def _is_postgres(url: str) -> bool:
    return url.startswith("postgresql")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The test database. Under pytest-xdist each worker on PostgreSQL gets a database of its own
    beside the one given (``<name>_gw0``, …), since every test empties the tables after it."""
    url = os.environ.get("SETTLE_TEST_DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'settle-test.db'}"
        return
    url = normalize_database_url(url)
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        yield url
        return
    own = f"{url.rsplit('/', 1)[1]}_{worker}"
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{own}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{own}"'))
    try:
        yield url.rsplit("/", 1)[0] + "/" + own
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{own}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def on_postgres(database_url: str) -> bool:
    return _is_postgres(database_url)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    migrate.upgrade(database_url)
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def scratch_database(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A factory of empty databases of the same kind as the test database."""
    created: list[str] = []
    admin = make_engine(database_url, isolation_level="AUTOCOMMIT") if _is_postgres(database_url) else None

    def make() -> str:
        if admin is None:
            return f"sqlite:///{tmp_path_factory.mktemp('scratch') / 'scratch.db'}"
        name = f"settle_scratch_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return database_url.rsplit("/", 1)[0] + "/" + name

    yield make
    if admin is not None:
        with admin.connect() as conn:
            for name in created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _empty(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    session = make_sessionmaker(engine)()
    try:
        yield session
    finally:
        session.rollback()
        session.close()
        _empty(engine)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        secret_keys=(SECRET,),
        base_url="http://settle.test",
        mail_url=f"file:{tmp_path / 'outbox'}",
        mail_from="settle@settle.test",
        sandbox_payments=True,
    )


@pytest.fixture
def client(engine: Engine, settings: Settings, db: Session) -> Iterator[TestClient[Any]]:
    app = create_app(settings, engine=engine)
    with TestClient(app=app, base_url="http://settle.test") as tc:
        yield tc


@dataclass
class Tenant:
    """An organisation as a back-office tool sees it: its id, slug and an API key."""

    org_id: str
    slug: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def make_tenant(session: Session, name: str) -> Tenant:
    org, key = organisations.create(session, name)
    session.commit()
    return Tenant(org.id, org.slug, key.key)


@pytest.fixture
def tenant(db: Session) -> Tenant:
    return make_tenant(db, "Acme Groothandel")


@pytest.fixture
def other_tenant(db: Session) -> Tenant:
    return make_tenant(db, "Other Creditor")


class Api:
    """A tiny client for one tenant: ``api.post("/customers", json=…)``."""

    def __init__(self, client: TestClient[Any], tenant: Tenant) -> None:
        self.client, self.tenant = client, tenant

    def _h(self, headers: dict[str, str] | None) -> dict[str, str]:
        return {**self.tenant.headers, **(headers or {})}

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(f"/api/v1{path}", headers=self._h(kw.pop("headers", None)), **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self.client.post(f"/api/v1{path}", headers=self._h(kw.pop("headers", None)), **kw)

    def patch(self, path: str, **kw: Any) -> Any:
        return self.client.patch(f"/api/v1{path}", headers=self._h(kw.pop("headers", None)), **kw)

    def put(self, path: str, **kw: Any) -> Any:
        return self.client.put(f"/api/v1{path}", headers=self._h(kw.pop("headers", None)), **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.client.delete(f"/api/v1{path}", headers=self._h(kw.pop("headers", None)), **kw)

    def customer(self, **fields: Any) -> dict[str, Any]:
        body = {"name": "Bakkerij Jansen", "email": "ap@jansen.example", **fields}
        r = self.post("/customers", json=body)
        assert r.status_code == 201, r.text
        return r.json()

    def invoice(self, customer_id: str, number: str, amount: str = "100.00", **fields: Any) -> dict[str, Any]:
        body = {"customer_id": customer_id, "number": number, "issue_date": "2026-01-01",
                "due_date": "2026-01-31", "amount": amount, "currency": "EUR", **fields}
        r = self.post("/invoices", json=body)
        assert r.status_code == 201, r.text
        return r.json()


@pytest.fixture
def api(client: TestClient[Any], tenant: Tenant) -> Api:
    return Api(client, tenant)


@pytest.fixture
def other_api(client: TestClient[Any], other_tenant: Tenant) -> Api:
    return Api(client, other_tenant)
