"""Response headers for every portal answer, and in-memory rate limits per client IP.

The headers are added in a ``before_send`` hook, so they are on every portal
response: pages, redirects, partials, and error pages raised before any route
matched. A handler that sets its own Content-Security-Policy (the demo
mailbox's e-mail view) keeps it; ``Cache-Control: no-store`` is always forced.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from litestar import Litestar, Request
from litestar.types import Message, Scope

from portal.errors import RateLimited, is_portal_path

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

LIMITS: dict[str, tuple[int, float]] = {
    "link": (20, 60.0),  # opening /p/ links: 20 a minute per IP
    "renew": (5, 600.0),  # asking for a fresh link: 5 per 10 minutes per IP
    "pay": (10, 60.0),  # starting payments: 10 a minute per IP
}


class Limiter:
    """A sliding window per (bucket, key) in memory; one process, as the issue asks."""

    def __init__(self, limits: dict[str, tuple[int, float]] | None = None,
                 clock: Callable[[], float] = time.monotonic, max_keys: int = 50_000) -> None:  # fmt: skip
        self.limits = dict(limits or LIMITS)
        self.clock = clock
        self.max_keys = max_keys
        self._hits: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, bucket: str, key: str) -> float | None:
        """Count a hit; the seconds to wait if over the limit, else ``None``."""
        count, window = self.limits[bucket]
        now = self.clock()
        with self._lock:
            if len(self._hits) > self.max_keys:
                self._sweep(now)
            hits = self._hits.setdefault((bucket, key), deque())
            while hits and hits[0] <= now - window:
                hits.popleft()
            if len(hits) >= count:
                return hits[0] + window - now
            hits.append(now)
            return None

    def _sweep(self, now: float) -> None:
        longest = max(w for _, w in self.limits.values())
        for k in [k for k, v in self._hits.items() if not v or v[-1] <= now - longest]:
            del self._hits[k]

    def check(self, bucket: str, request: Request[Any, Any, Any]) -> None:
        wait = self.hit(bucket, client_ip(request))
        if wait is not None:
            raise RateLimited(wait)


def client_ip(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


_lock = threading.Lock()


def limiter_of(app: Litestar) -> Limiter:
    """The app's limiter, made on first use (one per app instance)."""
    found = app.state.get("portal_limiter")
    if found is None:
        with _lock:
            found = app.state.get("portal_limiter")
            if found is None:
                found = app.state["portal_limiter"] = Limiter()
    assert isinstance(found, Limiter)
    return found
