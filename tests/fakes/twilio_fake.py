"""A fake of the part of Twilio's Programmable Messaging that Settle uses.

It answers the official ``twilio`` SDK (point ``client.api.base_url`` here, which
``SETTLE_SMS_API_BASE`` does): ``POST /2010-04-01/Accounts/{sid}/Messages.json`` with HTTP
basic auth (Account SID and Auth Token) creates a message (``queued``, an ``SM…`` sid,
``date_created`` in RFC 2822) and ``GET`` of the same path lists them, newest first, filtered
by ``To``. It keeps every message it accepted, so a test can count what reached a phone,
and sends what Twilio sends: status callbacks to the message's ``StatusCallback`` URL and
replies to an inbound URL, signed as Twilio signs them (``X-Twilio-Signature``: base64 of
HMAC-SHA1 over the URL and the sorted form fields, with the Auth Token, computed here with
the SDK's own ``RequestValidator``).

``on_create(n, message)`` is called for the n-th message after it is stored and before the
answer goes back, so a test can kill the sender in the one moment that matters: the
provider has the message and the sender never hears so.
"""

from __future__ import annotations

import base64
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import format_datetime
from typing import Any

import httpx
from litestar import Litestar, Request, Response, get, post
from twilio.request_validator import RequestValidator

from domain.models import utcnow


@dataclass(frozen=True)
class Signed:
    """A webhook as Twilio sends it: where to, the form fields, the signature header."""

    url: str
    data: dict[str, str]
    headers: dict[str, str]

    def send(self) -> int:
        return httpx.post(self.url, data=self.data, headers=self.headers, timeout=10).status_code


@dataclass
class FakeTwilio:
    account_sid: str = "AC" + "0" * 31 + "1"
    auth_token: str = "fake-twilio-auth-token"
    base_url: str = ""
    messages: list[dict[str, Any]] = field(default_factory=list)
    on_create: Callable[[int, dict[str, Any]], None] | None = None
    refuse: dict[str, tuple[int, int, str]] = field(default_factory=dict)  # To -> (HTTP status, code, message)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # --- what a test reads ------------------------------------------------------------------

    def to(self, number: str) -> list[dict[str, Any]]:
        with self.lock:
            return [m for m in self.messages if m["to"] == number]

    def sign(self, url: str, params: dict[str, str]) -> str:
        return str(RequestValidator(self.auth_token).compute_signature(url, params))

    # --- what Twilio sends ------------------------------------------------------------------

    def report_request(self, sid: str, status: str, *, error_code: str | None = None, token: str | None = None,
                       url: str | None = None) -> Signed:  # fmt: skip
        """The status callback Twilio would POST for message ``sid`` to its ``StatusCallback``
        (``token``: signed with another token, as a forger would; ``url``: signed for another URL)."""
        with self.lock:
            m = next(m for m in self.messages if m["sid"] == sid)
            m["status"] = status
        params = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status,
                  "AccountSid": self.account_sid, "To": m["to"], "From": m["from"], "ApiVersion": "2010-04-01"}
        if error_code:
            params["ErrorCode"] = error_code
        return self._signed(m["status_callback"], params, token, signed_url=url)

    def reply_request(self, url: str, *, from_number: str, body: str, to: str = "+3197010000000",
                      token: str | None = None) -> Signed:  # fmt: skip
        """An incoming message (a debtor's reply) as Twilio's messaging webhook POSTs it to ``url``."""
        params = {"MessageSid": "SM" + secrets.token_hex(16), "AccountSid": self.account_sid, "From": from_number,
                  "To": to, "Body": body, "NumMedia": "0", "ApiVersion": "2010-04-01"}  # fmt: skip
        return self._signed(url, params, token)

    def report(self, sid: str, status: str, **kw: Any) -> int:
        """``report_request``, sent (to a server that listens at the callback URL)."""
        return self.report_request(sid, status, **kw).send()

    def _signed(self, url: str, params: dict[str, str], token: str | None, signed_url: str | None = None) -> Signed:
        signature = str(RequestValidator(token or self.auth_token).compute_signature(signed_url or url, params))
        return Signed(url, params, {"X-Twilio-Signature": signature})

    # --- the HTTP side ----------------------------------------------------------------------

    def app(self) -> Litestar:
        fake = self
        path = "/2010-04-01/Accounts/{sid:str}/Messages.json"

        def authorised(request: Request[Any, Any, Any], sid: str) -> bool:
            expected = base64.b64encode(f"{fake.account_sid}:{fake.auth_token}".encode()).decode()
            return sid == fake.account_sid and request.headers.get("authorization", "") == f"Basic {expected}"

        def error(status: int, code: int, message: str) -> Response[Any]:
            return Response({"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
                             "status": status}, status_code=status)  # fmt: skip

        def resource(m: dict[str, Any]) -> dict[str, Any]:
            return {k: v for k, v in m.items() if k != "status_callback"}

        @post(path, status_code=201)
        async def create(request: Request[Any, Any, Any], sid: str) -> Response[Any]:
            if not authorised(request, sid):
                return error(401, 20003, "Authenticate")
            form = dict(await request.form())
            to, body, sender = form.get("To", ""), form.get("Body", ""), form.get("From", "")
            if not to or not body or not sender:
                return error(400, 21604, "A 'To', 'From' and 'Body' are required")
            if to in fake.refuse:
                status, code, why = fake.refuse[to]
                return error(status, code, why)
            now = format_datetime(utcnow(), usegmt=True)
            message: dict[str, Any] = {
                       "sid": "SM" + secrets.token_hex(16), "account_sid": sid, "to": to, "from": sender,
                       "body": body, "status": "queued", "direction": "outbound-api", "num_segments": "1",
                       "date_created": now, "date_updated": now,
                       "date_sent": None, "error_code": None, "error_message": None, "price": None,
                       "api_version": "2010-04-01", "uri": f"/2010-04-01/Accounts/{sid}/Messages/x.json",
                       "status_callback": form.get("StatusCallback")}  # fmt: skip
            with fake.lock:
                fake.messages.append(message)
                n = len(fake.messages)
            if fake.on_create is not None:
                fake.on_create(n, message)
            return Response(resource(message), status_code=201)

        @get(path)
        async def listing(request: Request[Any, Any, Any], sid: str) -> Response[Any]:
            if not authorised(request, sid):
                return error(401, 20003, "Authenticate")
            to = request.query_params.get("To")
            size = int(request.query_params.get("PageSize") or 50)
            with fake.lock:
                found = [resource(m) for m in reversed(fake.messages) if to is None or m["to"] == to][:size]
            return Response({"messages": found, "page": 0, "page_size": size, "first_page_uri": None,
                             "next_page_uri": None, "previous_page_uri": None, "uri": None, "start": 0, "end": 0})

        return Litestar(route_handlers=[create, listing], debug=False)
