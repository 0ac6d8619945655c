"""Migrations: from empty to head and back, and the models agree with them."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from adapters import migrate
from adapters.db import make_engine
from domain.models import Base


def test_upgrade_from_empty_matches_the_models_and_downgrade_empties(scratch_database: Any) -> None:
    url = scratch_database()
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        assert migrate.current_revision(engine) == migrate.head_revision(url)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
        assert diff == []
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
        migrate.downgrade(url, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate.upgrade(url)
        assert migrate.current_revision(engine) == migrate.head_revision(url)
    finally:
        engine.dispose()


def test_the_partial_index_keeps_runs_to_due_open_invoices(scratch_database: Any) -> None:
    url = scratch_database()
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        indexes = {ix["name"]: ix for ix in inspect(engine).get_indexes("invoices")}
        assert indexes["ix_invoices_due_open"]["column_names"] == ["next_action_on"]
        options = indexes["ix_invoices_due_open"].get("dialect_options", {})
        where = options.get("postgresql_where") or options.get("sqlite_where")
        if where is not None:  # PostgreSQL and newer SQLAlchemy report the condition
            assert "open" in str(where)
    finally:
        engine.dispose()
