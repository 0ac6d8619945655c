"""Headers on every portal answer, no inline script or style, CSRF on every POST, labels on every field."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser
from typing import Any

from sqlalchemy.orm import Session

from adapters.settings import Settings
from tests.integration import portal_helpers as h


class Page(HTMLParser):
    """What a page is made of, for the checks below."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.inline: list[str] = []
        self.scripts: list[str] = []
        self.fields: list[dict[str, str | None]] = []
        self.labels: set[str] = set()
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script":
            self.scripts.append(a.get("src") or "")
            if not a.get("src"):
                self.inline.append("<script> without src")
        if tag == "style":
            self.inline.append("<style>")
        self.inline += [f"{tag}[{k}]" for k in a if k == "style" or k.startswith("on") or k.startswith("hx-on")]
        if tag == "label" and a.get("for"):
            self.labels.add(str(a["for"]))
        if tag in ("input", "select", "textarea") and a.get("type") != "hidden":
            self.fields.append(a)


def _responses(client: Any, db: Session, settings: Settings) -> dict[str, Any]:
    w = h.world(db, pdf=True)
    expired = h.token(db, settings, w.customer, days=1, now=dt.datetime.now(dt.UTC) - dt.timedelta(days=3))
    out: dict[str, Any] = {
        "404 link": client.get("/p/garbage"),
        "410 link": client.get(f"/p/{expired}"),
        "no session": client.get("/portal"),
        "unknown page": client.get("/portal/nothing-here"),
        "wrong method": client.delete("/portal"),
        "link": client.get(f"/p/{h.token(db, settings, w.customer)}", follow_redirects=False),
    }
    page = client.get("/portal")
    out["statement"] = page
    out["htmx partial"] = client.post("/portal/requests", headers={"HX-Request": "true"},
                                      data={"csrf_token": h.csrf(page.text), "kind": "dispute"})  # fmt: skip
    out["csrf refused"] = client.post("/portal/pay", data={"provider": "sandbox"})
    started = h.pay(client, page.text, [w.ids[1]])
    out["pay redirect"] = started
    path = h.checkout_path(started)
    out["sandbox"] = client.get(path)
    out["sandbox outcome"] = h.sandbox(client, path, "paid")
    out["return page"] = client.get(out["sandbox outcome"].headers["location"])
    out["mailbox"] = client.get("/demo/mailbox")
    for _ in range(20):
        client.get("/p/x")
    out["429"] = client.get("/p/x")
    return out


def test_every_portal_response_carries_the_security_headers(client: Any, db: Session, settings: Settings) -> None:
    answers = _responses(client, db, settings)
    expected = {"404 link": 404, "410 link": 410, "no session": 403, "unknown page": 404, "wrong method": 404,
                "link": 303, "statement": 200, "htmx partial": 422, "csrf refused": 403, "pay redirect": 303,
                "sandbox": 200, "sandbox outcome": 303, "return page": 200, "mailbox": 200, "429": 429}  # fmt: skip
    assert {k: r.status_code for k, r in answers.items()} == expected
    for name, r in answers.items():
        hd = r.headers
        assert hd["cache-control"] == "no-store", name
        assert hd["referrer-policy"] == "no-referrer", name
        assert hd["x-content-type-options"] == "nosniff", name
        csp = hd["content-security-policy"]
        directives = {d.split()[0]: d.split()[1:] for d in csp.split("; ")}
        assert directives["default-src"] == ["'none'"], name
        assert directives["script-src"] == ["'self'"] and directives["style-src"] == ["'self'"], name
        assert directives["frame-ancestors"] == ["'none'"] and "'self'" in directives["form-action"], name
        assert "unsafe" not in csp, name
        if r.status_code not in (303,):
            assert hd["content-type"].startswith("text/html"), name


def test_portal_pages_have_no_inline_script_or_style_and_load_htmx_from_static(
    client: Any, db: Session, settings: Settings
) -> None:
    answers = _responses(client, db, settings)
    for name, r in answers.items():
        if r.status_code == 303:
            continue
        page = Page(r.text)
        assert page.inline == [], (name, page.inline)
        if "<html" in r.text:
            assert page.scripts == ["/static/htmx.min.js"], name
            assert '<link rel="stylesheet" href="/static/portal.css">' in r.text, name
    statement = answers["statement"].text
    token = h.csrf(statement)
    assert f"<body hx-headers='{{\"X-CSRF-Token\": \"{token}\"}}'>" in statement  # htmx sends it as a header
    assert '"includeIndicatorStyles": false' in statement  # htmx must not inject a <style> the CSP would block


def test_static_files_are_served_with_their_types(client: Any) -> None:
    js = client.get("/static/htmx.min.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"] and "htmx" in js.text[:200]
    assert js.headers["x-content-type-options"] == "nosniff"
    css = client.get("/static/portal.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_every_post_without_the_right_csrf_token_is_refused_and_changes_nothing(
    client: Any, db: Session, settings: Settings
) -> None:
    w = h.world(db)
    other = h.world(db, org=w.org, customer_name="Other Debtor", lines=[("O-1", 3, 500)])
    expired = h.token(db, settings, w.customer, days=1, now=dt.datetime.now(dt.UTC) - dt.timedelta(days=3))
    client.get(f"/p/{expired}")  # gets the anonymous CSRF cookie
    # a token from another debtor's session is no good either
    theirs = h.csrf(h.sign_in(client, db, settings, other.customer))
    page = h.sign_in(client, db, settings, w.customer)
    path = h.checkout_path(h.pay(client, page, [w.ids[1]]))
    posts = {
        "/portal/pay": {"provider": "sandbox"},
        "/portal/requests": {"kind": "dispute", "invoice_ids": w.ids[0], "reason": "quality"},
        "/portal/sign-out": {},
        "/p/renew": {"token": expired},
        path: {"outcome": "paid"},
    }
    for url, fields in posts.items():
        for token in (None, "", "forged-token", theirs):
            data = dict(fields) if token is None else {**fields, "csrf_token": token}
            r = client.post(url, data=data, follow_redirects=False)
            assert r.status_code == 403, (url, token, r.status_code)
            assert "Dit formulier is verlopen" in r.text or "This form has expired" in r.text
    assert client.get("/portal").status_code == 200  # still signed in
    assert [p.status for p in h.payments(db, w.customer)] == ["pending"]
    assert h.fresh(db, w.invoices[0]).status == "open"
    assert h.outbox(db, "portal_link") == []


def test_signing_out_ends_the_session(client: Any, db: Session, settings: Settings) -> None:
    w = h.world(db)
    page = h.sign_in(client, db, settings, w.customer)
    r = client.post("/portal/sign-out", data={"csrf_token": h.csrf(page)})
    assert r.status_code == 200 and "U bent afgemeld" in r.text
    assert client.get("/portal").status_code == 403


def test_every_field_on_the_statement_has_a_label(client: Any, db: Session, settings: Settings) -> None:
    w = h.world(db, lines=[("F-1", 10, 1_000), ("F-2", 3, 2_000), ("F-3", -3, 3_000)])
    page = Page(h.sign_in(client, db, settings, w.customer))
    assert len(page.fields) >= 3 + 3 + 3 + 3  # selection boxes, kinds, request invoices, reason/date/message
    for field in page.fields:
        assert field.get("id") in page.labels or field.get("aria-label"), field


def test_the_api_keeps_answering_json_and_other_paths_are_untouched(client: Any) -> None:
    r = client.get("/api/v1/no-such-thing")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/json")
    assert "content-security-policy" not in r.headers
    r = client.get("/no-such-page")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/json")
