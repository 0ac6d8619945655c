"""How fast invoices come in over ``POST /api/v1/invoices/bulk``, next to the database's own floor.

    .venv/bin/python bench/intake.py                                  # SQLite, 1,000 customers, 100,000 invoices
    .venv/bin/python bench/intake.py --invoices 20000 --connections 2
    .venv/bin/python bench/intake.py --database-url postgresql+psycopg://postgres@127.0.0.1/settle_intake

A fresh database (a SQLite file in a temporary folder by default; an *empty*
PostgreSQL database if given) is migrated and seeded with one creditor and
``--customers`` debtors. ``settle serve --workers 1`` is started as a
subprocess on 127.0.0.1, and ``--invoices`` invoices are posted to it in bodies
of ``--batch`` items (half of them naming the customer by id, half by
external_ref; every body with its own ``Idempotency-Key``, as a careful client
sends) over ``--connections`` keep-alive connections. Every answer must be 200
with every item created; the figure is invoices stored per second of wall time.

The floor: the same number of invoice rows, built beforehand, inserted by one
``executemany`` (a SQLAlchemy Core insert) into another fresh database of the
same kind (for PostgreSQL a scratch database next to the given one, dropped
afterwards), committed. The ratio says how much of the database's own speed the
API keeps after parsing, validating, looking up, scheduling, recording events
and answering every item. On a busy machine the wall-clock figure falls with
the CPU the server gets; the CPU time the server process used (from ``/proc``)
gives invoices per CPU second as well. Everything is on loopback and bounded in
time (``--max-seconds``). Exits non-zero if any request failed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import msgspec  # noqa: E402
from sqlalchemy import Table, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from adapters import migrate  # noqa: E402
from adapters.db import make_engine, make_sessionmaker  # noqa: E402
from adapters.settings import normalize_database_url  # noqa: E402
from domain import customers, organisations  # noqa: E402
from domain.ids import new_id  # noqa: E402
from domain.models import Customer, Invoice, Organisation, Policy, utcnow  # noqa: E402
from domain.payment_reference import generate_betalingskenmerk  # noqa: E402

SECRET = "bench-secret-key"
HOST = "127.0.0.1"
MAX_CONNECTIONS = 8
ISSUE = dt.date(2026, 3, 1)


# --- data -----------------------------------------------------------------------------


def seed(url: str, n_customers: int) -> tuple[str, list[tuple[str, str]]]:
    """One creditor and its debtors; its API key and the debtors' (id, external_ref)."""
    migrate.upgrade(url)
    engine = make_engine(url)
    out = []
    with make_sessionmaker(engine)() as s:
        org, key = organisations.create(s, "Bench Groothandel B.V.", "bench")
        for c in range(n_customers):
            customer = customers.create(s, org.id, name=f"Debiteur {c:05d} B.V.", email=f"ap{c}@example.nl",
                                        external_ref=f"DEB-{c:05d}", kind="consumer" if c % 5 == 0 else "business",
                                        payment_term_days=14 if c % 3 == 0 else None)  # fmt: skip
            out.append((customer.id, f"DEB-{c:05d}"))
        s.commit()
    engine.dispose()
    return key.key, out


def item(n: int, debtors: list[tuple[str, str]]) -> dict[str, Any]:
    customer_id, ref = debtors[n % len(debtors)]
    body: dict[str, Any] = {"number": f"F{n:08d}", "issue_date": ISSUE.isoformat(),
                            "amount": f"{100 + n % 90_000}.{n % 100:02d}", "currency": "EUR",
                            "description": f"Levering week {n % 52 + 1}"}  # fmt: skip
    if n % 2:
        body["customer_id"] = customer_id
    else:
        body["customer_external_ref"] = ref
    if n % 4 == 0:
        body["due_date"] = (ISSUE + dt.timedelta(days=30)).isoformat()
    return body


def bodies(total: int, batch: int, debtors: list[tuple[str, str]]) -> list[tuple[bytes, int]]:
    """The request bodies, encoded beforehand, with how many invoices each holds."""
    out = []
    for start in range(0, total, batch):
        items = [item(n, debtors) for n in range(start, min(total, start + batch))]
        out.append((msgspec.json.encode({"items": items}), len(items)))
    return out


