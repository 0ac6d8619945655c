"""How long reconciling a bank statement takes, next to parsing the same file alone.

    .venv/bin/python bench/reconcile.py                       # SQLite: 100,000 lines, 1,000,000 open invoices
    .venv/bin/python bench/reconcile.py --lines 10000 --invoices 100000
    .venv/bin/python bench/reconcile.py --database-url postgresql+psycopg://postgres@127.0.0.1/settle_bench

The database (a fresh SQLite file by default, or an empty PostgreSQL database)
is migrated and filled with one organisation, ``--invoices // 10`` customers and
``--invoices`` open invoices, each with a valid betalingskenmerk. A single MT940
file of ``--lines`` credits is written: 50% carry an invoice's payment
reference, 25% name an invoice number in free text, 15% come from a known IBAN
with the exact open amount, 10% match nothing. Then, timed: parsing the file
alone (the baseline), and ``domain.reconcile.import_statement`` in one
transaction (parse, store every line, match, register payments, allocate).
Peak memory is the process's maximum resident set size.

The SQL bound is what the database alone needs for the same work: the import is
run once with every statement the driver is given recorded (SQL, parameters,
executemany or not) and rolled back; the recording is then replayed on a raw
DBAPI connection (the same lookups, their rows fetched as tuples, the same
multi-row inserts and executemany updates, no ORM and no Python matching) and
rolled back; then the import is timed for real. ``ratio to SQL`` is the import's
time (parsing included, commit excluded) over the replay's; the commit is shown
apart. The bound is only honest for set-based SQL, so the statement count is
printed next to it: a query per line would show as thousands of statements.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, event, insert, text

from adapters import migrate
from adapters.db import make_engine, make_sessionmaker
from adapters.settings import normalize_database_url
from domain import organisations
from domain.bank import parse_statement
from domain.ids import new_id
from domain.models import Customer, CustomerBankAccount, Invoice, Organisation
from domain.payment_reference import generate_betalingskenmerk
from domain.reconcile import import_statement

DUE = dt.date(2026, 5, 1)


def seed(url: str, n_invoices: int) -> tuple[str, list[tuple[str, str, int, str]]]:
    """The organisation id and, per invoice: (number, reference, cents, customer iban)."""
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    with factory() as s:
        org, _ = organisations.create(s, "Bench B.V.", "bench")
        s.commit()
        org_id = org.id
    n_customers = max(1, n_invoices // 10)
    customers = [(new_id("cus"), f"NL{10 + i % 89:02d}BENC{i:010d}") for i in range(n_customers)]
    rows: list[tuple[str, str, int, str]] = []
    with engine.begin() as conn:
        conn.execute(insert(Customer), [
            {"id": cid, "org_id": org_id, "name": f"Debtor {i}", "kind": "business", "locale": "nl",
             "link_version": 1, "created_at": dt.datetime.now(dt.UTC), "updated_at": dt.datetime.now(dt.UTC)}
            for i, (cid, _) in enumerate(customers)
        ])
        conn.execute(insert(CustomerBankAccount), [
            {"id": new_id("cba"), "org_id": org_id, "customer_id": cid, "iban": iban,
             "created_at": dt.datetime.now(dt.UTC)} for cid, iban in customers
        ])
        batch = []
        for i in range(n_invoices):
            cid, iban = customers[i % n_customers]
            cents = 1000 + (i * 7919) % 500_000
            number, ref = f"INV-{i:07d}", generate_betalingskenmerk(10**9 + i)
            rows.append((number, ref, cents, iban))
            batch.append({
                "id": new_id("inv"), "org_id": org_id, "customer_id": cid, "number": number,
                "issue_date": DUE - dt.timedelta(days=30), "due_date": DUE, "currency": "EUR",
                "amount_cents": cents, "open_cents": cents, "status": "open", "payment_reference": ref,
                "dunning_step": 0, "fees_cents": 0, "costs_cents": 0, "interest_cents": 0,
                "next_action_on": DUE + dt.timedelta(days=7), "created_at": dt.datetime.now(dt.UTC),
                "updated_at": dt.datetime.now(dt.UTC),
            })
            if len(batch) == 20_000:
                conn.execute(insert(Invoice), batch)
                batch = []
        if batch:
            conn.execute(insert(Invoice), batch)
    with engine.begin() as conn:
        # A database in use has its statistics (autovacuum keeps them); a freshly bulk-loaded one
        # has none, and PostgreSQL then plans the IN lookups as scans of every invoice.
        conn.execute(text("ANALYZE"))
    engine.dispose()
    return org_id, rows


def statement(rows: list[tuple[str, str, int, str]], n_lines: int) -> bytes:
    rnd = random.Random(7)
    picks = rnd.sample(range(len(rows)), min(n_lines, len(rows)))
    out = [":20:BENCH", ":25:NL91ABNA0417164300", ":28C:1/1", ":60F:C260601EUR0,00"]
    total = 0
    for k, idx in enumerate(picks):
        number, ref, cents, iban = rows[idx]
        kind = k % 20
        if kind < 10:
            info = f"/EREF/NOTPROVIDED/REMI/USTD//{ref}/NAME/Debtor/IBAN/NL02ABNA0{k:09d}"
        elif kind < 15:
            info = f"/REMI/USTD//betaling factuur {number} dank u/NAME/Debtor/IBAN/NL02ABNA0{k:09d}"
        elif kind < 18:
            info = f"/REMI/USTD//zie bijlage/NAME/Debtor/IBAN/{iban}"
        else:
            info = f"/REMI/USTD//onbekend {k}/NAME/Someone/IBAN/NL02ABNA0{k:09d}"
        out.append(f":61:2606010601C{cents // 100},{cents % 100:02d}NTRFNONREF")
        out.append(f":86:{info}")
        total += cents
    out.append(f":62F:C260601EUR{total // 100},{total % 100:02d}")
    return ("\n".join(out) + "\n-\n").encode()


class Recorder:
    """Every statement the driver is given: (SQL, parameters, executemany)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, bool]] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        # A page of an "insertmanyvalues" INSERT comes with the flag of its executemany but is
        # sent as one execute of a multi-row statement; only a list of parameter sets is executemany.
        self.calls.append((statement, parameters, many and isinstance(parameters, list)))


