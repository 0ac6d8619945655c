"""Every API error is JSON: ``{"error": code, "message": sentence, "field": name-or-null}``.

``Error`` is that body as a struct: the one component every error response of the OpenAPI
document refers to (see ``api.docs.error_responses``).

A request that is not of the documented shape (not JSON, a wrong type, a missing field) is a 400;
a value of the right type outside its declared bounds (``limit`` 0, a currency not of three
letters, a string too long) is a 422, as a value the domain refuses is.
"""

from __future__ import annotations

import logging
import re
from typing import Annotated, Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.handlers import HTTPRouteHandler
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.utils.scope.state import ScopeState
from sqlalchemy.exc import DataError

from adapters.db import RETRY_AFTER, is_busy
from domain.errors import Conflict, DomainError, NotFound

log = logging.getLogger("settle.api")

_STATUS = {NotFound: 404, Conflict: 409}
_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
          415: "unsupported_media_type", 422: "validation_error", 429: "rate_limited", 503: "unavailable"}  # fmt: skip
_JSON_PATH = re.compile(r"`\$\.?([^`]*)`")
_BYTE = re.compile(r"\s*\(byte (\d+)\)$")
# msgspec's words for a value of the right type outside a constraint declared with ``Meta``.
_CONSTRAINT = re.compile(
    r"^(?:Expected `[a-z]+` (?:>=|<=|>|<|matching regex|of length|that is a multiple of)|Invalid enum value)"
)
_TRUNCATED = "Input data was truncated"
_MALFORMED = "JSON is malformed: "


class Error(msgspec.Struct):
    """An error: what went wrong, in a code for programs and a sentence for people."""

    error: Annotated[str, msgspec.Meta(description="A stable code: bad_request, unauthorized, forbidden, not_found, "
                                       "conflict, payload_too_large, validation_error, rate_limited, unavailable, "
                                       "or a more precise one (duplicate_number, database_busy, ...)",
                                       examples=["validation_error"])]  # fmt: skip
    message: Annotated[str, msgspec.Meta(description="What was refused and why, in English",
                                         examples=["limit must be between 1 and 500"])]  # fmt: skip
    field: Annotated[str | None, msgspec.Meta(description="The request field (body path, query parameter or "
                                              "header) at fault, where there is one", examples=["limit"])]  # fmt: skip


def error_body(status: int, message: str, field: str | None = None, code: str | None = None) -> dict[str, Any]:
    return {"error": code or _CODES.get(status, "error"), "message": message, "field": field}


