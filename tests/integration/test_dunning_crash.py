"""The real ``settle run`` killed in the middle of sending, and two of them at once.

Every planned message must reach the mail server exactly once across the runs:
nothing lost, nothing twice. The crash tests run against an SQLite file and, when
SETTLE_TEST_DATABASE_URL points at PostgreSQL, against a scratch PostgreSQL
database as well.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adapters import migrate
from adapters.db import make_engine, make_sessionmaker
from domain.models import DunningAction, OutboxMessage
from tests.integration import dunning_helpers as h

AS_OF = dt.date(2026, 6, 1)
# Each customer has two invoices, cycling through 7, 14 and 40 days overdue: reminders,
# statement reminders and formal notices (with letters and skipped steps) in one run.
OVERDUE = (7, 14, 40)
STEPS_REACHED = {7: 1, 14: 2, 40: 5}  # actions (planned + skipped) per invoice


@pytest.fixture(params=["sqlite", "postgresql"])
def run_database(
    request: pytest.FixtureRequest, tmp_path: Path, on_postgres: bool, scratch_database: Callable[[], str]
) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'crash.db'}"
    if not on_postgres:
        pytest.skip("PostgreSQL: set SETTLE_TEST_DATABASE_URL to a PostgreSQL database")
    return scratch_database()


def seed(url: str, customers: int, overdue: tuple[int, ...] = OVERDUE) -> h.Seeded:
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            return h.seed_due(session, customers, AS_OF, invoices_each=2, overdue_days=overdue)
    finally:
        engine.dispose()


@dataclass
class After:
    by_status: dict[str, int]  # e-mail outbox rows by status
    emails: set[str]  # ids of every e-mail planned
    per_invoice: Counter[str]  # dunning actions per invoice
    doubled: list[Any]  # (invoice, step) pairs with more than one action


def inspect(url: str) -> After:
    """What the database says after the runs."""
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            by_status = dict(
                s.execute(
                    select(OutboxMessage.status, func.count())
                    .where(OutboxMessage.channel == "email")
                    .group_by(OutboxMessage.status)
                ).all()
            )
            emails = set(s.scalars(select(OutboxMessage.id).where(OutboxMessage.channel == "email")))
            per_invoice = Counter(s.scalars(select(DunningAction.invoice_id)))
            doubled = s.execute(
                select(DunningAction.invoice_id, DunningAction.step_key)
                .group_by(DunningAction.invoice_id, DunningAction.step_key)
                .having(func.count() > 1)
            ).all()
            return After({str(k): int(v) for k, v in by_status.items()}, emails, per_invoice, list(doubled))
    finally:
        engine.dispose()


def expected_actions(seeded: h.Seeded, overdue: tuple[int, ...] = OVERDUE) -> int:
    return sum(STEPS_REACHED[overdue[k % len(overdue)]] for k in range(len(seeded.invoice_ids)))


@pytest.mark.parametrize("kill_at", [1, 5], ids=["before-first-delivery", "mid-delivery"])
def test_kill_9_while_sending_loses_nothing_and_sends_nothing_twice(run_database: str, kill_at: int) -> None:
    customers = 12
    seeded = seed(run_database, customers)
    with h.SmtpServer() as smtp:
        env = h.cli_env(run_database, smtp.url)
        running: list[subprocess.Popen[str]] = []

        def kill_before_answering(n: int) -> str | None:
            if n != kill_at:
                return None
            proc = running[0]
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)  # dead before it could hear any answer
            return "451 4.3.0 sender gone"

        smtp.handler.on_data = kill_before_answering
        proc = h.start_settle_run(env, "--as-of", AS_OF.isoformat())
        running.append(proc)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == -signal.SIGKILL, (out, err)

        crashed = inspect(run_database)
        # Planning committed before delivery began; what was accepted before the kill is marked sent.
        expected = {"sent": kill_at - 1, "pending": customers - kill_at + 1}
        assert crashed.by_status == {k: v for k, v in expected.items() if v}
        assert len(smtp.handler.received) == kill_at - 1

        smtp.handler.on_data = None
        again = h.settle_run(env, "--as-of", AS_OF.isoformat())
        assert again.returncode == 0, again.stderr
        assert f"{customers - kill_at + 1} delivered" in again.stdout

    after = inspect(run_database)
    received = Counter(smtp.handler.settle_ids())
    assert set(received) == after.emails and len(received) == customers
    assert max(received.values()) == 1
    assert after.by_status == {"sent": customers}
    assert sum(after.per_invoice.values()) == expected_actions(seeded)
    assert after.doubled == []
    rcpts = sorted(r for rs, _ in smtp.handler.received for r in rs)
    assert rcpts == sorted(f"debtor{c:04d}@example.com" for c in range(customers))


def _runs_at_once(
    url: str,
    customers: int,
    tmp_path: Path,
    *,
    runs: int = 2,
    overdue: tuple[int, ...] = (40, 40, 14, 14, 7, 7),
    invoices_each: int = 2,
) -> None:
    """``runs`` real ``settle run`` processes started at once: every customer gets exactly one
    message (a debtor never gets two reminders from one morning), nothing is lost, nothing is
    sent twice, and every due invoice has exactly the actions its lateness calls for."""
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            seeded = h.seed_due(session, customers, AS_OF, invoices_each=invoices_each, overdue_days=overdue)
    finally:
        engine.dispose()
    boxes = [h.Mailbox(tmp_path / f"outbox-{i}") for i in range(runs)]
    procs = [h.start_settle_run(h.cli_env(url, f"file:{box.folder}"), "--as-of", AS_OF.isoformat()) for box in boxes]
    results: list[tuple[int | None, str, str]] = []
    for p in procs:
        try:
            out, err = p.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
        results.append((p.returncode, out, err))
    assert [r[0] for r in results] == [0] * runs, results

    after = inspect(url)
    ids = [box.ids() for box in boxes]
    for i in range(runs):
        for j in range(i + 1, runs):
            assert ids[i].isdisjoint(ids[j])  # no message written by two runs
    assert set().union(*ids) == after.emails
    assert after.by_status == {"sent": len(after.emails)}
    # Every customer was reminded, by exactly one message.
    sent_to = Counter(str(m["To"]) for box in boxes for m in box.messages())
    assert set(sent_to) == {f"debtor{c:04d}@example.com" for c in range(customers)}
    assert max(sent_to.values()) == 1
    assert len(after.emails) == customers
    # Each invoice has exactly the actions its lateness calls for: each (invoice, step) once.
    assert after.doubled == []
    assert len(after.per_invoice) == len(seeded.invoice_ids)
    assert sum(after.per_invoice.values()) == sum(
        STEPS_REACHED[overdue[k % len(overdue)]] for k in range(len(seeded.invoice_ids))
    )


def test_two_runs_at_once_on_postgresql_do_everything_exactly_once(
    on_postgres: bool, scratch_database: Callable[[], str], tmp_path: Path
) -> None:
    if not on_postgres:
        pytest.skip("concurrent claiming (FOR UPDATE SKIP LOCKED) needs PostgreSQL: set SETTLE_TEST_DATABASE_URL")
    # A customer's invoices are equally late here, so that a planning batch (500 invoices, the
    # most overdue first) ends between a customer's invoices: the claim is per customer all the same.
    _runs_at_once(scratch_database(), 300, tmp_path)


def test_four_runs_at_once_each_customer_gets_exactly_one_message(run_database: str, tmp_path: Path) -> None:
    # Three due invoices per customer, falling due on different days: the walk over the due
    # invoices meets each customer three times, in different batches; it is planned once.
    _runs_at_once(run_database, 300, tmp_path, runs=4, overdue=(40, 14, 7), invoices_each=3)


def test_a_run_started_while_another_delivers_shares_the_outbox_on_postgresql(
    on_postgres: bool, scratch_database: Callable[[], str]
) -> None:
    """Run B starts while run A waits for the mail server's answer on a message (holding its
    row lock). B must deliver other pending messages meanwhile, skip the one A holds, and
    together they send each message once."""
    if not on_postgres:
        pytest.skip("concurrent delivery (FOR UPDATE SKIP LOCKED) needs PostgreSQL: set SETTLE_TEST_DATABASE_URL")
    url = scratch_database()
    customers = 40
    seed(url, customers)
    b_delivered = threading.Event()
    started: list[subprocess.Popen[str]] = []
    with h.SmtpServer() as server_a, h.SmtpServer() as server_b:

        def start_b_and_hold(n: int) -> None:
            if n == 3:
                started.append(h.start_settle_run(h.cli_env(url, server_b.url), "--as-of", AS_OF.isoformat()))
                b_delivered.wait(timeout=60)

        server_a.handler.on_data = start_b_and_hold
        server_b.handler.on_data = lambda n: b_delivered.set()
        a = h.settle_run(h.cli_env(url, server_a.url), "--as-of", AS_OF.isoformat())
        b_out, b_err = started[0].communicate(timeout=120)
    assert a.returncode == 0 and started[0].returncode == 0, (a.stderr, b_err)
    assert b_delivered.is_set(), "run B delivered nothing while run A was busy"
    via_a, via_b = Counter(server_a.handler.settle_ids()), Counter(server_b.handler.settle_ids())
    assert set(via_a).isdisjoint(via_b)
    assert max((via_a + via_b).values()) == 1
    assert set(via_a) | set(via_b) == inspect(url).emails
    assert len(via_a) >= 3 and len(via_b) >= 1
    assert f"{len(via_b)} delivered" in b_out


def test_two_runs_at_once_on_sqlite_take_turns_and_do_everything_exactly_once(tmp_path: Path) -> None:
    # One writer at a time: the runs take turns planning, batch by batch, and share the delivery.
    _runs_at_once(f"sqlite:///{tmp_path / 'concurrent.db'}", 120, tmp_path)


def test_kill_9_inside_a_delivery_batch_the_next_run_sends_only_the_rest(run_database: str) -> None:
    """Batches of eight: the run is killed while the server holds the fourth message of the second
    batch, after accepting the three before it. Those (and the first batch) were recorded one by
    one; the next run sends the rest, each once."""
    customers, kill_at = 30, 12
    seed(run_database, customers)
    with h.SmtpServer() as smtp:
        env = {**h.cli_env(run_database, smtp.url), "SETTLE_DELIVERY_BATCH": "8"}
        running: list[subprocess.Popen[str]] = []

        def kill_before_answering(n: int) -> str | None:
            if n != kill_at:
                return None
            os.kill(running[0].pid, signal.SIGKILL)
            running[0].wait(timeout=30)
            return "451 4.3.0 sender gone"

        smtp.handler.on_data = kill_before_answering
        running.append(h.start_settle_run(env, "--as-of", AS_OF.isoformat()))
        running[0].communicate(timeout=120)
        assert running[0].returncode == -signal.SIGKILL

        crashed = inspect(run_database)
        assert crashed.by_status == {"sent": kill_at - 1, "pending": customers - kill_at + 1}
        assert len(smtp.handler.received) == kill_at - 1

        smtp.handler.on_data = None
        again = h.settle_run(env, "--as-of", AS_OF.isoformat())
        assert again.returncode == 0, again.stderr
        assert f"{customers - kill_at + 1} delivered" in again.stdout

    received = Counter(smtp.handler.settle_ids())
    after = inspect(run_database)
    assert set(received) == after.emails and len(received) == customers and max(received.values()) == 1
    assert after.by_status == {"sent": customers}
