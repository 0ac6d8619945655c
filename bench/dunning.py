"""How long a dunning run takes, next to the set-based SQL that does the same bookkeeping.

    .venv/bin/python bench/dunning.py                      # SQLite, 1,000,000 invoices, 100,000 due
    .venv/bin/python bench/dunning.py --invoices 100000 --due 10000
    .venv/bin/python bench/dunning.py --database-url postgresql+psycopg://postgres@127.0.0.1/settle_bench

The database (a fresh SQLite file in a temporary folder by default; an *empty*
PostgreSQL database, or any database with ``--reset``) is migrated and filled
with one organisation, ``--customers`` debtors and ``--invoices`` invoices in a
few set-based statements: ``--due`` invoices have reached their first reminder
on the run's date, half of the rest are paid and the other half are open but
not yet due. Then, timed:

1. the set-based baseline: one INSERT … SELECT of an outbox row per customer
   with due invoices, one INSERT … SELECT of the due invoices into
   ``dunning_actions``, one UPDATE of their ``next_action_on``; rolled back;
2. ``settle run`` in-process (``settle.scheduler.run``): claim, plan and write
   into the outbox, render, and deliver every message to a ``file:`` sink;
3. the second baseline: the same rendered messages sent straight to a ``file:``
   sink in one loop;
4. the set-based SQL and ``settle run`` again with nothing left due.

Three ratios: planning (claim + plan + write, no rendering; the engine's own
stage timer) against the set-based SQL (target 3x); the whole run against the
SQL plus the straight sending (target 2x), so what the run adds over the
bookkeeping and the I/O it cannot avoid is rendering, signing links, events and
the per-message record of what the sink accepted; and the run with nothing due
(target 0.2 s). Peak memory is the process's maximum resident set size
(``ru_maxrss``); the seeding is SQL, so what grows during the run is the run's
own, and it should not grow with ``--due``: a run keeps one batch and counts in
memory, not its plan.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Connection, Engine, func, inspect, select, text
from sqlalchemy.orm import Session

from adapters import migrate
from adapters.db import make_engine
from adapters.mail import FileTransport
from adapters.settings import Settings, normalize_database_url
from domain import organisations
from domain.models import Base, DunningAction, OutboxMessage, Policy
from settle import scheduler

AS_OF = dt.date(2026, 6, 1)
NOW = dt.datetime(2026, 6, 1, 6, 0, tzinfo=dt.UTC)


class Dialect:
    """The few spellings that differ between SQLite and PostgreSQL."""

    def __init__(self, name: str) -> None:
        self.pg = name == "postgresql"

    def series(self, count: str) -> tuple[str, str]:
        """(prefix, FROM source) yielding integers ``n`` from 0 to ``count`` - 1."""
        if self.pg:
            return "", f"generate_series(0, {count} - 1) AS s(n)"
        return f"WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n + 1 < {count}) ", "seq"

    def pad(self, expr: str, width: int) -> str:
        return f"lpad(({expr})::text, {width}, '0')" if self.pg else f"printf('%0{width}d', {expr})"

    def day(self, expr: str) -> str:
        """``:as_of`` plus ``expr`` days, as the column type stores it."""
        return f"(CAST(:as_of AS date) + ({expr}))" if self.pg else f"date(:as_of, ({expr}) || ' days')"

    def plus_days(self, column: str, days: int) -> str:
        return f"({column} + {days})" if self.pg else f"date({column}, '{days:+d} days')"

    def as_of(self) -> Any:
        return AS_OF if self.pg else AS_OF.isoformat()

    def now(self) -> Any:
        # SQLite keeps UTC timestamps without an offset (see domain.models.UTCDateTime).
        return NOW if self.pg else NOW.replace(tzinfo=None).isoformat(sep=" ")


def prepare(url: str, reset: bool) -> None:
    engine = make_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
        if tables - {"alembic_version"}:
            if not reset:
                sys.exit(f"bench: {url} is not empty; point --database-url at an empty database or pass --reset")
            with engine.begin() as conn:
                Base.metadata.drop_all(conn)
                conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    finally:
        engine.dispose()
    migrate.upgrade(url)


def seed(engine: Engine, d: Dialect, *, invoices: int, due: int, customers: int) -> tuple[str, int]:
    """One organisation with the default policy; customers and invoices in three statements."""
    with Session(engine) as session:
        org, _ = organisations.create(session, "Bench Creditor BV", "bench")
        org.iban = "NL91ABNA0417164300"
        session.commit()
        org_id = org.id
        policy_id = session.scalar(select(Policy.id).where(Policy.org_id == org_id, Policy.is_default))
    params = {"org": org_id, "policy": policy_id, "now": d.now(), "as_of": d.as_of()}
    with engine.begin() as conn:
        with_, source = d.series(str(customers))
        conn.execute(
            text(
                f"{with_}INSERT INTO customers (id, org_id, external_ref, name, email, kind, locale, link_version,"
                " created_at, updated_at) "
                f"SELECT 'cus_b' || {d.pad('n', 11)}, :org, 'D' || {d.pad('n', 8)}, 'Debtor ' || n,"
                " 'debtor' || n || '@example.com', 'business', CASE WHEN n % 2 = 0 THEN 'nl' ELSE 'en' END, 1,"
                f" :now, :now FROM {source}"
            ),
            params,
        )
        # n < due: reached the first reminder (due 7 to 13 days ago). Of the rest, even n are paid
        # and odd n are open but not due before the run (their reminder falls after AS_OF).
        is_due = f"n < {due}"
        due_date = d.day(
            f"CASE WHEN {is_due} THEN -(7 + n % 7) WHEN n % 2 = 0 THEN -(30 + n % 300) ELSE -6 + n % 60 END"
        )
        with_, source = d.series(str(invoices))
        conn.execute(
            text(
                f"{with_}INSERT INTO invoices (id, org_id, customer_id, number, issue_date, due_date, currency,"
                " amount_cents, open_cents, status, paid_on, policy_id, dunning_step, dunning_anchor,"
                " next_action_on, fees_cents, costs_cents, interest_cents, created_at, updated_at) "
                f"SELECT id, :org, customer_id, number, {d.plus_days('due_date', -30)}, due_date, 'EUR',"
                " amount, CASE WHEN status = 'paid' THEN 0 ELSE amount END, status,"
                " CASE WHEN status = 'paid' THEN due_date END, :policy, 0, due_date,"
                f" CASE WHEN status = 'open' THEN {d.plus_days('due_date', 7)} END, 0, 0, 0, :now, :now "
                f"FROM (SELECT 'inv_b' || {d.pad('n', 11)} AS id, 'cus_b' || {d.pad(f'n % {customers}', 11)}"
                f" AS customer_id, 'INV-' || {d.pad('n', 8)} AS number, {due_date} AS due_date,"
                f" 5000 + (CAST(n AS bigint) * 7919) % 200000 AS amount,"
                f" CASE WHEN {is_due} OR n % 2 = 1 THEN 'open' ELSE 'paid' END AS status FROM {source}) AS g"
            ),
            params,
        )
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.execute(text("ANALYZE"))
    return org_id, customers


def baseline(engine: Engine, d: Dialect) -> tuple[float, list[int]]:
    """The run's bookkeeping as three set-based statements; timed and rolled back."""
    due = "status = 'open' AND next_action_on <= :as_of"
    statements = [
        "INSERT INTO outbox_messages (id, org_id, customer_id, channel, kind, status, to_address, subject,"
        " attempts, created_at) "
        "SELECT 'msg_b' || c.id, c.org_id, c.id, 'email', 'reminder', 'pending', c.email, 'Herinnering', 0, :now "
        f"FROM customers c WHERE c.id IN (SELECT customer_id FROM invoices WHERE {due})",
        "INSERT INTO dunning_actions (id, org_id, invoice_id, customer_id, step_key, step_kind, status, planned_on,"
        " message_id, created_at) "
        "SELECT 'act_b' || i.id, i.org_id, i.id, i.customer_id, '1:reminder', 'reminder', 'planned', :as_of,"
        f" 'msg_b' || i.customer_id, :now FROM invoices i WHERE {due}",
        f"UPDATE invoices SET dunning_step = 1, next_action_on = {d.plus_days('dunning_anchor', 14)} WHERE {due}",
    ]
    params = {"as_of": d.as_of(), "now": d.now()}
    with engine.connect() as conn:
        trans = conn.begin()
        start = time.perf_counter()
        counts = [conn.execute(text(sql), params).rowcount for sql in statements]
        elapsed = time.perf_counter() - start
        trans.rollback()
    if d.pg:
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.execute(text("VACUUM ANALYZE invoices, outbox_messages, dunning_actions"))
    return elapsed, counts


