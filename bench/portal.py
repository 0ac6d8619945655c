"""How fast the debtor's statement page is, next to a page that renders the same rows with no framework.

    .venv/bin/python bench/portal.py                              # SQLite, 300 customers, 10 s per side
    .venv/bin/python bench/portal.py --customers 1000 --duration 20 --concurrency 32
    .venv/bin/python bench/portal.py --database-url postgresql+psycopg://postgres@127.0.0.1/settle_bench

A fresh database (a SQLite file in a temporary folder by default; an *empty*
PostgreSQL database if given) is migrated and filled with one creditor,
``--customers`` debtors, ``--invoices`` open invoices each (some with
collection costs and interest) and a part payment each. Then two servers, each
a uvicorn subprocess with one worker on 127.0.0.1:

1. the product: ``settle serve`` (uvicorn, the app factory, proxy headers)
   answering ``GET /portal`` with a signed session cookie per debtor: the
   cookie is verified, the customer and organisation read, the statement,
   payments and requests queried, the template rendered, the security headers
   added;
2. the baseline: a plain ASGI callable (no framework) that looks the cookie up
   in a dict of statement contexts fetched before it started, and renders the
   same Jinja template (``portal/statement.html.j2``) with them.

A small load generator (asyncio streams, HTTP/1.1 keep-alive, loopback only,
bounded in time and connections) requests the statement of a random debtor
over ``--concurrency`` connections for ``--duration`` seconds after a short
warm-up, and prints requests per second and latency percentiles of both, and
their ratios. The difference is the price of the database round trips,
signature checks and framework around the same rendering: a ratio to watch,
not a target of 1.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters import migrate
from adapters.db import make_engine, make_sessionmaker
from adapters.settings import Settings, normalize_database_url
from domain import customers, invoices, organisations, payments
from domain.models import Customer, Organisation

SECRET = "bench-secret-key"
HOST = "127.0.0.1"
MAX_SECONDS = 120
MAX_CONNECTIONS = 256
ROOT = Path(__file__).resolve().parent.parent


# --- data -----------------------------------------------------------------------------


def seed(url: str, n_customers: int, per_customer: int) -> list[str]:
    """One creditor with debtors, invoices and part payments; the debtors' ids."""
    migrate.upgrade(url)
    engine = make_engine(url)
    today = dt.date.today()
    rng = random.Random(7)
    ids = []
    with make_sessionmaker(engine)() as s:
        org, _ = organisations.create(s, "Bench Groothandel B.V.", "bench")
        org.email, org.phone, org.iban = "debiteuren@bench.example", "+31 20 123 4567", "NL91ABNA0417164300"
        org.address = "Keizersgracht 1\n1015 AA Amsterdam"
        number = 0
        for c in range(n_customers):
            customer = customers.create(s, org.id, name=f"Debiteur {c:05d} B.V.", email=f"ap{c}@example.nl",
                                        locale="nl" if c % 3 else "en", external_ref=f"DEB-{c:05d}")  # fmt: skip
            for _ in range(per_customer):
                number += 1
                due = today - dt.timedelta(days=rng.randint(-20, 90))
                inv = invoices.create(s, org, invoices.NewInvoice(
                    number=f"F{number:07d}", issue_date=due - dt.timedelta(days=30), due_date=due,
                    amount_cents=rng.randint(1_000, 500_000), currency="EUR", customer_id=customer.id,
                    pdf_url=f"https://files.bench.example/F{number:07d}.pdf" if number % 2 else None,
                ))  # fmt: skip
                if number % 4 == 0:  # collection costs and interest already charged
                    inv.costs_cents, inv.interest_cents = 4_000, rng.randint(100, 3_000)
                    inv.open_cents += inv.costs_cents + inv.interest_cents
            payments.register_manual(s, org.id, customer_id=customer.id, amount_cents=500, currency="EUR",
                                     received_on=today)  # fmt: skip
            ids.append(customer.id)
            if c % 100 == 99:
                s.commit()
        s.commit()
    engine.dispose()
    return ids


