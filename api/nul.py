"""Refuse a NUL character in a request before it can reach the database.

PostgreSQL refuses NUL (U+0000) in text; psycopg raises ``ValueError`` when one is
bound, which would answer 500 wherever a string from the request is stored or
compared. This ASGI middleware answers 400 ``{error, message, field}`` instead,
for a NUL in the path, in a query parameter, or in a string of a JSON or form body
(the field is named where it is known). Bodies of other types (a bank statement,
binary uploads) are passed on untouched; ``api.errors`` turns a NUL refused by
the database there into a 400 as well.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

import msgspec
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

# Only bodies up to this size are read ahead (the largest request an endpoint accepts is 50 MB);
# a longer one is passed on as it comes, and the endpoint's own limit refuses it.
MAX_READ_AHEAD = 60_000_000
_JSON_NUL = b"\\u0000"


def _find_in_json(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        return path or "body" if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return where
            found = _find_in_json(item, where)
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _find_in_json(item, f"{path}[{i}]")
            if found is not None:
                return found
    return None


def _in_query(query: bytes) -> str | None:
    """The name of the query parameter holding a NUL, ``query`` when the name itself does."""
    if b"%00" not in query and b"\x00" not in query:
        return None
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if "\x00" in value:
            return name if "\x00" not in name else "query"
        if "\x00" in name:
            return "query"
    return "query"


def _in_body(content_type: str, body: bytes) -> str | None:
    if "json" in content_type:
        if b"\x00" in body:
            return "body"
        if _JSON_NUL not in body:
            return None
        try:
            return _find_in_json(msgspec.json.decode(body), "")
        except (msgspec.DecodeError, RecursionError):
            return None  # not JSON: the endpoint says so
    if content_type.startswith("application/x-www-form-urlencoded"):
        if b"%00" not in body and b"\x00" not in body:
            return None
        return _in_query(body) or "body"
    if content_type.startswith("text/") and b"\x00" in body:
        return "body"
    return None


def _refusal(field: str) -> tuple[dict[str, Any], bytes]:
    what = "the path" if field == "path" else ("the request body" if field == "body" else field)
    payload = {"error": "bad_request", "message": f"{what} holds a NUL character (U+0000), which is not accepted",
               "field": field}  # fmt: skip
    body = json.dumps(payload).encode()
    start = {"type": "http.response.start", "status": 400,
             "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]}
    return start, body


class NulGuard:
    """ASGI middleware: 400 for a NUL in the path, the query or a JSON/form/text body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_path = (scope.get("raw_path") or b"").split(b"?", 1)[0]  # some servers leave the query on it
        field: str | None = None
        if "\x00" in scope.get("path", "") or b"\x00" in unquote_to_bytes(raw_path):
            field = "path"
        else:
            field = _in_query(scope.get("query_string") or b"")
        if field is not None:
            await _send_refusal(send, field)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        length = headers.get(b"content-length", b"")
        wanted = ("json" in content_type or content_type.startswith(("application/x-www-form-urlencoded", "text/")))
        if not wanted or (length.isdigit() and int(length) > MAX_READ_AHEAD):
            await self.app(scope, receive, send)
            return
        messages: list[ReceiveMessage] = []
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            if not message.get("more_body", False) or size > MAX_READ_AHEAD:
                break
        complete = messages[-1]["type"] == "http.request" and not messages[-1].get("more_body", False)
        if complete:
            field = _in_body(content_type, b"".join(chunks))
            if field is not None:
                await _send_refusal(send, field)
                return

        async def replay() -> ReceiveMessage:
            if messages:
                return messages.pop(0)
            return await receive()

        await self.app(scope, replay, send)


async def _send_refusal(send: Send, field: str) -> None:
    start, body = _refusal(field)
    await send(start)  # type: ignore[arg-type]
    await send({"type": "http.response.body", "body": body, "more_body": False})
