"""Every API error is JSON: ``{"error": code, "message": sentence, "field": name-or-null}``."""

from __future__ import annotations

import logging
import re
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from domain.errors import Conflict, DomainError, NotFound

log = logging.getLogger("settle.api")

_STATUS = {NotFound: 404, Conflict: 409}
_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
          415: "unsupported_media_type", 422: "validation_error", 429: "rate_limited"}  # fmt: skip
_JSON_PATH = re.compile(r"`\$\.?([^`]*)`")


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


def on_validation_error(_: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
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
    if ("JSON" in message and "malformed" in message.lower()) or message.startswith("JSON is malformed"):
        field = None
    return json_error(400, message, field)


def on_http_exception(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    message = exc.detail if isinstance(exc.detail, str) and exc.detail else _CODES.get(status, "error")
    headers = dict(exc.headers or {})
    return json_error(status, message, None, headers=headers or None)


def on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return json_error(HTTP_500_INTERNAL_SERVER_ERROR, "an unexpected error occurred; it has been logged",
                      code="internal_error")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: on_domain_error,
    ValidationException: on_validation_error,
    HTTPException: on_http_exception,
    Exception: on_unexpected,
}
