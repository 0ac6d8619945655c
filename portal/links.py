"""``/p/{token}``: a link from an e-mail becomes a session, and the token leaves the address bar."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect
from sqlalchemy.orm import Session

from adapters.settings import Settings
from domain import fresh_links, portal_links
from domain.events import record
from portal import pages
from portal.delivery import deliver_soon
from portal.errors import PageNotFound
from portal.i18n import pick
from portal.security import limited
from portal.session import (
    anonymous_csrf,
    check_csrf,
    ensure_anonymous_csrf,
    open_for,
    set_csrf_cookie,
    set_session_cookie,
)

MAX_TOKEN = 1000


class LinkController(Controller):
    path = "/p"
    include_in_schema = False

    @get("/{token:str}", sync_to_thread=True, middleware=limited("link"))
    def open_link(self, request: Request[Any, Any, Any], wdb: Session, settings: Settings, token: str) -> Response[Any]:
        """Valid: a session cookie and 303 to /portal. Tampered or unknown: 404. Expired or revoked: 410.
        Opening writes an event, so it takes a writer session: on SQLite it waits for the lock
        instead of failing when a morning's links are opened all at once."""
        if len(token) > MAX_TOKEN:
            raise PageNotFound()
        now = pages.now()
        verdict = portal_links.verify(wdb, token, secret_keys=settings.secret_keys, now=now)
        customer = verdict.customer
        if verdict.status == "unknown" or customer is None:
            raise PageNotFound()
        if verdict.status != "valid":
            record(wdb, customer.org_id, "portal.link_refused", customer, actor=f"customer:{customer.id}",
                   why=verdict.status)  # fmt: skip
            wdb.commit()
            csrf, cookie = ensure_anonymous_csrf(request, settings)
            lang = pick(request.query_params.get("lang"), customer.locale)
            response = pages.render("portal/410.html.j2", lang=lang, status=410, csrf=csrf, token=token)
            if cookie:
                set_csrf_cookie(response, settings, cookie)
            return response
        record(wdb, customer.org_id, "portal.link_opened", customer, actor=f"customer:{customer.id}")
        wdb.commit()
        response = Redirect("/portal", status_code=303)
        set_session_cookie(response, settings, open_for(customer, now), now)
        return response

    @post("/renew", sync_to_thread=True, status_code=200, middleware=limited("renew"))
    def renew(self, request: Request[Any, Any, Any], wdb: Session, settings: Settings,
              data: dict[str, Any] = Body(media_type=RequestEncodingType.URL_ENCODED)) -> Response[Any]:  # fmt: skip
        """E-mail a fresh link to the address on file. The answer is the same whatever happened."""
        check_csrf(request, data, anonymous_csrf(request, settings))
        token = str(data.get("token") or "")[:MAX_TOKEN]
        lang = pick(str(data.get("lang") or ""))
        verdict = portal_links.verify(wdb, token, secret_keys=settings.secret_keys, now=pages.now())
        task = None
        if verdict.customer is not None:
            message = fresh_links.send(wdb, verdict.customer, request.app.state.mailer, pages.now())
            wdb.commit()
            if message is not None:
                task = deliver_soon(request.app.state.courier, verdict.customer.org_id)
        response = pages.render("portal/message.html.j2", lang=lang, title_key="renewed_title",
                                body_key="renewed_body")  # fmt: skip
        response.background = task
        return response
