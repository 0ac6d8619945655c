"""The debtor's statement page under a reminder wave: `settle serve` next to a bare Litestar page.

    .venv/bin/python bench/portal.py                                   # SQLite, 32/128/512 connections, 60 s each
    .venv/bin/python bench/portal.py --levels 32 --duration 5          # a quick look
    .venv/bin/python bench/portal.py --database-url postgresql+psycopg://postgres@127.0.0.1/settle_bench

A fresh database (a SQLite file in a temporary folder by default; an *empty*
PostgreSQL database if given) is migrated and filled with one creditor,
``--customers`` debtors, ``--invoices`` open invoices each (some with
collection costs and interest) and a part payment each, and a signed portal
session cookie is made for every debtor, as opening a link would set it.
Then, one server at a time, each a uvicorn subprocess with one worker on
127.0.0.1 (the same uvicorn settings as ``settle serve``: info log, proxy
headers):

1. ``settle``: the product, ``settle serve``, answering ``GET /portal``: the
   cookie verified, customer and organisation read, the statement, payments
   and requests queried, the full template rendered, the security headers
   added;
2. ``litestar``: the bare baseline, a minimal Litestar app whose sync handler
   finds the debtor by the cookie in a dict, runs ONE indexed query (the
   debtor's unsettled invoices, SQLAlchemy Core on a sync engine, on
   ``ix_invoices_org_id_customer_id_status``) and renders a simple page of
   those rows from the same Jinja environment (``adapters.rendering``);
3. ``page``: the same bare Litestar app and query, rendering the full statement template
   (the rest of its context fetched before it started): the same bytes as the product;
4. ``asgi``: a plain ASGI callable (no framework, no queries) that renders the
   full statement template from contexts fetched before it started
   (``--no-asgi`` skips it);
5. ``settle xN``: ``settle serve --workers N`` (default 2 on PostgreSQL).

wrk (``-t 2 --timeout 10s --latency``, a Lua script picking a random
debtor's cookie per request) loads each at every ``--levels`` count of
keep-alive connections for ``--duration`` seconds after ``--warmup``
seconds. The report gives per level req/s, p50/p99, errors (non-2xx, socket
errors, timeouts), CPU of the server, wrk, PostgreSQL and the whole machine,
the ratio to the bare baseline (target at 32 connections: >= 0.60x and
p99 <= 25 ms), the RSS idle and after the last level (target <= 1.5x) and
the ratio of N workers to one (target >= 1.3x). Any error or timeout makes
it exit non-zero.
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

# module level, where Litestar resolves the handlers' hints
from litestar import Litestar, MediaType, Request, Response, get

# The bare page: the debtor's unsettled invoices, through the product's filters (money, dates).
PAGE = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><title>{{ name }}</title></head>
<body><h1>{{ name }}</h1>
<table>
<tr><th>number</th><th>due</th><th>open</th><th>status</th></tr>
{% for r in rows %}
<tr><td>{{ r.number }}</td><td>{{ r.due_date|short_date(lang) }}</td>
<td>{{ r.open_cents|money(r.currency, lang) }}</td><td>{{ r.status }}</td></tr>
{% endfor %}
</table>
</body></html>
"""


def target(args: argparse.Namespace, url: str, seeded: _load.Seeded) -> _load.Target:
    signed = _load.portal_cookies(url, seeded.customer_ids)
    return _load.Target(
        what="the statement page with a random debtor's signed session cookie",
        path="/portal",
        header="Cookie",
        prefix="settle_portal=",
        values=list(signed.values()),
        extra={"Accept": "text/html"},
        baselines=[
            ("litestar", "bare Litestar, one indexed query, a simple page"),
            ("page", "bare Litestar, one indexed query, the full statement template"),
            ("asgi", "plain ASGI, no queries, the full template"),
        ],
        script=Path(__file__).resolve(),
        data={"org_id": seeded.org_id, "cookies": signed},
    )


def debtor_invoices() -> Any:
    """The baselines' one indexed query: a debtor's unsettled invoices."""
    from sqlalchemy import bindparam, select

    from domain.invoices import UNSETTLED
    from domain.models import Invoice

    t = Invoice.__table__.c
    return (
        select(t.number, t.due_date, t.open_cents, t.currency, t.status)
        .where(t.org_id == bindparam("org"), t.customer_id == bindparam("customer"), t.status.in_(UNSETTLED))
        .order_by(t.due_date)
    )


