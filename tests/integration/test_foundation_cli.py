"""The `settle` command line, run as a user runs it: a real process and a real database."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from adapters.db import make_engine, make_sessionmaker
from domain import apikeys
from domain.models import Customer, Invoice, Organisation

SETTLE = shutil.which("settle", path=str(Path(sys.executable).parent)) or "settle"


def run(*args: str, env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SETTLE, *args], env=env, capture_output=True, text=True, cwd=cwd, timeout=120)


def _env(url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SETTLE_")}
    return {**env, "SETTLE_DATABASE_URL": url, **extra}


def test_org_and_key_lifecycle(scratch_database: Any) -> None:
    url = scratch_database()
    env = _env(url)
    created = run("org", "create", "--name", "Acme BV", env=env)
    assert created.returncode == 0, created.stderr
    assert "acme-bv" in created.stdout
    key = next(w for w in created.stdout.split() if w.startswith("sk_"))
    engine = make_engine(url)
    with make_sessionmaker(engine)() as s:
        assert apikeys.authenticate(s, key) is not None
    dup = run("org", "create", "--name", "Acme BV", env=env)
    assert dup.returncode == 2 and "acme-bv" in dup.stderr
    scoped = run("apikey", "create", "--org", "acme-bv", "--scope", "invoices:read", env=env)
    assert scoped.returncode == 0, scoped.stderr
    scoped_key = scoped.stdout.strip()
    with make_sessionmaker(engine)() as s:
        row = apikeys.authenticate(s, scoped_key)
        assert row is not None and row.scopes == ["invoices:read"]
    bogus = run("apikey", "create", "--org", "acme-bv", "--scope", "bogus", env=env)
    assert bogus.returncode == 2 and "bogus" in bogus.stderr
    assert run("apikey", "create", "--org", "nope", env=env).returncode == 2
    revoked = run("apikey", "revoke", scoped_key.split("_")[1], env=env)
    assert revoked.returncode == 0, revoked.stderr
    with make_sessionmaker(engine)() as s:
        assert apikeys.authenticate(s, scoped_key) is None
    assert run("apikey", "revoke", "000000000000", env=env).returncode == 2
    engine.dispose()


def test_db_commands(scratch_database: Any) -> None:
    env = _env(scratch_database())
    assert run("db", "upgrade", env=env).returncode == 0
    current = run("db", "current", env=env)
    assert current.returncode == 0 and "(head)" in current.stdout
    down = run("db", "downgrade", "base", env=env)
    assert down.returncode == 0 and "base" in down.stdout
    assert "empty" in run("db", "current", env=env).stdout


def test_serve_without_a_secret_says_what_to_set(scratch_database: Any) -> None:
    res = run("serve", "--port", "1", env=_env(scratch_database()))
    assert res.returncode == 2 and "SETTLE_SECRET_KEYS" in res.stderr


def test_run_with_a_bad_date_exits_2(scratch_database: Any) -> None:
    res = run("run", "--as-of", "31-12-2026", env=_env(scratch_database(), SETTLE_SECRET_KEYS="k"))
    assert res.returncode == 2 and "--as-of" in res.stderr


def test_demo_seeds_a_dozen_customers_at_every_stage_once(tmp_path: Path) -> None:
    env = _env("sqlite:///unused.db")
    first = run("demo", "--no-serve", "--database", "demo.db", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "sk_" in first.stdout and "/p/" in first.stdout
    second = run("demo", "--no-serve", "--database", "demo.db", env=env, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    with make_sessionmaker(engine)() as s:
        dutch_org = s.scalar(select(Organisation.id).where(Organisation.slug == "demo"))
        customers = list(s.scalars(select(Customer).where(Customer.org_id == dutch_org)))
        assert len(customers) == 12  # the Dutch creditor's dozen; the Belgian one (demo-be) has its own
        assert {c.kind for c in customers} == {"business", "consumer"}
        assert {c.locale for c in customers} == {"nl", "en"}
        belgian = s.scalar(select(Organisation).where(Organisation.slug == "demo-be"))
        assert belgian is not None and belgian.country == "BE"
        assert s.scalar(select(func.count()).select_from(Customer).where(Customer.org_id == belgian.id)) >= 3
        assert s.scalar(select(func.count()).select_from(Invoice)) >= 12
        statuses = set(s.scalars(select(Invoice.status)))
        steps = set(s.scalars(select(Invoice.dunning_step)))
        assert {"open", "in_collection"} <= statuses and len(steps) >= 4
    engine.dispose()
    assert (tmp_path / "demo.secret").exists()


def test_org_create_takes_the_creditors_country(scratch_database: Any) -> None:
    url = scratch_database()
    env = _env(url)
    assert run("org", "create", "--name", "Brouwerij Gent", "--country", "BE", env=env).returncode == 0
    assert run("org", "create", "--name", "Bakkerij Delft", env=env).returncode == 0
    refused = run("org", "create", "--name", "Elders", "--country", "DE", env=env)
    assert refused.returncode == 2 and "--country" in refused.stderr
    engine = make_engine(url)
    with make_sessionmaker(engine)() as s:
        countries = dict(s.execute(select(Organisation.slug, Organisation.country)).all())
    engine.dispose()
    assert countries == {"brouwerij-gent": "BE", "bakkerij-delft": "NL"}
