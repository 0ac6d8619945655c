"""Response headers for every portal answer, and rate limits per client address.

The headers are added in a ``before_send`` hook, so they are on every portal
response: pages, redirects, partials, and error pages raised before any route
matched. A handler that sets its own Content-Security-Policy (the demo
mailbox's e-mail view) keeps it; ``Cache-Control: no-store`` is always forced.

The limits are Litestar's ``RateLimitMiddleware``, one per limited route, counting in the
app's ``rate_limit`` store (``adapters.stores``: memory, or Redis shared by every worker).
The client address is ``request.client.host``: the peer, or behind a load balancer the
forwarded address once ``settle serve --proxy-headers`` trusts it.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from litestar import Request
from litestar.datastructures import MutableScopeHeaders
from litestar.exceptions import TooManyRequestsException
from litestar.middleware.base import DefineMiddleware
from litestar.middleware.rate_limit import DURATION_VALUES, RateLimitConfig, RateLimitMiddleware
from litestar.stores.base import Store
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from adapters.stores import RATE_LIMIT_STORE, StoreUnavailable, count_in_window
from portal.errors import is_portal_path

logger = logging.getLogger("settle.portal")

# The providers' hosted checkouts must be allowed as form targets: browsers apply form-action
# to the redirect that follows a form post, and ``POST /portal/pay`` answers with one.
PROVIDER_CHECKOUTS = ("https://www.mollie.com", "https://checkout.stripe.com")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@functools.lru_cache(maxsize=16)
def checkout_origins(mollie_api_base: str | None, stripe_api_base: str | None) -> tuple[str, ...]:
    """Where ``/portal/pay`` may send the payer: the real checkouts, and the hosts that stand in
    for the providers when their API base is pointed elsewhere (their checkout pages live there)."""
    overrides = [_origin(u) for u in (mollie_api_base, stripe_api_base) if u]
    return tuple(dict.fromkeys([*PROVIDER_CHECKOUTS, *overrides]))


@functools.lru_cache(maxsize=16)
def content_security_policy(checkouts: tuple[str, ...] = PROVIDER_CHECKOUTS) -> str:
    form_action = " ".join(["'self'", *checkouts])
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        f"form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
    )


def _headers(checkouts: tuple[str, ...]) -> dict[bytes, bytes]:
    return {
        b"cache-control": b"no-store",
        b"referrer-policy": b"no-referrer",
        b"content-security-policy": content_security_policy(checkouts).encode(),
        b"x-content-type-options": b"nosniff",
        b"x-frame-options": b"DENY",
        b"cross-origin-opener-policy": b"same-origin",
        b"permissions-policy": b"camera=(), microphone=(), geolocation=(), payment=()",
    }


FORCED = {b"cache-control", b"referrer-policy", b"x-content-type-options"}


async def portal_headers(message: Message, scope: Scope) -> None:
    """``before_send`` hook: security headers on every response under a portal path."""
    if message["type"] != "http.response.start" or scope.get("type") != "http":
        return
    path = scope.get("path", "")
    if path.startswith("/static/"):
        message["headers"] = [*message.get("headers", []), (b"x-content-type-options", b"nosniff")]
        return
    if not is_portal_path(path):
        return
    app = scope.get("app")
    settings = getattr(getattr(app, "state", None), "settings", None)
    checkouts = (
        checkout_origins(settings.mollie_api_base, settings.stripe_api_base)
        if settings is not None
        else PROVIDER_CHECKOUTS
    )
    wanted = _headers(checkouts)
    kept = []
    for name, value in message.get("headers", []):
        low = bytes(name).lower()
        if low in FORCED:
            continue
        if low in wanted:
            wanted.pop(low)
        kept.append((name, value))
    message["headers"] = kept + list(wanted.items())


# --- rate limits ------------------------------------------------------------------


class PortalRateLimitMiddleware(RateLimitMiddleware):
    """A fixed window per bucket and client address, counted atomically in the app's store.

    Litestar's own middleware reads the history, decides, then writes it back: two workers
    sharing Redis can both read 19 and both let a twenty-first request through. Here the count is
    one ``INCR`` (with the window's expiry set by the first request of the window) in a Redis
    transaction, so every worker and machine agrees on who is over. The memory store, one
    process's own, counts under the middleware's lock.

    Over the limit it raises Litestar's ``TooManyRequestsException``; the portal's error handler
    answers it with the 429 page and ``Retry-After`` (``portal.errors``). When Redis cannot be
    reached mid-flight the request goes through uncounted and the outage is logged (fail open):
    the limits are a brake on guessing and on cost, the links themselves are signed, and a
    debtor's statement should not go down with a cache. ``settle serve`` still refuses to start
    without the Redis it was given (``adapters.stores.unreachable``)."""

    config: PortalLimit

    def __init__(self, app: ASGIApp, config: PortalLimit) -> None:
        super().__init__(app, config)
        self.window = config.window or DURATION_VALUES[self.unit]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = scope["litestar_app"]
        request: Request[Any, Any, Any] = app.request_class(scope)
        if not await self.should_check_request(request=request):
            await self.app(scope, receive, send)
            return
        key = self.cache_key_from_request(request)
        try:
            count, reset_in = await self.count(key, self.config.get_store_from_app(app))
        except StoreUnavailable as exc:
            _log_outage(exc)
            await self.app(scope, receive, send)
            return
        headers = self.headers(count, reset_in)
        if count > self.max_requests:
            raise TooManyRequestsException(headers=headers)
        await self.app(scope, receive, self.with_headers(send, headers))

    def cache_key_from_request(self, request: Request[Any, Any, Any]) -> str:
        return f"{self.config.bucket}:{self.get_identifier_for_request(request)}"

    async def count(self, key: str, store: Store) -> tuple[int, int]:
        """This request's number in its window, and the seconds until the window ends."""
        return await count_in_window(store, key, self.window, self._lock)

    def headers(self, count: int, reset_in: int) -> dict[str, str]:
        config = self.config
        return {
            config.rate_limit_limit_header_key: str(self.max_requests),
            config.rate_limit_remaining_header_key: str(max(0, self.max_requests - count)),
            config.rate_limit_reset_header_key: str(reset_in),
            config.rate_limit_policy_header_key: f"{self.max_requests}; w={self.window}",
        }

    @staticmethod
    def with_headers(send: Send, headers: dict[str, str]) -> Send:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                mutable = MutableScopeHeaders(message)
                for name, value in headers.items():
                    mutable[name] = value
            await send(message)

        return sending


_last_outage_logged = 0.0


def _log_outage(exc: Exception) -> None:
    """One warning a minute while the shared store is away, not one per request."""
    global _last_outage_logged
    now = time.monotonic()
    if now - _last_outage_logged >= 60:
        _last_outage_logged = now
        logger.warning("rate limits are not counted: the shared store is unreachable (%s)", exc)


@dataclass
class PortalLimit(RateLimitConfig):
    """One of the portal's limits: Litestar's ``RateLimitConfig`` for one route and its own bucket.

    ``window`` is for limits whose window is not one unit of ``rate_limit`` (5 per 10 minutes)."""

    bucket: str = ""
    method: str = "GET"
    path: str = ""  # the route's path template, as Litestar puts it in the scope
    window: int | None = None
    store: str = RATE_LIMIT_STORE
    middleware_class: type[RateLimitMiddleware] = PortalRateLimitMiddleware

    def __post_init__(self) -> None:
        if self.check_throttle_handler is None:
            self.check_throttle_handler = self.applies
        super().__post_init__()

    def applies(self, request: Request[Any, Any, Any]) -> bool:
        return request.method == self.method and request.scope.get("path_template") == self.path


RATE_LIMITS = (
    # opening /p/ links: 20 a minute per address (a good link counts too: tries, not failures)
    PortalLimit(bucket="link", rate_limit=("minute", 20), method="GET", path="/p/{token}"),
    # asking for a fresh link: 5 per 10 minutes per address
    PortalLimit(bucket="renew", rate_limit=("minute", 5), window=600, method="POST", path="/p/renew"),
    # starting payments: 10 a minute per address
    PortalLimit(bucket="pay", rate_limit=("minute", 10), method="POST", path="/portal/pay"),
)


def limited(bucket: str) -> list[DefineMiddleware]:
    """The middleware of one limit, for its route handler's ``middleware=``: only the limited
    routes pay for counting (as app middleware every page checked all three)."""
    return [limit.middleware for limit in RATE_LIMITS if limit.bucket == bucket]