def litestar_app(url: str, data: dict[str, Any]) -> Any:
    from sqlalchemy import select

    from adapters.db import make_engine
    from adapters.rendering import environment
    from domain.models import Customer

    engine = make_engine(url)
    page = environment().from_string(PAGE)
    query = debtor_invoices()
    org_id = data["org_id"]
    with engine.connect() as conn:  # names and languages once, as the cookie would carry them
        people = {cid: (name, locale) for cid, name, locale in conn.execute(
            select(Customer.id, Customer.name, Customer.locale).where(Customer.org_id == org_id))}  # fmt: skip
    by_cookie = {value: cid for cid, value in data["cookies"].items()}

    @get("/portal", sync_to_thread=True)
    def statement(request: Request[Any, Any, Any]) -> Response[str]:
        cid = by_cookie.get(request.cookies.get("settle_portal", ""))
        if cid is None:
            return Response("", status_code=404)
        with engine.connect() as conn:
            rows = conn.execute(query, {"org": org_id, "customer": cid}).all()
            conn.commit()  # as the product ends a read (adapters.db.finish_reading): the query stays prepared
        name, lang = people[cid]
        return Response(page.render(rows=rows, name=name, lang=lang), media_type=MediaType.HTML)

    return Litestar(route_handlers=[statement], debug=False)


def _contexts(url: str, data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each debtor's statement context, fetched once before a baseline starts."""
    from sqlalchemy import select

    from adapters.db import make_engine, make_sessionmaker
    from adapters.settings import Settings
    from domain.models import Customer, Organisation
    from portal.views import statement_context

    settings = Settings(database_url=url, secret_keys=(_load.SECRET,), sandbox_payments=True)
    engine = make_engine(url)
    contexts: dict[str, dict[str, Any]] = {}
    with make_sessionmaker(engine)() as s:
        org = s.scalars(select(Organisation).where(Organisation.id == data["org_id"])).one()
        for customer in s.scalars(select(Customer).where(Customer.org_id == org.id)):
            contexts[customer.id] = statement_context(s, settings, customer, org, dt.date.today())
    engine.dispose()
    return contexts


def page_app(url: str, data: dict[str, Any]) -> Any:
    """What the statement page costs with no Settle around it: Litestar, the debtor found by the
    cookie in a dict, ONE indexed query (the debtor's unsettled invoices, whose rows are fetched
    and thrown away) and the full statement template from a context fetched before it started.
    The difference to ``settle`` is the session check, the read model and the app's plumbing."""

    from adapters.db import make_engine
    from portal.pages import render_html

    contexts = _contexts(url, data)
    engine = make_engine(url)
    query = debtor_invoices()
    by_cookie = {value: cid for cid, value in data["cookies"].items()}

    @get("/portal", sync_to_thread=True)
    def statement(request: Request[Any, Any, Any]) -> Response[str]:
        cid = by_cookie.get(request.cookies.get("settle_portal", ""))
        if cid is None:
            return Response("", status_code=404)
        with engine.connect() as conn:
            conn.execute(query, {"org": data["org_id"], "customer": cid}).all()
            conn.commit()  # as the product ends a read: the query stays prepared on PostgreSQL
        ctx = contexts[cid]
        html = render_html("portal/statement.html.j2", lang=ctx["customer"].locale, csrf="x" * 32,
                           org_name=ctx["org"].name, signed_in=True, **ctx)  # fmt: skip
        return Response(html, media_type=MediaType.HTML)

    return Litestar(route_handlers=[statement], debug=False)


def asgi_app(url: str, data: dict[str, Any]) -> Any:
    from portal.pages import render_html

    contexts = _contexts(url, data)
    by_cookie = {value: cid for cid, value in data["cookies"].items()}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                kind = (await receive())["type"]
                await send({"type": kind + ".complete"})  # lifespan.startup / lifespan.shutdown
                if kind == "lifespan.shutdown":
                    return
        cookie = dict(scope["headers"]).get(b"cookie", b"").decode()
        cid = by_cookie.get(cookie.partition("settle_portal=")[2].split(";")[0])
        if cid is None:
            await send({"type": "http.response.start", "status": 404, "headers": [(b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        ctx = contexts[cid]
        html = render_html("portal/statement.html.j2", lang=ctx["customer"].locale, csrf="x" * 32,
                           org_name=ctx["org"].name, signed_in=True, **ctx).encode()  # fmt: skip
        await _load.send_whole(send, html, b"text/html; charset=utf-8")

    return app


def serve_baseline(name: str, url: str, port: int, data: dict[str, Any]) -> None:
    _load.serve({"litestar": litestar_app, "page": page_app, "asgi": asgi_app}[name](url, data), port)


if __name__ == "__main__":
    _load.main(target, __doc__ or "", serve_baseline)