# --- the server and the client ---------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def start_server(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SETTLE_DATABASE_URL": url, "SETTLE_SECRET_KEYS": SECRET, "SETTLE_SANDBOX_PAYMENTS": "1",
           "SETTLE_BASE_URL": f"http://{HOST}:{port}", "SETTLE_MAIL_URL": "file:" + tempfile.gettempdir()}
    settle = Path(sys.executable).with_name("settle")
    with log.open("wb") as out:
        return subprocess.Popen([str(settle), "serve", "--host", HOST, "--port", str(port), "--workers", "1"],
                                env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)  # fmt: skip


def wait_listening(proc: subprocess.Popen[bytes], port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            try:  # returns at once if the server died
                code = proc.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                continue
            raise RuntimeError(f"the server exited with {code} before listening on {port}") from None
    raise RuntimeError(f"nothing listens on {HOST}:{port} after {timeout:.0f} s")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used so far (Linux ``/proc``; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.created = 0
        self.failed: list[str] = []
        self.latencies: list[float] = []


def post_all(port: int, key: str, work: list[tuple[bytes, int]], connections: int, deadline: float) -> Tally:
    """Post every body over ``connections`` keep-alive connections; each answer is checked."""
    todo: queue.SimpleQueue[tuple[bytes, int]] = queue.SimpleQueue()
    for w in work:
        todo.put(w)
    tally = Tally()
    run = uuid.uuid4().hex[:8]

    def worker() -> None:
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        with httpx.Client(base_url=f"http://{HOST}:{port}", headers=headers, timeout=120.0) as client:
            while time.monotonic() < deadline:
                try:
                    body, n = todo.get_nowait()
                except queue.Empty:
                    return
                started = time.perf_counter()
                try:
                    r = client.post("/api/v1/invoices/bulk", content=body,
                                    headers={"Idempotency-Key": f"intake-{run}-{uuid.uuid4().hex}"})
                    answer = msgspec.json.decode(r.content) if r.status_code == 200 else None
                except (httpx.HTTPError, msgspec.DecodeError) as exc:
                    with tally.lock:
                        tally.failed.append(f"{type(exc).__name__}: {exc}")
                    continue
                elapsed = time.perf_counter() - started
                with tally.lock:
                    if answer is None or answer.get("created") != n or answer.get("failed") != 0:
                        detail = r.text[:300] if answer is None else str(answer.get("items", [])[:1])[:300]
                        tally.failed.append(f"HTTP {r.status_code}: {detail}")
                    else:
                        tally.created += n
                        tally.latencies.append(elapsed)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()) + 130)
    unsent = todo.qsize()
    if unsent:
        tally.failed.append(f"{unsent} bodies not sent before the time limit")
    return tally


def over_http(url: str, key: str, debtors: list[tuple[str, str]], args: argparse.Namespace,
              folder: Path) -> tuple[float, float, Tally]:  # fmt: skip
    work = bodies(args.invoices, args.batch, debtors)
    warmup = [(msgspec.json.encode({"items": [{**item(n, debtors), "number": f"W{n:08d}"} for n in range(100)]}), 100)]
    port = free_port()
    log = folder / "server.log"
    proc = start_server(url, port, log)
    try:
        wait_listening(proc, port)
        deadline = time.monotonic() + args.max_seconds
        post_all(port, key, warmup, 1, deadline)
        started, cpu = time.perf_counter(), cpu_seconds(proc.pid)
        tally = post_all(port, key, work, args.connections, deadline)
        seconds, cpu = time.perf_counter() - started, cpu_seconds(proc.pid) - cpu
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    if tally.failed:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        print("server log (last lines):\n  " + "\n  ".join(tail), file=sys.stderr)
    return seconds, cpu, tally


# --- the floor ---------------------------------------------------------------------------


def scratch_database(url: str) -> tuple[str, Any]:
    """An empty database of the same kind as ``url``, and how to drop it."""
    if not url.startswith("postgresql"):
        folder = Path(tempfile.mkdtemp(prefix="settle-bench-floor-"))
        return f"sqlite:///{folder / 'floor.db'}", lambda: shutil.rmtree(folder, ignore_errors=True)
    name = f"settle_floor_{uuid.uuid4().hex[:10]}"
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(url).set(database=name).render_as_string(hide_password=False), drop