def sink_baseline(engine: Engine, folder: Path, page: int = 1000) -> float:
    """The second baseline: the run's rendered messages sent straight to a ``file:`` sink of the
    same kind, in one loop (read a page, send each); only the sending is timed."""
    transport = FileTransport(folder)
    elapsed = 0.0
    after = ""
    msg = OutboxMessage
    with engine.connect() as conn:
        while True:
            rows = conn.execute(
                select(msg.id, msg.to_address, msg.subject, msg.body_text, msg.body_html)
                .where(msg.status == "sent", msg.channel == "email", msg.id > after)
                .order_by(msg.id)
                .limit(page)
            ).all()
            if not rows:
                return elapsed
            after = rows[-1][0]
            start = time.perf_counter()
            for mid, to, subject, body_text, body_html in rows:
                transport.send(message_id=mid, sender="debiteuren@bench.example", to=to or "", subject=subject or "",
                               text=body_text or "", html=body_html or "")  # fmt: skip
            elapsed += time.perf_counter() - start


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def scalar(conn: Connection, stmt: Any) -> int:
    return int(conn.execute(stmt).scalar() or 0)


def clone(url: str, engine: Engine, suffix: str) -> str:
    """A copy of the seeded database (SQLite: the file; PostgreSQL: CREATE DATABASE … TEMPLATE), so a
    run of several processes starts from exactly what the single run started from."""
    if url.startswith("sqlite"):
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        source = Path(url.split("///", 1)[1])
        target = source.with_name(f"{source.stem}-{suffix}.db")
        shutil.copyfile(source, target)
        return f"sqlite:///{target}"
    engine.dispose()
    base, name = url.rsplit("/", 1)
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}_{suffix}"'))
        conn.execute(text(f'CREATE DATABASE "{name}_{suffix}" TEMPLATE "{name}"'))
    admin.dispose()
    return f"{base}/{name}_{suffix}"


