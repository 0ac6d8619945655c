"""Each organisation has its own event cursor space (issue 14): nothing in an event id or a
cursor tells how many events other organisations wrote, and another organisation's cursor is
refused, not followed."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters import migrate
from adapters.db import make_engine
from domain import events
from domain.models import Event
from tests.conftest import Api, Tenant, make_tenant

OPAQUE = re.compile(r"evt_[0-9a-z]{26}")
A_EVENTS = 7


def _write(db: Session, a: Tenant, b: Tenant, b_events: int) -> None:
    """A's seven events, with ``b_events`` of B's written between them (B first and last too)."""
    per_gap = b_events // (A_EVENTS + 1)
    extra = b_events - per_gap * (A_EVENTS + 1)
    for n in range(A_EVENTS + 1):
        for m in range(per_gap + (extra if n == A_EVENTS else 0)):
            events.record(db, b.org_id, "b.busy", actor="b", n=m)
        db.flush()
        if n < A_EVENTS:
            events.record(db, a.org_id, "a.thing", actor="a", n=n)
            db.flush()
    db.commit()


def _walk(api: Api, name: str) -> tuple[list[list[dict[str, Any]]], list[str]]:
    pages: list[list[dict[str, Any]]] = []
    cursors: list[str] = []
    position: str | None = None
    while True:
        r = api.get("/events", params={"limit": 3, **({name: position} if position else {})})
        assert r.status_code == 200, r.text
        pages.append(r.json()["items"])
        position = r.json()["next_cursor"]
        if position is None:
            return pages, cursors
        cursors.append(position)
        assert len(pages) < 20


def _shape(pages: list[list[dict[str, Any]]], cursors: list[str]) -> Any:
    """The feed with every id and cursor replaced by its place in the feed (and the set-up events'
    own ids and names, which differ between the two organisations, left out)."""
    place = {e["id"]: i for i, e in enumerate(e for page in pages for e in page)}
    mine = [[{**e, "id": place[e["id"]], "occurred_at": None}
             if e["kind"] == "a.thing" else {"id": place[e["id"]], "kind": e["kind"]} for e in page]
            for page in pages]  # fmt: skip
    return mine, [place[c] for c in cursors]


def _ids_and_cursors(pages: list[list[dict[str, Any]]], cursors: list[str]) -> list[str]:
    return [e["id"] for page in pages for e in page] + cursors


def test_an_organisations_feed_is_the_same_whatever_another_did(client: Any, db: Session) -> None:
    quiet_a, quiet_b = make_tenant(db, "A in a quiet world"), make_tenant(db, "B does nothing")
    busy_a, busy_b = make_tenant(db, "A in a busy world"), make_tenant(db, "B is busy")
    _write(db, quiet_a, quiet_b, 0)
    _write(db, busy_a, busy_b, 500)
    internal = db.scalars(select(Event.id).where(Event.org_id == busy_a.org_id).order_by(Event.id)).all()
    assert internal[-1] - internal[0] > 6 * (500 // 8), "the shared sequence has B's gaps in it"

    feeds = {}
    for world, tenant in (("quiet", quiet_a), ("busy", busy_a)):
        api = Api(client, tenant)
        walked = _walk(api, "after")
        assert _walk(api, "cursor") == walked
        for value in _ids_and_cursors(*walked):
            assert OPAQUE.fullmatch(value), value  # nothing numeric, nothing that orders with B
        mine = [e for page in walked[0] for e in page if e["kind"] == "a.thing"]
        assert [e["data"]["n"] for e in mine] == list(range(A_EVENTS)), "oldest first"
        assert all(e["kind"] != "b.busy" for page in walked[0] for e in page)
        feeds[world] = walked
    assert _shape(*feeds["quiet"]) == _shape(*feeds["busy"])


def test_another_organisations_cursor_is_refused(client: Any, db: Session) -> None:
    a, b = make_tenant(db, "A"), make_tenant(db, "B")
    _write(db, a, b, 40)
    a_api, b_api = Api(client, a), Api(client, b)
    b_page = b_api.get("/events", params={"limit": 5}).json()
    theirs = b_page["next_cursor"]
    assert theirs and OPAQUE.fullmatch(theirs)
    made_up = "evt_" + "0" * 26
    for name in ("after", "cursor"):
        for position in (theirs, b_page["items"][0]["id"]):
            r = a_api.get("/events", params={name: position})
            assert r.status_code == 422 and r.json()["field"] == name, r.text
            assert "b.busy" not in r.text
            # No oracle: B's real cursor is refused exactly like one that never existed.
            assert r.json() == a_api.get("/events", params={name: made_up}).json()
    old_style = str(db.scalar(select(Event.id).where(Event.org_id == a.org_id).order_by(Event.id)))
    r = a_api.get("/events", params={"after": old_style})  # a global integer is no position any more
    assert r.status_code == 422 and r.json()["field"] == "after"
    assert b_api.get("/events", params={"after": theirs}).status_code == 200


def test_events_written_before_the_migration_get_public_ids(scratch_database: Any) -> None:
    url = scratch_database()
    migrate.upgrade(url, "0004")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO organisations (id, slug, name, default_payment_term_days, "
                                 "max_extension_days, vat_uplift_on_costs, created_at) VALUES "
                                 "('org_1', 'one', 'One', 30, 30, false, CURRENT_TIMESTAMP)")  # fmt: skip
            for n in range(3):
                conn.exec_driver_sql("INSERT INTO events (org_id, kind, data, occurred_at) "
                                     f"VALUES ('org_1', 'old.{n}', '{{}}', CURRENT_TIMESTAMP)")  # fmt: skip
        migrate.upgrade(url)
        with engine.connect() as conn:
            ids = [row[0] for row in conn.exec_driver_sql("SELECT public_id FROM events ORDER BY id")]
        assert len(set(ids)) == 3 and all(OPAQUE.fullmatch(i) for i in ids), ids
    finally:
        engine.dispose()
