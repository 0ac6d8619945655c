"""``/demo/mailbox``: the outbox as a mailbox, so a newcomer can click a reminder's link.

Only while sandbox payments are on (``settle demo``); otherwise these pages do
not exist. An e-mail's HTML is shown on a page of its own with a policy that
lets its inline styles apply and nothing else run.
"""

from __future__ import annotations

import html as htmllib
import re
from typing import Any

from litestar import Controller, MediaType, Request, Response, get
from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.settings import Settings
from domain.models import OutboxMessage
from portal import pages
from portal.errors import PageNotFound
from portal.i18n import from_accept_language, pick

LINK = re.compile(r"https?://[^\s\"'<>]+(/p/[A-Za-z0-9_.\-]+)")
SHOWN = 200
EMAIL_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; "
             "frame-ancestors 'none'; base-uri 'none'")  # fmt: skip


def portal_path(text: str | None) -> str | None:
    """The /p/… path of the portal link in a message (relative, so it opens on this server)."""
    found = LINK.search(text or "")
    return found.group(1) if found else None


class MailboxController(Controller):
    path = "/demo/mailbox"
    include_in_schema = False

    @get("/", sync_to_thread=True)
    def mailbox(self, request: Request[Any, Any, Any], db: Session, settings: Settings) -> Response[Any]:
        if not settings.sandbox_payments:
            raise PageNotFound()
        rows = db.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.channel.in_(("email", "sms")))  # texts too: the demo sends them to a fake Twilio
            .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
            .limit(SHOWN)
        ).all()
        lang = pick(request.query_params.get("lang"), from_accept_language(request.headers.get("accept-language")))
        messages = [(m, portal_path(m.body_text)) for m in rows]
        return pages.render("portal/mailbox.html.j2", lang=lang, messages=messages)

    @get("/{message_id:str}", sync_to_thread=True)
    def message(self, db: Session, settings: Settings, message_id: str) -> Response[Any]:
        if not settings.sandbox_payments:
            raise PageNotFound()
        found = db.get(OutboxMessage, message_id)
        if found is None or found.channel != "email":
            raise PageNotFound()
        html = found.body_html or f"<pre>{htmllib.escape(found.body_text or '')}</pre>"
        return Response(html, media_type=MediaType.HTML, headers={"Content-Security-Policy": EMAIL_CSP})
