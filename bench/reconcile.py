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

The SQL bound is what the database alone needs for the same work, whatever the
implementation: the set-based SQL of ``bound_script`` (per batch of 500 lines one
query each for the lines already imported, open invoices by reference and by
number, the payers' IBAN owners, those payers' open invoices and the customers;
then one executemany per table for the rows the import writes, read back from a
first import that is rolled back). Its statements are recorded as the driver gets
them (SQL, parameters) in a rolled-back run and replayed, timed, on a raw DBAPI
connection: rows fetched as tuples, no ORM, no matching. ``x to SQL`` is the
import's time (parsing included, commit excluded) over the replay's; the commit
is shown apart, and the import's own statement count next to the bound's.
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
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, Table, bindparam, event, func, insert, select, text, update
from sqlalchemy.orm import Session

from adapters import migrate
from adapters.db import make_engine, make_sessionmaker
from adapters.settings import normalize_database_url
from domain import organisations
from domain.bank import parse_statement
from domain.ids import new_id
from domain.invoices import UNSETTLED
from domain.models import (
    BankStatement,
    BankTransaction,
    Customer,
    CustomerBankAccount,
    Event,
    Invoice,
    Organisation,
    Payment,
    PaymentAllocation,
)
from domain.payment_reference import generate_betalingskenmerk
from domain.reconcile import BATCH, _number_tokens, _references, import_statement

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


def record(engine: Engine, work: Callable[[Session], None]) -> Recorder:
    """The statements ``work`` gives the driver in one transaction, which is then rolled back."""
    recorder = Recorder()
    event.listen(engine, "before_cursor_execute", recorder)
    try:
        with make_sessionmaker(engine, writer=True)() as session:
            work(session)
            session.flush()
            session.rollback()
    finally:
        event.remove(engine, "before_cursor_execute", recorder)
    recorder.calls = [c for c in recorder.calls if c[0].strip().split()[0].upper() not in _TX]
    return recorder


