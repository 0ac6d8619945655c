"""Portal errors are friendly HTML pages, never JSON, and never say more than they must.

``html_for_portal`` wraps the app's (JSON) exception handlers: a request under
a portal path gets an HTML page, everything else what it got before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotFoundException, TooManyRequestsException, ValidationException

from adapters.db import RETRY_AFTER, is_busy
from domain.errors import DomainError, NotFound

log = logging.getLogger("settle.portal")

PORTAL_PREFIXES = ("/p/", "/portal", "/sandbox/", "/demo/")


def is_portal_path(path: str) -> bool:
    return path == "/p" or any(path == p.rstrip("/") or path.startswith(p) for p in PORTAL_PREFIXES)


class PortalError(Exception):
    """An answer the portal gives as a page: a status, a template and words."""

    status = 400
    template = "portal/message.html.j2"
    title = "error_title"
    body = "error_body"

    def __init__(self, headers: dict[str, str] | None = None) -> None:
        super().__init__(self.title)
        self.headers = headers or {}


class PageNotFound(PortalError):
    status, template, title, body = 404, "portal/404.html.j2", "nf_title", "nf_body"


class NoSession(PortalError):
    status, title, body = 403, "ended_title", "ended_body"


class CsrfRefused(PortalError):
    status, title, body = 403, "csrf_title", "csrf_body"


class RateLimited(PortalError):
    status, template, title, body = 429, "portal/429.html.j2", "slow_title", "slow_body"

    def __init__(self, retry_after: float, headers: dict[str, str] | None = None) -> None:
        super().__init__({**(headers or {}), "Retry-After": str(max(1, int(retry_after + 0.999)))})

    @classmethod
    def of(cls, exc: TooManyRequestsException) -> RateLimited:
        """Litestar's 429 (``portal.security``'s limits) as the page; its reset is the wait."""
        headers = dict(exc.headers or {})
        reset = headers.get("RateLimit-Reset", "")
        return cls(float(reset) if reset.isdigit() else 60.0, headers)


class Busy(PortalError):
    """Too many requests at once for the database: come back in a moment (503, Retry-After)."""

    status, title, body = 503, "busy_title", "busy_body"

    def __init__(self) -> None:
        super().__init__({"Retry-After": RETRY_AFTER})


def _lang(request: Request[Any, Any, Any]) -> str:
    from portal.i18n import from_accept_language, pick

    return pick(request.query_params.get("lang"), from_accept_language(request.headers.get("accept-language")))


def page_for(request: Request[Any, Any, Any], exc: PortalError) -> Response[Any]:
    from portal.pages import render

    return render(exc.template, lang=_lang(request), status=exc.status, headers=exc.headers,
                  title_key=exc.title, body_key=exc.body)  # fmt: skip


def on_portal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, PortalError):
        return page_for(request, exc)
    if isinstance(exc, NotFound | NotFoundException):
        return page_for(request, PageNotFound())
    if isinstance(exc, TooManyRequestsException):
        return page_for(request, RateLimited.of(exc))
    if isinstance(exc, DomainError | ValidationException):
        return page_for(request, PortalError())
    if isinstance(exc, HTTPException):
        error = PortalError(dict(exc.headers or {}))
        error.status = exc.status_code
        if exc.status_code == 405:  # a wrong method on a page is a page that is not there
            return page_for(request, PageNotFound())
        return page_for(request, error)
    if is_busy(exc):
        log.warning("database busy on %s %s: %s", request.method, request.url.path, exc)
        return page_for(request, Busy())
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    error = PortalError()
    error.status = 500
    return page_for(request, error)


def html_for_portal(json_handlers: dict[Any, Any]) -> dict[Any, Any]:
    """The app's handlers, answering HTML pages for portal paths."""

    def dispatch(original: Callable[..., Response[Any]] | None) -> Callable[..., Response[Any]]:
        def handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
            if is_portal_path(request.url.path) or original is None:
                return on_portal_error(request, exc)
            return original(request, exc)

        return handler

    handlers = {cls: dispatch(h) for cls, h in json_handlers.items()}
    handlers[PortalError] = dispatch(None)
    return handlers