def drop_clone(url: str) -> None:
    if url.startswith("sqlite"):
        return
    admin = make_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


def processes(url: str, n: int, outbox: Path) -> tuple[float, float, int]:
    """``n`` ``settle run`` processes started at once on ``url``: wall seconds, their CPU seconds,
    and the messages sent."""
    import os
    import subprocess

    settle = Path(sys.executable).with_name("settle")
    env = {**os.environ, "SETTLE_DATABASE_URL": url, "SETTLE_SECRET_KEYS": "bench-secret-key",
           "SETTLE_BASE_URL": "https://pay.bench.example", "SETTLE_MAIL_URL": f"file:{outbox}",
           "SETTLE_MAIL_FROM": "debiteuren@bench.example"}  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    runs = [subprocess.Popen([str(settle), "run", "--as-of", AS_OF.isoformat()], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(n)]  # fmt: skip
    for run in runs:
        _, err = run.communicate(timeout=1800)
        if run.returncode != 0:
            sys.exit(f"bench: settle run failed: {err.decode()[-2000:]}")
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    engine = make_engine(url)
    with engine.connect() as conn:
        sent = scalar(conn, select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sent"))
    engine.dispose()
    return wall, cpu, int(sent)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file in a temporary folder")
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=None, help="default: invoices / 10")
    parser.add_argument("--reset", action="store_true", help="empty a database that is not empty first")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (SQLite file, outbox)")
    parser.add_argument("--concurrent", type=int, default=0, metavar="N",
                        help="also time N `settle run` processes started at once against one, on copies of the "
                             "seeded database (target: N runs in <= 0.7x the time of one)")  # fmt: skip
    args = parser.parse_args(argv)
    customers = args.customers or max(1, args.invoices // 10)
    if not 0 <= args.due <= args.invoices:
        parser.error("--due must be between 0 and --invoices")
    if args.due > customers * 1_000:
        parser.error("too few customers for that many due invoices")

    work = Path(tempfile.mkdtemp(prefix="settle-bench-"))
    url = normalize_database_url(args.database_url or f"sqlite:///{work / 'bench.db'}")
    d = Dialect(url.split(":", 1)[0].split("+", 1)[0])
    outbox = work / "outbox"
    try:
        prepare(url, args.reset)
        engine = make_engine(url)
        seed_s, _ = timed(lambda: seed(engine, d, invoices=args.invoices, due=args.due, customers=customers))
        print(
            f"seeded {args.invoices:,} invoices ({args.due:,} due) for {customers:,} customers in {seed_s:.1f} s",
            file=sys.stderr,
            flush=True,
        )

        copies: list[str] = []
        if args.concurrent:
            copies = [clone(url, engine, "one"), clone(url, engine, "many")]
            engine = make_engine(url)
        settings = Settings(
            database_url=url,
            secret_keys=("bench-secret-key",),
            base_url="https://pay.bench.example",
            mail_url=f"file:{outbox}",
            mail_from="debiteuren@bench.example",
        )
        base_due_s, base_counts = baseline(engine, d)
        rss_before = rss_mb()
        run_s, summary = timed(lambda: scheduler.run(engine, settings, as_of=AS_OF))
        rss_run = rss_mb()
        sink_s = sink_baseline(engine, work / "sink")
        base_none_s, none_counts = baseline(engine, d)
        idle_s, idle = timed(lambda: scheduler.run(engine, settings, as_of=AS_OF))
        rss_idle = rss_mb()

        with engine.connect() as conn:
            actions = scalar(conn, select(func.count()).select_from(DunningAction))
            sent = scalar(conn, select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sent"))
        files = len(list(outbox.glob("*.eml")))
        engine.dispose()
        concurrent: tuple[tuple[float, float, int], tuple[float, float, int]] | None = None
        if copies:
            one = processes(copies[0], 1, work / "outbox-one")
            many = processes(copies[1], args.concurrent, work / "outbox-many")
            concurrent = (one, many)
    finally:
        for copy in locals().get("copies", []):
            drop_clone(copy)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    problems = []
    if actions != args.due:
        problems.append(f"{actions} dunning actions for {args.due} due invoices")
    if not (sent == files == summary.delivered == base_counts[0]):
        problems.append(f"{sent} sent, {files} files, {summary.delivered} delivered, {base_counts[0]} customers due")
    if idle.examined or idle.delivered or any(none_counts):
        problems.append("the second run found something to do")

    def ratio(a: float, b: float) -> str:
        return f"{a / b:,.1f}x" if b > 0 else "-"

    name = "postgresql" if d.pg else "sqlite"
    planning_s, deliver_s = summary.seconds["plan"], summary.seconds["deliver"]
    bound2 = base_due_s + sink_s
    print(f"== dunning bench: {name}, {args.invoices:,} invoices, {args.due:,} due, {customers:,} customers")
    print(f"{'':34}{'settle run':>12}{'baseline':>12}{'ratio':>8}{'target':>8}")
    print(
        f"{'planning (claim, plan, write)':34}{planning_s:>10.2f} s{base_due_s:>10.3f} s"
        f"{ratio(planning_s, base_due_s):>8}{'<= 3x':>8}   baseline: set-based SQL"
    )
    print(
        f"{'whole run':34}{run_s:>10.2f} s{bound2:>10.3f} s{ratio(run_s, bound2):>8}{'<= 2x':>8}"
        f"   baseline: SQL + {sink_s:.2f} s sending the rendered mail to the sink in one loop"
    )
    print(f"{'run, nothing due':34}{idle_s:>10.3f} s{base_none_s:>10.4f} s{'':>8}{'<= 0.2 s':>8}")
    print(
        f"stages                            plan {planning_s:.2f} s, render {summary.seconds['render']:.2f} s,"
        f" deliver {deliver_s:.2f} s ({deliver_s / max(summary.delivered, 1) * 1e3:.2f} ms per message)"
    )
    print(
        f"per due invoice                   {run_s / max(args.due, 1) * 1e3:>6.2f} ms"
        f"   ({summary.messages:,} messages, {summary.delivered:,} delivered, {actions:,} actions)"
    )
    print(
        f"peak RSS                          {rss_run:>6.0f} MB   (before the run {rss_before:.0f} MB,"
        f" after the idle run {rss_idle:.0f} MB)"
    )
    print(f"seed                              {seed_s:>6.1f} s")
    if concurrent:
        (one_s, one_cpu, one_sent), (many_s, many_cpu, many_sent) = concurrent
        print(
            f"{args.concurrent} runs at once vs one          {many_s:>6.2f} s vs {one_s:.2f} s = {ratio(many_s, one_s)}"
            f" (target <= 0.7x); CPU of the runs {many_cpu:.1f} s vs {one_cpu:.1f} s, the rest is the database"
        )
        if not many_sent == one_sent == base_counts[0]:
            problems.append(f"{many_sent} sent by {args.concurrent} runs, {one_sent} by one, {base_counts[0]} due")
    for p in problems:
        print(f"PROBLEM: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
