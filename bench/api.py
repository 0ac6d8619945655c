"""A page of invoices through the back-office API under load: `settle serve` next to a bare Litestar JSON page.

    .venv/bin/python bench/api.py                                      # SQLite, 32/128/512 connections, 60 s each
    .venv/bin/python bench/api.py --levels 32 --duration 5             # a quick look
    .venv/bin/python bench/api.py --database-url postgresql+psycopg://postgres@127.0.0.1/settle_bench

The same database as bench/portal.py (one creditor, ``--customers`` debtors
with ``--invoices`` open invoices each) and an API key with the scope
``invoices:read`` (``domain.apikeys.issue``). wrk requests
``GET /api/v1/invoices?limit=50`` with ``Authorization: Bearer <key>`` from:

1. ``settle``: ``settle serve``, one worker: the key looked up and its hash
   compared, the scope checked, the first page of the organisation's invoices
   and their dunning stages queried, each made an ``InvoiceRead``, encoded;
2. ``litestar``: the bare baseline, a minimal Litestar app whose sync handler
   compares the header with the key, runs ONE indexed query for 51 invoices
   of the organisation (SQLAlchemy Core on a sync engine, ``org_id`` ordered by
   id) and returns 50 of them as msgspec structs with the next cursor;
3. ``asgi``: a plain ASGI callable that encodes, with msgspec, the same page
   as the product, fetched before it started (``--no-asgi`` skips it);
4. ``settle xN``: ``settle serve --workers N`` (default 2 on PostgreSQL).

Levels, durations, the report and the exit code are those of bench/portal.py
(see bench/_load.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(1, str(Path(__file__).resolve().parent))

import _load
import msgspec

# module level, where Litestar resolves the handlers' hints
from litestar import Litestar, Request, Response, get

LIMIT = 50


class Row(msgspec.Struct):
    id: str
    customer_id: str
    number: str
    issue_date: dt.date
    due_date: dt.date
    amount: str
    currency: str
    open_amount: str
    status: str


class RowPage(msgspec.Struct):
    items: list[Row]
    next_cursor: str | None


def target(args: argparse.Namespace, url: str, seeded: _load.Seeded) -> _load.Target:
    return _load.Target(
        what=f"the first {LIMIT} invoices with a Bearer API key (invoices:read)",
        path=f"/api/v1/invoices?limit={LIMIT}",
        header="Authorization",
        prefix="Bearer ",
        values=[seeded.api_key],
        extra={"Accept": "application/json"},
        baselines=[
            ("litestar", "bare Litestar, one indexed query, msgspec"),
            ("asgi", "plain ASGI, no queries, the product's page encoded"),
        ],
        script=Path(__file__).resolve(),
        data={"org_id": seeded.org_id, "key": seeded.api_key},
    )


def litestar_app(url: str, data: dict[str, Any]) -> Any:
    from sqlalchemy import bindparam, select

    from adapters.db import make_engine
    from domain.models import Invoice
    from domain.money import format_amount

    engine = make_engine(url)
    t = Invoice.__table__.c
    query = (
        select(t.id, t.customer_id, t.number, t.issue_date, t.due_date, t.amount_cents, t.currency, t.open_cents,
               t.status)
        .where(t.org_id == bindparam("org"))
        .order_by(t.id)
        .limit(bindparam("n"))
    )  # fmt: skip
    org_id, expected = data["org_id"], "Bearer " + data["key"]

    @get("/api/v1/invoices", sync_to_thread=True)
    def invoices(request: Request[Any, Any, Any], limit: int = LIMIT) -> Response[Any]:
        if request.headers.get("authorization") != expected:
            return Response({"error": "unauthorized"}, status_code=401)
        with engine.connect() as conn:
            rows = conn.execute(query, {"org": org_id, "n": limit + 1}).all()
            conn.commit()  # as the product ends a read (adapters.db.finish_reading): the query stays prepared
        items = [Row(r.id, r.customer_id, r.number, r.issue_date, r.due_date, format_amount(r.amount_cents),
                     r.currency, format_amount(r.open_cents), r.status) for r in rows[:limit]]  # fmt: skip
        return Response(RowPage(items=items, next_cursor=items[-1].id if len(rows) > limit else None))

    return Litestar(route_handlers=[invoices], debug=False)


def asgi_app(url: str, data: dict[str, Any]) -> Any:
    from sqlalchemy import select

    from adapters.db import make_engine, make_sessionmaker
    from api.invoices import stages
    from api.schemas import InvoiceRead, Page
    from domain.models import Invoice

    engine = make_engine(url)
    with make_sessionmaker(engine)() as s:
        rows = list(s.scalars(select(Invoice).where(Invoice.org_id == data["org_id"]).order_by(Invoice.id)
                              .limit(LIMIT + 1)))  # fmt: skip
        kinds = stages(s, rows[:LIMIT])
        page = Page(items=[InvoiceRead.of(r, kinds.get((r.policy_id, r.dunning_step))) for r in rows[:LIMIT]],
                    next_cursor=rows[LIMIT - 1].id if len(rows) > LIMIT else None)  # fmt: skip
    engine.dispose()
    expected = ("Bearer " + data["key"]).encode()
    encode = msgspec.json.Encoder().encode

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                kind = (await receive())["type"]
                await send({"type": kind + ".complete"})  # lifespan.startup / lifespan.shutdown
                if kind == "lifespan.shutdown":
                    return
        if dict(scope["headers"]).get(b"authorization") != expected:
            await send({"type": "http.response.start", "status": 401, "headers": [(b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        await _load.send_whole(send, encode(page), b"application/json")

    return app


def serve_baseline(name: str, url: str, port: int, data: dict[str, Any]) -> None:
    _load.serve({"litestar": litestar_app, "asgi": asgi_app}[name](url, data), port)


if __name__ == "__main__":
    _load.main(target, __doc__ or "", serve_baseline)
