"""Eight back-office clients writing at once through the API of a real server on SQLite: a write
waits its turn or answers 503 with Retry-After, never 500, and every acknowledged write is in
the database afterwards."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from domain.models import Customer, Invoice
from tests.live.conftest import Answer, Conn, Live, run_async

pytestmark = pytest.mark.live

WRITERS = 8
ROUNDS = 20  # per writer: a PATCH, a POST and a bulk POST of BULK invoices each
BULK = 3
SECONDS = 40.0  # the whole run; the test fails (not hangs) past it


@dataclass
class Acked:
    statuses: Counter[int] = field(default_factory=Counter)
    refused: list[str] = field(default_factory=list)  # answers that are neither 2xx nor 503 + Retry-After
    names: dict[str, str] = field(default_factory=dict)  # customer id -> the last name acknowledged
    numbers: set[str] = field(default_factory=set)  # invoice numbers acknowledged


def invoice(customer_id: str, number: str) -> dict[str, str]:
    return {"customer_id": customer_id, "number": number, "issue_date": "2026-01-01", "due_date": "2026-01-31",
            "amount": "12.34", "currency": "EUR"}  # fmt: skip


async def writer(live: Live, w: int, acked: Acked) -> None:
    customer_id = live.customer_ids[w]
    headers = {**live.api, "Content-Type": "application/json"}
    conn = await Conn.open(live.port)

    async def send(method: str, path: str, body: object) -> Answer | None:
        """The answer if 2xx; None if 503 with Retry-After; anything else is noted as refused."""
        answer = await conn.request(method, path, headers, json.dumps(body).encode())
        acked.statuses[answer.status] += 1
        if answer.status // 100 == 2:
            return answer
        if not (answer.status == 503 and answer.headers.get("retry-after")):
            acked.refused.append(f"{method} {path} -> {answer.status} {answer.headers} {answer.body[:300]!r}")
        return None

    try:
        for r in range(ROUNDS):
            name = f"Writer {w} round {r}"
            if await send("PATCH", f"/api/v1/customers/{customer_id}", {"name": name}):
                acked.names[customer_id] = name
            number = f"W{w}-{r}"
            if await send("POST", "/api/v1/invoices", invoice(customer_id, number)):
                acked.numbers.add(number)
            items = [invoice(customer_id, f"W{w}-{r}-b{b}") for b in range(BULK)]
            bulk = await send("POST", "/api/v1/invoices/bulk", {"items": items})
            if bulk:
                result = bulk.json()
                if result["failed"]:
                    acked.refused.append(f"bulk items failed: {result}")
                acked.numbers.update(i["invoice"]["number"] for i in result["items"] if i["ok"])
    finally:
        conn.close()


def test_eight_writers_at_once_on_sqlite(live: Live, engine: Engine, on_postgres: bool) -> None:
    if on_postgres:
        pytest.skip("SQLite's single writer lock is what this is about")
    acked = Acked()

    async def run() -> None:
        await asyncio.wait_for(asyncio.gather(*(writer(live, w, acked) for w in range(WRITERS))), SECONDS)

    started = time.monotonic()
    try:
        run_async(run())
    except TimeoutError:
        pytest.fail(f"{WRITERS} writers did not finish within {SECONDS:.0f} s ({dict(acked.statuses)}):\n"
                    f"{live.output_tail()}")  # fmt: skip
    took = time.monotonic() - started
    assert sum(acked.statuses.values()) == WRITERS * ROUNDS * 3, dict(acked.statuses)
    assert not acked.refused, "\n".join(acked.refused[:10]) + "\n" + live.output_tail()
    assert acked.statuses[500] == 0
    assert acked.numbers, f"nothing acknowledged in {took:.1f} s: {dict(acked.statuses)}"

    with Session(engine) as s:
        names = dict(s.execute(select(Customer.id, Customer.name).where(Customer.id.in_(acked.names))).all())
        assert names == acked.names
        found = set(s.scalars(select(Invoice.number).where(Invoice.number.in_(acked.numbers))))
        assert found == acked.numbers, f"acknowledged but missing: {sorted(acked.numbers - found)[:20]}"