def floor(url: str, n_customers: int, total: int) -> float:
    """Seconds to insert ``total`` invoice rows with one executemany and commit them."""
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as s:
            organisations.create(s, "Bench Groothandel B.V.", "bench")
            s.commit()
            org = s.scalars(select(Organisation)).one()
            policy_id = s.scalars(select(Policy.id).where(Policy.org_id == org.id)).one()
            now = utcnow()
            people = [{"id": new_id("cus"), "org_id": org.id, "name": f"Debiteur {c:05d} B.V.",
                       "external_ref": f"DEB-{c:05d}", "kind": "business", "locale": "nl", "link_version": 1,
                       "created_at": now, "updated_at": now} for c in range(n_customers)]  # fmt: skip
            s.execute(insert(cast(Table, Customer.__table__)), people)
            s.commit()
        due = ISSUE + dt.timedelta(days=30)
        rows = [{
            "id": new_id("inv"), "org_id": org.id, "customer_id": people[n % n_customers]["id"], "number": f"F{n:08d}",
            "issue_date": ISSUE, "due_date": due, "currency": "EUR", "amount_cents": 10_000 + n,
            "open_cents": 10_000 + n, "status": "open", "payment_reference": generate_betalingskenmerk(n),
            "description": f"Levering week {n % 52 + 1}", "pdf_url": None, "paid_on": None, "policy_id": policy_id,
            "dunning_step": 0, "dunning_anchor": due, "next_action_on": due + dt.timedelta(days=7),
            "fees_cents": 0, "costs_cents": 0, "interest_cents": 0, "created_at": now, "updated_at": now,
        } for n in range(total)]  # fmt: skip
        started = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(insert(cast(Table, Invoice.__table__)), rows)
        return time.perf_counter() - started
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000, help="invoices per request (at most 1000)")
    parser.add_argument("--connections", type=int, default=3,
                        help=f"keep-alive connections (at most {MAX_CONNECTIONS})")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="give up sending after this long")
    parser.add_argument("--database-url", default=None, help="an empty database; default: a temporary SQLite file")
    args = parser.parse_args()
    if not 1 <= args.batch <= 1000 or not 1 <= args.connections <= MAX_CONNECTIONS or args.invoices < 1:
        parser.error(f"--batch must be 1..1000, --connections 1..{MAX_CONNECTIONS}, --invoices at least 1")
    if args.customers < 1 or not 0 < args.max_seconds <= 3600:
        parser.error("--customers must be at least 1 and --max-seconds 1..3600")
    folder = Path(tempfile.mkdtemp(prefix="settle-bench-intake-"))
    try:
        url = normalize_database_url(args.database_url or f"sqlite:///{folder / 'bench.db'}")
        kind = url.split("://")[0]
        started = time.perf_counter()
        key, debtors = seed(url, args.customers)
        print(f"seeded {len(debtors)} customers on {kind} in {time.perf_counter() - started:.1f} s; "
              f"{args.invoices} invoices in bodies of {args.batch} over {args.connections} connections")
        seconds, cpu, tally = over_http(url, key, debtors, args, folder)
        http_rate = tally.created / seconds if seconds else 0.0
        lat = sorted(tally.latencies)
        p50 = lat[len(lat) // 2] * 1000 if lat else float("nan")
        p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))] * 1000 if lat else float("nan")
        print(f"  http       {http_rate:9.0f} invoices/s   {tally.created} in {seconds:.1f} s   "
              f"p50 {p50:.0f} ms   p99 {p99:.0f} ms per body   failed {len(tally.failed)}")
        if cpu > 0:  # the figure that does not depend on what else the machine runs
            unseen = "" if kind == "sqlite" else "; the database server's own CPU not counted"
            print(f"  server     {tally.created / cpu:9.0f} invoices per CPU second of the server process "
                  f"({cpu:.1f} s CPU in {seconds:.1f} s{unseen})")
        floor_url, drop = scratch_database(url)
        try:
            floor_seconds = floor(floor_url, args.customers, args.invoices)
        finally:
            drop()
        floor_rate = args.invoices / floor_seconds
        print(f"  floor      {floor_rate:9.0f} invoices/s   one executemany of {args.invoices} rows, "
              f"{floor_seconds:.2f} s")
        print(f"  ratio      {http_rate / floor_rate:9.2f}x the floor")
        if tally.failed:
            for problem in tally.failed[:5]:
                print(f"  failed: {problem}", file=sys.stderr)
            sys.exit(f"{len(tally.failed)} requests failed")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