def cookies(url: str, customer_ids: list[str]) -> dict[str, str]:
    """A signed portal session cookie per debtor, as opening a link would set."""
    from portal import session as portal_session

    settings = Settings(database_url=url, secret_keys=(SECRET,))
    now = dt.datetime.now(dt.UTC)
    engine = make_engine(url)
    with Session(engine) as s:
        found = {c.id: c for c in s.scalars(select(Customer).where(Customer.id.in_(customer_ids)))}
        out = {cid: portal_session.encode(settings, portal_session.open_for(found[cid], now)) for cid in customer_ids}
    engine.dispose()
    return out


# --- the baseline: the same template, pre-fetched data, no framework ----------------------


def baseline_app(url: str, cookie_file: Path) -> Callable[..., Awaitable[None]]:
    from portal import session as portal_session
    from portal.pages import render_html
    from portal.views import statement_context

    settings = Settings(database_url=url, secret_keys=(SECRET,), sandbox_payments=True)
    engine = make_engine(url)
    contexts: dict[str, dict[str, Any]] = {}
    csrf: dict[str, str] = {}
    with make_sessionmaker(engine)() as s:
        org = s.scalars(select(Organisation)).one()
        for customer in s.scalars(select(Customer)):
            contexts[customer.id] = statement_context(s, settings, customer, org, dt.date.today())
            csrf[customer.id] = "x" * 32
    by_cookie = {value: cid for cid, value in json.loads(cookie_file.read_text()).items()}
    engine.dispose()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                kind = (await receive())["type"]
                await send({"type": kind + ".complete"})  # lifespan.startup / lifespan.shutdown
                if kind == "lifespan.shutdown":
                    return
        cookie = dict(scope["headers"]).get(b"cookie", b"").decode()
        value = cookie.partition(f"{portal_session.COOKIE}=")[2].split(";")[0]
        cid = by_cookie.get(value)
        if cid is None:
            await send({"type": "http.response.start", "status": 404, "headers": [(b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        ctx = contexts[cid]
        html = render_html("portal/statement.html.j2", lang=ctx["customer"].locale, csrf=csrf[cid],
                           org_name=ctx["org"].name, signed_in=True, **ctx).encode()  # fmt: skip
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/html; charset=utf-8"),
                                (b"content-length", str(len(html)).encode())]})  # fmt: skip
        await send({"type": "http.response.body", "body": html})

    return app


# --- servers -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def wait_listening(proc: subprocess.Popen[bytes], port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            try:  # wait on the process in short slices: returns at once if it died
                code = proc.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                continue
            raise RuntimeError(f"the server exited with {code} before listening on {port}") from None
    raise RuntimeError(f"nothing listens on {HOST}:{port} after {timeout:.0f} s")


def start_product(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SETTLE_DATABASE_URL": url, "SETTLE_SECRET_KEYS": SECRET, "SETTLE_SANDBOX_PAYMENTS": "1",
           "SETTLE_BASE_URL": f"http://{HOST}:{port}", "SETTLE_MAIL_URL": "file:" + tempfile.gettempdir()}
    settle = Path(sys.executable).with_name("settle")
    return subprocess.Popen([str(settle), "serve", "--host", HOST, "--port", str(port), "--workers", "1"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)  # fmt: skip


def start_baseline(url: str, port: int, cookie_file: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--serve-baseline", url, "--port",
                             str(port), "--cookies", str(cookie_file)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd=ROOT)  # fmt: skip


def serve_baseline(url: str, port: int, cookie_file: Path) -> None:
    import uvicorn

    uvicorn.run(baseline_app(url, cookie_file), host=HOST, port=port, log_level="warning", access_log=False)


# --- the load generator --------------------------------------------------------------------


class Result:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors = 0
        self.bytes = 0

    def rps(self, seconds: float) -> float:
        return len(self.latencies) / seconds

    def pct(self, p: float) -> float:
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, int(p / 100 * len(xs)))] * 1000 if xs else float("nan")


