"""``/webhooks/sms/twilio/status`` and ``/webhooks/sms/twilio/inbound``: what the SMS provider
tells Settle about a text message, and a debtor's reply to one.

Both are form POSTs from Twilio signed with ``X-Twilio-Signature`` (HMAC-SHA1 of the public
URL, ``SETTLE_BASE_URL`` + the path and query, and the sorted form fields, with the Auth
Token). A missing or wrong signature answers 400 and changes nothing; no SMS provider set up
answers 404. A status report moves the message's ``delivery_status`` forward only (duplicates
and late reports change nothing; see ``domain.sms_delivery.record_status``); a reply that
says ``STOP`` opts every customer with that number out of texts (``START`` back in) and is
answered with an empty TwiML ``<Response/>``, so Twilio sends nothing back itself.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qsl

import anyio.to_thread
from litestar import Controller, Request, Response, post
from sqlalchemy.orm import Session

from adapters.settings import Settings
from adapters.sms import INBOUND_PATH, STATUS_PATH, TwilioProvider, status_of
from domain.errors import ValidationError
from domain.phones import to_e164
from domain.sms_delivery import StatusReport, record_reply, record_status

log = logging.getLogger("settle.webhooks")
_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _answer(status: int, **body: Any) -> Response[Any]:
    return Response(body, status_code=status, headers={"Cache-Control": "no-store"})


def _verified(request: Request[Any, Any, Any], settings: Settings, path: str,
              body: bytes) -> tuple[TwilioProvider | None, dict[str, str] | None, Response[Any] | None]:  # fmt: skip
    provider: TwilioProvider | None = request.app.state.sms
    if provider is None:
        return None, None, _answer(404, error="not_found", message="no SMS provider is set up")
    try:
        params = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        return None, None, _answer(400, error="webhook_rejected", message="the body is not UTF-8 form data")
    query = request.url.query
    url = f"{settings.base_url}{path}" + (f"?{query}" if query else "")
    if not provider.verify(url, params, request.headers.get("x-twilio-signature", "")):
        log.warning("refused an SMS webhook to %s: bad signature", path)
        return None, None, _answer(400, error="webhook_rejected", message="the X-Twilio-Signature does not match")
    return provider, params, None


class SmsWebhookController(Controller):
    path = "/webhooks/sms/twilio"
    include_in_schema = False

    @post("/status", status_code=200)
    async def status(self, request: Request[Any, Any, Any], wdb: Session, settings: Settings) -> Response[Any]:
        body = await request.body()
        _, params, refused = _verified(request, settings, STATUS_PATH, body)
        if refused is not None or params is None:
            return refused or _answer(400, error="webhook_rejected", message="unreadable")
        report = StatusReport(reference=request.query_params.get("m"), provider_ref=params.get("MessageSid"),
                              status=status_of(params.get("MessageStatus")),
                              error_code=params.get("ErrorCode") or None)  # fmt: skip
        changed = await anyio.to_thread.run_sync(_apply_status, wdb, report)
        return _answer(200, received=True, changed=changed)

    @post("/inbound", status_code=200)
    async def inbound(self, request: Request[Any, Any, Any], wdb: Session, settings: Settings) -> Response[Any]:
        body = await request.body()
        _, params, refused = _verified(request, settings, INBOUND_PATH, body)
        if refused is not None or params is None:
            return refused or _answer(400, error="webhook_rejected", message="unreadable")
        try:
            number = to_e164(params.get("From", ""), "NL", "From")
        except ValidationError:
            number = None
        if number is not None:
            await anyio.to_thread.run_sync(_apply_reply, wdb, number, params.get("Body", ""))
        return Response(_TWIML, status_code=200, media_type="text/xml", headers={"Cache-Control": "no-store"})


def _apply_status(wdb: Session, report: StatusReport) -> bool:
    try:
        changed = record_status(wdb, report)
        wdb.commit()
        return changed
    finally:
        wdb.rollback()


def _apply_reply(wdb: Session, number: str, body: str) -> int:
    try:
        changed = record_reply(wdb, number, body)
        wdb.commit()
        return changed
    finally:
        wdb.rollback()