def _table(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


def written(engine: Engine, org_id: str, data: bytes) -> dict[str, list[dict[str, Any]]]:
    """The rows one import writes (its result, not its SQL), read back before it is rolled back."""
    out: dict[str, list[dict[str, Any]]] = {}
    with make_sessionmaker(engine, writer=True)() as session:
        last_event = session.scalar(select(func.max(Event.id))) or 0
        cba = _table(CustomerBankAccount)
        known = list(session.scalars(select(cba.c.id).where(cba.c.org_id == org_id)))
        import_statement(session, session.get_one(Organisation, org_id), data, "bench.sta")
        session.flush()
        bst, btx, pay, alc = (_table(m) for m in (BankStatement, BankTransaction, Payment, PaymentAllocation))
        evt, inv = _table(Event), _table(Invoice)
        stmt_id = session.scalar(select(bst.c.id).where(bst.c.org_id == org_id, bst.c.file_name == "bench.sta"))
        mine = select(btx.c.payment_id).where(btx.c.statement_id == stmt_id)
        queries = {
            "bank_statements": select(bst).where(bst.c.id == stmt_id),
            "payments": select(pay).where(pay.c.id.in_(mine)),
            "bank_transactions": select(btx).where(btx.c.statement_id == stmt_id).order_by(btx.c.id),
            "payment_allocations": select(alc).where(alc.c.payment_id.in_(mine)),
            "customer_bank_accounts": select(cba).where(cba.c.org_id == org_id, cba.c.id.not_in(known)),
            "events": select(evt).where(evt.c.id > last_event).order_by(evt.c.id),
            "invoices": select(inv.c.id, inv.c.open_cents, inv.c.status, inv.c.paid_on, inv.c.next_action_on,
                               inv.c.paused_until, inv.c.updated_at).where(
                inv.c.id.in_(select(alc.c.invoice_id).where(alc.c.payment_id.in_(mine)))),
        }  # fmt: skip
        for name, query in queries.items():
            out[name] = [dict(r) for r in session.execute(query).mappings()]
        for row in out["events"]:
            del row["id"]
        session.rollback()
    return out


def bound_script(org_id: str, data: bytes, rows: dict[str, list[dict[str, Any]]]) -> Callable[[Session], None]:
    """The set-based SQL for the same work, whatever the implementation: per batch of lines one
    query for each lookup (lines already imported, open invoices by reference, by number, the
    payers' IBAN owners, those payers' open invoices, the customers), then one executemany per
    table for what the import wrote (its rows spread over the batches), then the invoices."""
    parsed = parse_statement(data, "bench.sta")
    batches = [s.entries[i : i + BATCH] for s in parsed for i in range(0, len(s.entries), BATCH)]
    n = max(1, len(batches))
    btx, pay, alc = _table(BankTransaction), _table(Payment), _table(PaymentAllocation)
    cba, evt, inv = _table(CustomerBankAccount), _table(Event), _table(Invoice)
    open_ = (Invoice.org_id == org_id, Invoice.status.in_(UNSETTLED), Invoice.open_cents > 0)
    cols = (Invoice.id, Invoice.customer_id, Invoice.number, Invoice.due_date, Invoice.currency,
            Invoice.open_cents, Invoice.status, Invoice.payment_reference)  # fmt: skip

    # Each written row goes with the batch of the line it comes from, so references hold.
    of: dict[str, int] = {e.dedupe_key: k for k, entries in enumerate(batches) for e in entries}
    of |= {r["id"]: of[r["dedupe_key"]] for r in rows["bank_transactions"]}
    of |= {r["payment_id"]: of[r["id"]] for r in rows["bank_transactions"] if r["payment_id"]}
    of |= {r["invoice_id"]: of[r["payment_id"]] for r in rows["payment_allocations"]}  # the last one paying it
    keys = {
        "bank_transactions": lambda r: of[r["id"]],
        "payments": lambda r: of[r["id"]],
        "payment_allocations": lambda r: of[r["payment_id"]],
        "invoices": lambda r: of[r["id"]],
        "events": lambda r: of.get(r["subject_id"] or "", of.get(r["data"].get("payment_id", ""), n - 1)),
    }
    parts: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for name, found in rows.items():
        for i, r in enumerate(found):
            key = keys[name](r) if name in keys else i * n // max(1, len(found))
            parts.setdefault((name, key), []).append(r)

    def part(name: str, k: int) -> list[dict[str, Any]]:
        return parts.get((name, k), [])

    def work(session: Session) -> None:
        conn = session.connection()
        conn.execute(insert(_table(BankStatement)), rows["bank_statements"])
        for k, entries in enumerate(batches):
            lines = [SimpleNamespace(remittance=e.remittance_text, structured_reference=e.structured_reference,
                                     end_to_end_id=e.end_to_end_id) for e in entries if e.amount_cents > 0]  # fmt: skip
            refs = set().union(*(_references(x) for x in lines))
            tokens = set().union(*(_number_tokens(x) for x in lines))
            ibans = {e.counterparty_iban for e in entries if e.counterparty_iban and e.amount_cents > 0}
            conn.execute(select(btx.c.dedupe_key).where(btx.c.org_id == org_id,
                                                        btx.c.dedupe_key.in_([e.dedupe_key for e in entries])))
            found = conn.execute(select(*cols).where(*open_, Invoice.payment_reference.in_(refs)).with_for_update())
            customers = {r.customer_id for r in found}
            found = conn.execute(select(*cols).where(*open_, Invoice.number.in_(tokens)).with_for_update())
            customers |= {r.customer_id for r in found}
            owners: dict[str, set[str]] = {}
            for iban, customer_id in conn.execute(select(cba.c.iban, cba.c.customer_id).where(
                    cba.c.org_id == org_id, cba.c.iban.in_(ibans))):
                owners.setdefault(iban, set()).add(customer_id)
            payers = {next(iter(c)) for c in owners.values() if len(c) == 1}
            conn.execute(select(*cols).where(*open_, Invoice.customer_id.in_(payers)).with_for_update()).all()
            customers |= set().union(*owners.values())
            conn.execute(select(Customer.id).where(Customer.org_id == org_id, Customer.id.in_(customers))).all()
            for table in (pay, btx, alc):
                if part(table.name, k):
                    conn.execute(insert(table), part(table.name, k))
            if part("invoices", k):
                conn.execute(update(inv).where(inv.c.id == bindparam("b_id")).values(
                    open_cents=bindparam("b_open"), status=bindparam("b_status"), paid_on=bindparam("b_paid_on"),
                    next_action_on=bindparam("b_next"), paused_until=bindparam("b_paused"),
                    updated_at=bindparam("b_updated"),
                ), [{"b_" + {"id": "id", "open_cents": "open", "status": "status", "paid_on": "paid_on",
                             "next_action_on": "next", "paused_until": "paused", "updated_at": "updated"}[c]: v
                     for c, v in r.items()} for r in part("invoices", k)])  # fmt: skip
            for table in (cba, evt):
                if part(table.name, k):
                    conn.execute(insert(table), part(table.name, k))

    return work


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
    bound = record(engine, bound_script(org_id, data, written(engine, org_id, data)))
    sql_s = replay(engine, bound)
    counted = Recorder()
    with make_sessionmaker(engine, writer=True)() as session:
        org = session.get_one(Organisation, org_id)
        event.listen(engine, "before_cursor_execute", counted)
        t0 = time.perf_counter()
        summary = import_statement(session, org, data, "bench.sta")
        session.flush()
        import_s = time.perf_counter() - t0
        event.remove(engine, "before_cursor_execute", counted)
        session.commit()
        commit_s = time.perf_counter() - t0 - import_s
    engine.dispose()
    statements = len(bound.calls)
    many = sum(1 for c in bound.calls if c[2])
    sets = sum(len(c[1]) if c[2] else 1 for c in bound.calls)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"database        {url.split('@')[-1] if '@' in url else 'sqlite (temporary file)'}")
    size = len(data) / 1e6
    print(f"seeded          {args.invoices:,} open invoices in {seeded:.1f} s; statement {size:.1f} MB, {n:,} lines")
    print(f"parse only      {parse_s:8.2f} s   ({n / parse_s:,.0f} lines/s)   baseline")
    print(f"sql bound       {sql_s:8.2f} s   ({statements:,} statements, {many:,} executemany, {sets:,} rows)")
    ratios = f"ratio {import_s / parse_s:.1f}x to parse, {import_s / sql_s:.1f}x to SQL"
    print(f"reconcile       {import_s:8.2f} s   ({n / import_s:,.0f} lines/s)   {ratios}")
    print(f"                ({len(counted.calls):,} statements of its own)")
    print(f"commit          {commit_s:8.2f} s")
    left = summary.unmatched
    print(f"matched         {summary.matched:,} of {summary.credits:,} credits; {left:,} left for a person")
    print(f"peak memory     {peak_mb:,.0f} MB (max RSS of the process)")


if __name__ == "__main__":
    main()
