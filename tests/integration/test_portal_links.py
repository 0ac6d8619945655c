"""GET /p/{token}: a valid link becomes a session and leaves the address bar; a bad one says
nothing; an expired or revoked one offers a fresh link by e-mail to the address on file."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from itsdangerous import URLSafeSerializer
from litestar.testing import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from adapters.settings import Settings
from domain import portal_links
from domain.models import Organisation
from settle.app import create_app
from tests.integration import portal_helpers as h


def _expired(db: Session, settings: Settings, w: h.World) -> str:
    return h.token(db, settings, w.customer, days=1, now=dt.datetime.now(dt.UTC) - dt.timedelta(days=2))


def test_a_valid_link_sets_a_session_cookie_and_sends_the_browser_to_the_portal(
    client: Any, db: Session, settings: Settings
) -> None:
    w = h.world(db)
    r = client.get(f"/p/{h.token(db, settings, w.customer)}", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/portal"  # the token is gone from the address bar and any Referer
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("settle_portal=")
    attributes = {a.strip().split("=")[0].lower(): a.strip() for a in cookie.split(";")[1:]}
    assert "httponly" in attributes and attributes["samesite"].lower() == "samesite=lax"
    assert attributes["path"] == "Path=/" and "max-age" in attributes and "secure" not in attributes
    page = client.get("/portal")
    assert page.status_code == 200 and "Bakkerij Jansen" in page.text and "F-1" in page.text
    [opened] = h.events(db, "portal.link_opened")
    assert opened.subject_id == w.customer.id and opened.org_id == w.org.id


def test_the_session_cookie_is_secure_behind_https(engine: Engine, settings: Settings, db: Session) -> None:
    https = dataclasses.replace(settings, base_url="https://pay.acme.example")
    w = h.world(db)
    with TestClient(app=create_app(https, engine=engine), base_url="https://pay.acme.example") as tc:
        r = tc.get(f"/p/{h.token(db, https, w.customer)}", follow_redirects=False)
    assert r.status_code == 303 and "secure" in r.headers["set-cookie"].lower()


def test_a_tampered_or_unknown_token_is_the_same_404_page_revealing_nothing(
    client: Any, db: Session, settings: Settings
) -> None:
    w = h.world(db)
    good = h.token(db, settings, w.customer)
    foreign = URLSafeSerializer(["another-key"], salt=portal_links.SALT).dumps(
        {"o": w.org.id, "c": w.customer.id, "v": 1, "x": 9_999_999_999})
    tampered = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    bodies = set()
    for bad in (tampered, "garbage", foreign, "x" * 2000):
        r = client.get(f"/p/{bad}", follow_redirects=False)
        assert r.status_code == 404, bad
        assert r.headers["content-type"].startswith("text/html")
        assert "set-cookie" not in r.headers
        for secret in ("Bakkerij", "Noord", w.customer.id, w.org.id, bad[:20]):
            assert secret not in r.text
        bodies.add(r.text)
    assert len(bodies) == 1
    assert client.get("/portal").status_code == 403  # and no session came of it
    assert h.events(db, "portal.link_opened") == []


def test_an_expired_link_is_a_410_page_that_offers_a_fresh_link(client: Any, db: Session, settings: Settings) -> None:
    w = h.world(db)
    r = client.get(f"/p/{_expired(db, settings, w)}", follow_redirects=False)
    assert r.status_code == 410
    assert 'action="/p/renew"' in r.text and "Stuur mij een nieuwe link" in r.text
    assert "settle_portal=" not in r.headers.get("set-cookie", "")
    assert client.get("/portal").status_code == 403
    [refused] = h.events(db, "portal.link_refused")
    assert refused.data == {"why": "expired"}


def test_revoking_links_answers_410_and_ends_sessions_opened_from_them(
    client: Any, api: Any, db: Session, settings: Settings
) -> None:
    w = h.world(db, org=db.get_one(Organisation, api.tenant.org_id))
    old = h.token(db, settings, w.customer)
    h.sign_in(client, db, settings, w.customer)
    assert api.post(f"/customers/{w.customer.id}/portal-links/revoke").status_code in (200, 201)
    assert client.get("/portal").status_code == 403  # the open session ended with the links
    r = client.get(f"/p/{old}", follow_redirects=False)
    assert r.status_code == 410 and "/p/renew" in r.text
    h.reread(db)  # a link issued after the revocation works
    assert client.get(f"/p/{h.token(db, settings, w.customer)}", follow_redirects=False).status_code == 303


def _renew(client: Any, link_token: str, lang: str = "nl") -> Any:
    page = client.get(f"/p/{link_token}", follow_redirects=False)
    assert page.status_code == 410
    return client.post("/p/renew", data={"csrf_token": h.csrf(page.text), "token": link_token, "lang": lang})


def test_a_fresh_link_is_mailed_to_the_address_on_file_once_and_opens_the_portal(
    client: Any, db: Session, settings: Settings
) -> None:
    w = h.world(db)
    expired = _expired(db, settings, w)
    r = _renew(client, expired)
    assert r.status_code == 200 and "Kijk in uw mailbox" in r.text
    [mail] = h.mails(settings)
    assert mail["To"] == "ap@jansen.example" and "nieuwe link" in mail["Subject"]
    path = h.PORTAL_LINK.search(h.body(mail)).group(1)  # type: ignore[union-attr]
    assert path in h.body(mail, "html")
    again = _renew(client, expired)
    assert again.text == r.text  # asked twice in a row: same answer, no second e-mail
    assert len(h.mails(settings)) == 1
    client.cookies.clear()
    assert client.get(path, follow_redirects=False).status_code == 303
    assert "F-1" in client.get("/portal").text


def test_the_fresh_link_answer_is_the_same_whether_or_not_an_address_exists(
    client: Any, db: Session, settings: Settings
) -> None:
    with_mail = h.world(db)
    without = h.world(db, org=with_mail.org, customer_name="Kees", email_address=None, lines=[("K-1", 3, 100)])
    a = _renew(client, _expired(db, settings, with_mail))
    b = _renew(client, _expired(db, settings, without))
    page = client.get(f"/p/{_expired(db, settings, with_mail)}")
    c = client.post("/p/renew", data={"csrf_token": h.csrf(page.text), "token": "forged", "lang": "nl"})
    assert a.status_code == b.status_code == c.status_code == 200
    assert a.text == b.text == c.text
    assert [m["To"] for m in h.mails(settings)] == ["ap@jansen.example"]


def test_asking_for_a_fresh_link_needs_the_csrf_token(client: Any, db: Session, settings: Settings) -> None:
    w = h.world(db)
    expired = _expired(db, settings, w)
    client.get(f"/p/{expired}")
    r = client.post("/p/renew", data={"token": expired, "lang": "nl"})
    assert r.status_code == 403 and "Dit formulier is verlopen" in r.text
    r = client.post("/p/renew", data={"token": expired, "csrf_token": "made-up"})
    assert r.status_code == 403
    assert h.outbox(db, "portal_link") == [] and h.mails(settings) == []


def test_opening_links_is_rate_limited_per_client_with_a_friendly_page(
    client: Any, db: Session, settings: Settings
) -> None:
    w = h.world(db)
    good = h.token(db, settings, w.customer)
    for _ in range(20):
        assert client.get("/p/nonsense", follow_redirects=False).status_code == 404
    r = client.get(f"/p/{good}", follow_redirects=False)
    assert r.status_code == 429  # even a good link waits: the limit counts tries, not failures
    assert int(r.headers["retry-after"]) >= 1 and "Even geduld" in r.text
    assert r.headers["content-type"].startswith("text/html") and r.headers["cache-control"] == "no-store"


def test_asking_for_fresh_links_is_rate_limited(client: Any, db: Session, settings: Settings) -> None:
    w = h.world(db)
    expired = _expired(db, settings, w)
    page = client.get(f"/p/{expired}")
    token = h.csrf(page.text)
    codes = [client.post("/p/renew", data={"csrf_token": token, "token": expired}).status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]
