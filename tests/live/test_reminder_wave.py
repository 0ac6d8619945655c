"""A reminder wave against a real server: 256 debtors and back-office clients at once, some of
whom leave mid-request. Every answered request is a 2xx, no connection is left in an open
transaction, and the server still answers at once afterwards."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.live.conftest import Conn, Live, get_once, idle_in_transaction, run_async

pytestmark = pytest.mark.live

CLIENTS = 256
REQUESTS = 4  # per client, over one keep-alive connection
WAVE_SECONDS = 45.0  # the whole wave; the test fails (not hangs) past it
API = "/api/v1/invoices?limit=50"
PORTAL = "/portal"


async def client(live: Live, i: int, answered: list[tuple[str, int]]) -> str:
    """Client ``i``: even ones read statements, odd ones list invoices. Every 8th leaves after
    sending its last request's head (half with a FIN, half with a reset); every 8th from 4 on
    sends half a request (its head, or a POST's body) and leaves."""
    path, headers = (PORTAL, live.portal(i)) if i % 2 == 0 else (API, live.api)
    conn = await Conn.open(live.port)
    try:
        if i % 8 == 4:
            if i % 16 == 4:
                await conn.send(Conn.head("GET", path, live.port, headers)[:40])
            else:
                body = b'{"name": "Half a customer", "email": "half@example.nl"}'
                await conn.send(Conn.head("POST", "/api/v1/customers", live.port, live.api, body) + body[:10])
            conn.abort() if i % 32 == 4 else conn.close()
            return "half"
        for k in range(REQUESTS):
            if i % 8 == 0 and k == REQUESTS - 1:
                await conn.send(Conn.head("GET", path, live.port, headers))
                conn.abort() if i % 16 == 0 else conn.close()
                return "dropped"
            answer = await conn.request("GET", path, headers)
            answered.append((path, answer.status))
            if answer.status != 200:
                return f"{answer.status}"
        return "done"
    finally:
        conn.close()


async def wave(live: Live) -> tuple[list[tuple[str, int]], Counter[str]]:
    answered: list[tuple[str, int]] = []
    outcomes = await asyncio.wait_for(
        asyncio.gather(*(client(live, i, answered) for i in range(CLIENTS)), return_exceptions=True), WAVE_SECONDS
    )
    return answered, Counter(o if isinstance(o, str) else type(o).__name__ for o in outcomes)


def test_a_wave_of_256_clients_some_leaving_mid_request(live: Live, engine: Engine, on_postgres: bool) -> None:
    started = time.monotonic()
    try:
        answered, outcomes = run_async(wave(live))
    except TimeoutError:
        pytest.fail(f"the wave did not end within {WAVE_SECONDS:.0f} s:\n{live.output_tail()}")
    took = time.monotonic() - started
    bad = Counter((path, status) for path, status in answered if status // 100 != 2)
    assert not bad, f"non-2xx answers {dict(bad)} (outcomes {dict(outcomes)}):\n{live.output_tail()}"
    expected = {"done": CLIENTS * 3 // 4, "dropped": CLIENTS // 8, "half": CLIENTS // 8}
    assert outcomes == expected, f"client outcomes {dict(outcomes)} in {took:.1f} s:\n{live.output_tail()}"
    assert len(answered) == CLIENTS * 3 // 4 * REQUESTS + CLIENTS // 8 * (REQUESTS - 1)

    if on_postgres:  # the server finishes what the leavers started, then holds no open transaction
        deadline, left = time.monotonic() + 2.0, idle_in_transaction(engine)
        while left and time.monotonic() < deadline:
            time.sleep(0.05)
            left = idle_in_transaction(engine)
        assert not left, f"connections left idle in transaction: {left}"

    async def single() -> list[tuple[Any, float]]:
        out = []
        for path, headers in ((PORTAL, live.portal(0)), (API, live.api)):
            t0 = time.monotonic()
            answer = await asyncio.wait_for(get_once(live.port, path, headers), 5)
            out.append((answer.status, time.monotonic() - t0))
        return out

    for status, seconds in run_async(single()):
        assert status == 200 and seconds < 2.0, (status, seconds, live.output_tail())