def json_error(status: int, message: str, field: str | None = None, code: str | None = None,
               headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(error_body(status, message, field, code), status_code=status,
                    media_type=MediaType.JSON, headers=headers)


def domain_error_status(exc: DomainError) -> int:
    for cls, status in _STATUS.items():
        if isinstance(exc, cls):
            return status
    return 422


def on_domain_error(_: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    return json_error(domain_error_status(exc), exc.message, exc.field, exc.code)


def _field_from_msgspec(message: str) -> str | None:
    match = _JSON_PATH.search(message)
    if not match:
        return None
    path = match.group(1)
    return path.replace("$.", "") or None


def on_validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    """Litestar/msgspec decode errors, reworded so the field is named and the body is ours."""
    extra = exc.extra if isinstance(exc.extra, list) else []
    message, field = "the request body is not valid JSON of the expected shape", None
    for item in extra:
        if not isinstance(item, dict):
            continue
        raw = str(item.get("message", ""))
        key = item.get("key")
        field = key if isinstance(key, str) and key else _field_from_msgspec(raw)
        if item.get("source") == "query":
            message = f"query parameter {key}: {raw}"
        else:
            message = re.sub(r" - at `[^`]*`", "", raw) or message
            if field:
                message = f"{field}: {message}"
        break
    if not extra and exc.detail:
        message = str(exc.detail)
    if _is_json_syntax(message):
        return _malformed_json(request, message)
    if field == "data" and _cached_body(request) == b"":
        return json_error(400, "the request body is empty; send a JSON object", "body")
    raw_message = str(extra[0].get("message", "")) if extra and isinstance(extra[0], dict) else ""
    return json_error(422 if _CONSTRAINT.match(raw_message) else 400, message, field)


def _is_json_syntax(message: str) -> bool:
    return message.startswith(_MALFORMED) or message == _TRUNCATED


def _json_syntax_error(exc: BaseException) -> str | None:
    """msgspec's message when ``exc`` is (caused by) a JSON syntax error, not a wrong type or value."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, msgspec.DecodeError) and not isinstance(seen, msgspec.ValidationError):
            return str(seen)
        if isinstance(seen, SerializationException | HTTPException) and _is_json_syntax(str(seen.detail)):
            return str(seen.detail)
        seen = seen.__cause__
    return None


def _cached_body(request: Request[Any, Any, Any]) -> bytes | None:
    body = ScopeState.from_scope(request.scope).body
    return body if isinstance(body, bytes) else None


def _position(body: bytes | None, offset: int) -> str:
    if body is None or offset > len(body):
        return f"at byte {offset}"
    line = body.count(b"\n", 0, offset) + 1
    column = offset - (body.rfind(b"\n", 0, offset) + 1) + 1
    return f"at line {line}, column {column} (byte {offset})"


def _malformed_json(request: Request[Any, Any, Any], raw: str) -> Response[Any]:
    """400 naming the body and where its JSON breaks: ``line 1, column 14 (byte 13)``."""
    body = _cached_body(request)
    if raw == _TRUNCATED:
        where = f" {_position(body, len(body))}," if body is not None else ""
        message = f"the request body is not valid JSON: it ends{where} before the JSON value is complete"
    else:
        problem = raw.removeprefix(_MALFORMED)
        match = _BYTE.search(problem)
        if match:
            problem = f"{problem[: match.start()]} {_position(body, int(match.group(1)))}"
        message = f"the request body is not valid JSON: {problem}"
    return json_error(400, message, "body")


def _megabytes(limit: int) -> str:
    if limit % 1_000_000 == 0:
        return f"{limit // 1_000_000} MB"
    if limit % 1000 == 0:
        return f"{limit // 1000} kB"
    return f"{limit} bytes"


def on_too_large(request: Request[Any, Any, Any], exc: RequestEntityTooLarge) -> Response[Any]:
    """413 naming the limit of this endpoint; where the body is a file (``opt={"body_field": "file"}``),
    also the file's name as given in ``?filename=``."""
    handler = request.scope.get("route_handler")
    http = handler if isinstance(handler, HTTPRouteHandler) else None
    limit = http.resolve_request_max_body_size() if http is not None else None
    size = _megabytes(limit) if limit else "the limit"
    field = str(http.opt.get("body_field", "body")) if http is not None else "body"
    if field == "file":
        name = request.query_params.get("filename") or "upload"
        message = f"{name}: the file is larger than {size}"
    else:
        message = f"the request body is larger than {size}"
    return json_error(413, message, field)


def on_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    syntax = _json_syntax_error(exc)
    if syntax is not None:
        return _malformed_json(request, syntax)
    status = exc.status_code
    message = exc.detail if isinstance(exc.detail, str) and exc.detail else _CODES.get(status, "error")
    headers = dict(exc.headers or {})
    return json_error(status, message, None, headers=headers or None)


def _refused_by_database(exc: BaseException) -> tuple[int, str] | None:
    """(status, message) when ``exc`` is (caused by) a value the database refuses: a NUL character
    (PostgreSQL: psycopg's ``ValueError`` or a ``DataError``), a string too long, a number out of range."""
    seen: BaseException | None = exc
    while seen is not None:
        text = str(seen)
        if isinstance(seen, ValueError | DataError) and ("NUL" in text or "0x00" in text):
            return 400, "a value holds a NUL character (U+0000), which is not accepted"
        if isinstance(seen, DataError):
            reason = str(seen.orig).splitlines()[0] if seen.orig is not None else text.splitlines()[0]
            return 422, f"the database refused a value: {reason}"
        seen = seen.__cause__ or seen.__context__
    return None


def on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    refused = _refused_by_database(exc)
    if refused is not None:
        log.warning("value refused by the database on %s %s: %s", request.method, request.url.path, exc)
        return json_error(refused[0], refused[1])
    if is_busy(exc):
        log.warning("database busy on %s %s: %s", request.method, request.url.path, exc)
        return json_error(503, "the database is busy; try again in a moment", code="database_busy",
                          headers={"Retry-After": RETRY_AFTER})
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return json_error(HTTP_500_INTERNAL_SERVER_ERROR, "an unexpected error occurred; it has been logged",
                      code="internal_error")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: on_domain_error,
    ValidationException: on_validation_error,
    RequestEntityTooLarge: on_too_large,
    HTTPException: on_http_exception,
    Exception: on_unexpected,
}