def record_import(engine: Engine, org_id: str, data: bytes) -> Recorder:
    """The statements of one import, which is then rolled back."""
    recorder = Recorder()
    event.listen(engine, "before_cursor_execute", recorder)
    try:
        with make_sessionmaker(engine, writer=True)() as session:
            import_statement(session, session.get_one(Organisation, org_id), data, "bench.sta")
            session.flush()
            session.rollback()
    finally:
        event.remove(engine, "before_cursor_execute", recorder)
    recorder.calls = [c for c in recorder.calls if c[0].strip().split()[0].upper() not in _TX]
    return recorder


_TX = {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"}


def replay(engine: Engine, recorder: Recorder) -> float:
    """Seconds the recorded statements take on a raw DBAPI connection, in a transaction rolled back."""
    raw = engine.raw_connection()
    sqlite = engine.dialect.name == "sqlite"
    try:
        cur = raw.cursor()
        t0 = time.perf_counter()
        if sqlite:
            cur.execute("BEGIN IMMEDIATE")
        for statement, parameters, many in recorder.calls:
            if many:
                cur.executemany(statement, parameters)
            else:
                cur.execute(statement, parameters)
            if cur.description is not None:
                cur.fetchall()
        elapsed = time.perf_counter() - t0
        if sqlite:
            cur.execute("ROLLBACK")
        else:
            raw.rollback()
    finally:
        raw.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--lines", type=int, default=100_000)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="settle-bench-")
    url = normalize_database_url(args.database_url or f"sqlite:///{os.path.join(tmp, 'bench.db')}")
    migrate.upgrade(url)
    t0 = time.perf_counter()
    org_id, rows = seed(url, args.invoices)
    seeded = time.perf_counter() - t0
    data = statement(rows, args.lines)
    del rows

    t0 = time.perf_counter()
    parsed = parse_statement(data, "bench.sta")
    parse_s = time.perf_counter() - t0
    n = sum(len(s.entries) for s in parsed)
    del parsed

    engine = make_engine(url)
    recorded = record_import(engine, org_id, data)
    sql_s = replay(engine, recorded)
    with make_sessionmaker(engine, writer=True)() as session:
        org = session.get_one(Organisation, org_id)
        t0 = time.perf_counter()
        summary = import_statement(session, org, data, "bench.sta")
        session.flush()
        import_s = time.perf_counter() - t0
        session.commit()
        commit_s = time.perf_counter() - t0 - import_s
    engine.dispose()
    statements = len(recorded.calls)
    many = sum(1 for c in recorded.calls if c[2])
    rows = sum(len(c[1]) if c[2] else 1 for c in recorded.calls)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"database        {url.split('@')[-1] if '@' in url else 'sqlite (temporary file)'}")
    size = len(data) / 1e6
    print(f"seeded          {args.invoices:,} open invoices in {seeded:.1f} s; statement {size:.1f} MB, {n:,} lines")
    print(f"parse only      {parse_s:8.2f} s   ({n / parse_s:,.0f} lines/s)   baseline")
    print(f"sql bound       {sql_s:8.2f} s   ({statements:,} statements, {many:,} executemany, {rows:,} rows)")
    ratios = f"ratio {import_s / parse_s:.1f}x to parse, {import_s / sql_s:.1f}x to SQL"
    print(f"reconcile       {import_s:8.2f} s   ({n / import_s:,.0f} lines/s)   {ratios}")
    print(f"commit          {commit_s:8.2f} s")
    left = summary.unmatched
    print(f"matched         {summary.matched:,} of {summary.credits:,} credits; {left:,} left for a person")
    print(f"peak memory     {peak_mb:,.0f} MB (max RSS of the process)")


if __name__ == "__main__":
    main()