async def _one_connection(port: int, values: list[str], until: float, result: Result | None,
                          rng: random.Random) -> None:  # fmt: skip
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        while time.monotonic() < until:
            cookie = rng.choice(values)
            request = (f"GET /portal HTTP/1.1\r\nHost: {HOST}:{port}\r\nCookie: settle_portal={cookie}\r\n"
                       "Accept: text/html\r\n\r\n").encode()  # fmt: skip
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 "):
                raise RuntimeError(f"not an HTTP response: {head[:200]!r}")
            status = int(head.split(b" ", 2)[1])
            length = -1
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length < 0:
                raise RuntimeError(f"a response without Content-Length: {head[:300]!r}")
            body = await reader.readexactly(length)
            elapsed = time.perf_counter() - started
            if result is not None:
                if status == 200 and b"</html>" in body:
                    result.latencies.append(elapsed)
                    result.bytes += len(body)
                else:
                    result.errors += 1
    finally:
        writer.close()


async def load(port: int, values: list[str], seconds: float, concurrency: int, warmup: float) -> Result:
    rng = random.Random(11)
    await asyncio.gather(*(_one_connection(port, values, time.monotonic() + warmup, None, rng)
                           for _ in range(concurrency)))  # fmt: skip
    result = Result()
    until = time.monotonic() + seconds
    await asyncio.gather(*(_one_connection(port, values, until, result, rng) for _ in range(concurrency)))
    return result


def measure(name: str, proc: subprocess.Popen[bytes], port: int, values: list[str], args: argparse.Namespace) -> Result:
    try:
        wait_listening(proc, port)
        result = asyncio.run(load(port, values, args.duration, args.concurrency, args.warmup))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    size = result.bytes // max(1, len(result.latencies))
    print(f"  {name:<10} {result.rps(args.duration):9.1f} req/s   p50 {result.pct(50):7.2f} ms   "
          f"p99 {result.pct(99):7.2f} ms   errors {result.errors}   {size} B/page")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--invoices", type=int, default=6, help="open invoices per customer")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per server (at most 120)")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=16, help="connections (at most 256)")
    parser.add_argument("--database-url", default=None, help="an empty database; default: a temporary SQLite file")
    parser.add_argument("--serve-baseline", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--cookies", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_baseline:
        serve_baseline(args.serve_baseline, args.port, args.cookies)
        return
    if not 0 < args.duration <= MAX_SECONDS or not 0 < args.concurrency <= MAX_CONNECTIONS:
        parser.error(f"--duration must be 1..{MAX_SECONDS} and --concurrency 1..{MAX_CONNECTIONS}")
    folder = Path(tempfile.mkdtemp(prefix="settle-bench-portal-"))
    try:
        url = normalize_database_url(args.database_url or f"sqlite:///{folder / 'bench.db'}")
        started = time.perf_counter()
        ids = seed(url, args.customers, args.invoices)
        signed = cookies(url, ids)
        cookie_file = folder / "cookies.json"
        cookie_file.write_text(json.dumps(signed))
        values = list(signed.values())
        print(f"seeded {len(ids)} customers x {args.invoices} invoices on {url.split('://')[0]} "
              f"in {time.perf_counter() - started:.1f} s; {args.concurrency} connections, {args.duration:.0f} s each")
        port = free_port()
        product = measure("settle", start_product(url, port), port, values, args)
        port = free_port()
        base = measure("baseline", start_baseline(url, port, cookie_file), port, values, args)
        rps_ratio = product.rps(args.duration) / base.rps(args.duration)
        p99_ratio = product.pct(99) / base.pct(99)
        print(f"  ratio      {rps_ratio:9.2f}x throughput          p99 {p99_ratio:5.2f}x the baseline's latency")
        if product.errors or base.errors:
            sys.exit("some requests failed")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
