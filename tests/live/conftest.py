"""Real `settle serve` processes on free loopback ports against the test database, and a raw
HTTP/1.1 client whose every await is bounded, so a server that locks up fails a test instead of
hanging it."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime as dt
import json
import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from adapters.settings import Settings
from domain import customers, invoices, organisations
from tests.conftest import SECRET
from tests.integration.test_cli_serve_and_demo import Server, free_port, started
from tests.integration.test_foundation_cli import _env

HOST = "127.0.0.1"
AWAIT = 20.0  # seconds any one read, write or connect may take


def run_async(coro: Any) -> Any:
    """``asyncio.run`` on a thread of its own: an event loop another test left set on the main
    thread (a test client's portal) cannot refuse it."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


# --- a raw HTTP/1.1 client ------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Conn:
    """One keep-alive connection; every await gives up after ``AWAIT`` seconds."""

    def __init__(self, port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.port, self.reader, self.writer = port, reader, writer

    @classmethod
    async def open(cls, port: int) -> Conn:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), AWAIT)
        return cls(port, reader, writer)

    @staticmethod
    def head(method: str, path: str, port: int, headers: dict[str, str] | None = None, body: bytes = b"") -> bytes:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await asyncio.wait_for(self.writer.drain(), AWAIT)

    async def request(self, method: str, path: str, headers: dict[str, str] | None = None,
                      body: bytes = b"") -> Answer:  # fmt: skip
        await self.send(self.head(method, path, self.port, headers, body) + body)
        return await self.answer()

    async def answer(self) -> Answer:
        raw = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), AWAIT)
        status_line, *lines = raw.decode("latin-1").split("\r\n")
        assert status_line.startswith("HTTP/1.1 "), f"not an HTTP response: {raw[:200]!r}"
        headers = {}
        for line in lines:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        if "content-length" in headers:
            body = await asyncio.wait_for(self.reader.readexactly(int(headers["content-length"])), AWAIT)
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int((await asyncio.wait_for(self.reader.readuntil(b"\r\n"), AWAIT)).split(b";")[0], 16)
                chunk = await asyncio.wait_for(self.reader.readexactly(size + 2), AWAIT)
                if size == 0:
                    break
                body += chunk[:-2]
        else:
            body = b""
        return Answer(int(status_line.split(" ", 2)[1]), headers, body)

    def close(self) -> None:
        self.writer.close()

    def abort(self) -> None:
        """Close with a reset, as a client that vanished does."""
        self.writer.transport.abort()


async def get_once(port: int, path: str, headers: dict[str, str]) -> Answer:
    conn = await Conn.open(port)
    try:
        return await conn.request("GET", path, headers)
    finally:
        conn.close()


# --- the data and the server ------------------------------------------------------------------


@dataclass
class Live:
    """A running `settle serve` on ``port`` with one organisation's customers and invoices."""

    port: int
    server: Server
    org_id: str
    key: str
    customer_ids: list[str]
    cookies: list[str] = field(default_factory=list)  # a portal session cookie per customer

    @property
    def api(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}", "Accept": "application/json"}

    def portal(self, i: int) -> dict[str, str]:
        return {"Cookie": f"settle_portal={self.cookies[i % len(self.cookies)]}", "Accept": "text/html"}

    def output_tail(self, lines: int = 60) -> str:
        """What the server printed last (for a failing assertion's message)."""
        while True:
            try:
                line = self.server._queue.get_nowait()
            except Exception:
                break
            if line is None:
                break
            self.server.lines.append(line)
        return "".join(self.server.lines[-lines:])


def seed(db: Session, n_customers: int = 16, per_customer: int = 3) -> tuple[str, str, list[str], list[str]]:
    """An organisation with customers of open invoices: (org id, API key, customer ids, portal cookies)."""
    from portal import session as portal_session

    org, key = organisations.create(db, "Live Groothandel B.V.", "live")
    today = dt.date.today()
    ids, people = [], []
    for c in range(n_customers):
        customer = customers.create(db, org.id, name=f"Debiteur {c:03d}", email=f"ap{c}@example.nl",
                                    locale="nl" if c % 2 else "en")  # fmt: skip
        for k in range(per_customer):
            due = today - dt.timedelta(days=10 * k)
            invoices.create(db, org, invoices.NewInvoice(
                number=f"L{c:03d}-{k}", issue_date=due - dt.timedelta(days=30), due_date=due,
                amount_cents=10_000 + 100 * c + k, currency="EUR", customer_id=customer.id))  # fmt: skip
        ids.append(customer.id)
        people.append(customer)
    db.commit()
    settings = Settings(database_url="unused", secret_keys=(SECRET,))
    now = dt.datetime.now(dt.UTC)
    cookies = [portal_session.encode(settings, portal_session.open_for(p, now)) for p in people]
    return org.id, key.key, ids, cookies


@pytest.fixture
def live(database_url: str, engine: Engine, db: Session, tmp_path: Path) -> Iterator[Live]:
    """`settle serve` (one worker) on a free port against the test database, seeded; stopped with
    SIGTERM afterwards (SIGKILL if it does not go within 20 s) before the tables are emptied."""
    org_id, key, ids, cookies = seed(db)
    port = free_port()
    env = _env(database_url, SETTLE_SECRET_KEYS=SECRET, SETTLE_BASE_URL=f"http://{HOST}:{port}",
               SETTLE_MAIL_URL=f"file:{tmp_path / 'outbox'}")  # fmt: skip
    with started("serve", "--host", HOST, "--port", str(port), "--workers", "1", env=env) as server:
        yield Live(port, server, org_id, key, ids, cookies)
        if server.proc.poll() is None:
            os.killpg(server.proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):  # else started() kills the process group
                server.proc.wait(timeout=20)


def idle_in_transaction(engine: Engine) -> list[Any]:
    """Connections of this database (other than ours) that sit in an open transaction doing nothing."""
    with engine.connect() as conn:
        return list(conn.execute(text(
            "SELECT pid, backend_start, xact_start, left(query, 200) FROM pg_stat_activity "
            "WHERE datname = current_database() AND state = 'idle in transaction' AND pid <> pg_backend_pid()"
        )))  # fmt: skip
