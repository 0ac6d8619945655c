"""Signing out ends the session on the server: the old cookie, replayed, opens nothing (issue 14).
Other sessions of the same debtor (another link opened, another device) go on."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

from itsdangerous import URLSafeSerializer
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session

from adapters.settings import Settings
from domain.models import PortalSessionRevoked
from portal import session as portal_session
from tests.integration import portal_helpers as h


def _cookie(client: Any) -> str:
    value = client.cookies.get(portal_session.COOKIE)
    assert value, "no session cookie"
    return str(value)


def _use(client: Any, value: str) -> None:
    client.cookies.clear()
    client.cookies.set(portal_session.COOKIE, value)


def _sign_out(client: Any) -> Any:
    page = client.get("/portal")
    assert page.status_code == 200, page.text
    return client.post("/portal/sign-out", data={"csrf_token": h.csrf(page.text)})


def test_a_cookie_replayed_after_sign_out_has_no_session(client: Any, db: Session, settings: Settings) -> None:
    w = h.world(db)
    h.sign_in(client, db, settings, w.customer)
    old = _cookie(client)
    r = _sign_out(client)
    assert r.status_code == 200 and "U bent afgemeld" in r.text
    _use(client, old)  # a copy of the cookie kept from before the sign-out
    replayed = client.get("/portal")
    assert replayed.status_code == 403
    client.cookies.clear()
    assert replayed.text == client.get("/portal").text, "the same page as for no session at all"
    _use(client, old)
    assert client.post("/portal/sign-out", data={"csrf_token": "x"}).status_code == 403
    assert client.post("/portal/requests", data={"kind": "dispute"}).status_code == 403
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(PortalSessionRevoked)) == 1


def test_another_session_of_the_same_debtor_goes_on(client: Any, db: Session, settings: Settings) -> None:
    w = h.world(db)
    h.sign_in(client, db, settings, w.customer)
    phone = _cookie(client)
    h.sign_in(client, db, settings, w.customer)  # a second link opened (or the same one on a laptop)
    laptop = _cookie(client)
    assert phone != laptop
    _use(client, phone)
    assert _sign_out(client).status_code == 200
    _use(client, phone)
    assert client.get("/portal").status_code == 403
    _use(client, laptop)
    page = client.get("/portal")
    assert page.status_code == 200 and "Bakkerij Jansen" in page.text
    assert _sign_out(client).status_code == 200
    _use(client, laptop)
    assert client.get("/portal").status_code == 403


def test_a_cookie_without_a_session_id_is_refused(client: Any, db: Session, settings: Settings) -> None:
    """Cookies from before session ids (they could not be signed out) open nothing any more."""
    w = h.world(db)
    s = portal_session.open_for(w.customer, dt.datetime.now(dt.UTC))
    legacy = URLSafeSerializer(list(settings.secret_keys), salt=portal_session.SALT).dumps(
        {"o": s.org_id, "c": s.customer_id, "v": s.link_version, "t": s.csrf, "x": s.expires, "l": None}
    )
    _use(client, str(legacy))
    assert client.get("/portal").status_code == 403
    _use(client, portal_session.encode(settings, s))
    assert client.get("/portal").status_code == 200


def test_the_session_check_stays_one_query(engine: Engine, db: Session, settings: Settings) -> None:
    w = h.world(db)
    now = dt.datetime.now(dt.UTC)
    s = portal_session.open_for(w.customer, now)
    request: Any = SimpleNamespace(cookies={portal_session.COOKIE: portal_session.encode(settings, s)})
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    db.rollback()
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert portal_session.current(request, db, settings, now) is not None
        selects = [st for st in statements if st.lstrip().upper().startswith("SELECT")]
        assert len(selects) == 1 and "portal_sessions_revoked" in selects[0], statements
    finally:
        event.remove(engine, "before_cursor_execute", count)
    portal_session.revoke(db, s, now)
    assert portal_session.current(request, db, settings, now) is None
    portal_session.revoke(db, s, now)  # twice is once
    assert db.scalar(select(func.count()).select_from(PortalSessionRevoked)) == 1


def test_revocations_past_their_cookies_expiry_are_pruned(db: Session, settings: Settings) -> None:
    w = h.world(db)
    then = dt.datetime.now(dt.UTC) - dt.timedelta(hours=5)
    stale = portal_session.open_for(w.customer, then)  # expired an hour ago
    portal_session.revoke(db, stale, then)
    now = dt.datetime.now(dt.UTC)
    fresh = portal_session.open_for(w.customer, now)
    portal_session.revoke(db, fresh, now)
    left = db.scalars(select(PortalSessionRevoked.session_id)).all()
    assert left == [fresh.session_id]
