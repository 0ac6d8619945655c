"""The debtor's session: a signed cookie, scoped to one customer, with its CSRF token.

The cookie carries the organisation, the customer, the customer's
``link_version`` when the link was opened, a CSRF token and an expiry, signed
with itsdangerous under the salt ``settle.portal-session`` (keys rotate like
link keys: the newest signs, all verify). Nothing in a form can move it to
another customer. Raising ``link_version`` (revoking links) ends every session
opened from those links.

Each session also carries a random session id. Signing out records that id in
``portal_sessions_revoked`` until the cookie would have expired, so a copy of
the cookie kept after sign-out is refused; other sessions of the same customer
(another device, another link opened) go on. ``current`` checks the signature,
the customer, the link version and the revocation in one query.

Pages reached before there is a session (the expired-link page, the sandbox
checkout) use a second signed cookie that only holds a CSRF token
(double-submit).
"""

from __future__ import annotations

import datetime as dt
import functools
import hmac
import secrets
from dataclasses import dataclass, replace
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from litestar import Request, Response
from sqlalchemy import bindparam, delete, exists, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from adapters.settings import Settings
from domain.models import Customer, Organisation, PortalSessionRevoked
from portal.errors import CsrfRefused, NoSession

COOKIE = "settle_portal"
SALT = "settle.portal-session"
CSRF_COOKIE = "settle_csrf"
CSRF_SALT = "settle.portal-csrf"
LIFETIME = dt.timedelta(hours=4)
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True)
class PortalSession:
    org_id: str
    customer_id: str
    link_version: int
    csrf: str
    expires: int  # unix seconds
    lang: str | None = None
    session_id: str = ""  # random per session; revoked at sign-out (cookies without one are refused)


@dataclass
class Visitor:
    """A request with a valid session: who it is for, in which language."""

    session: PortalSession
    customer: Customer
    org: Organisation
    lang: str
    renew_cookie: bool = False  # the language was switched: set the cookie again


def _signer(settings: Settings, salt: str) -> URLSafeSerializer:
    settings.require_secret()
    return _serializer(settings.secret_keys, salt)


@functools.lru_cache(maxsize=16)
def _serializer(keys: tuple[str, ...], salt: str) -> URLSafeSerializer:
    """Made once per set of keys: every portal request checks its cookie."""
    return URLSafeSerializer(list(keys), salt=salt)


def encode(settings: Settings, s: PortalSession) -> str:
    token = _signer(settings, SALT).dumps(
        {"o": s.org_id, "c": s.customer_id, "v": s.link_version, "t": s.csrf, "x": s.expires, "l": s.lang,
         "s": s.session_id}
    )  # fmt: skip
    return str(token)


def decode(settings: Settings, value: str) -> PortalSession | None:
    try:
        data = _signer(settings, SALT).loads(value)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not {"o", "c", "v", "t", "x", "s"} <= data.keys():
        return None
    if not isinstance(data["s"], str) or not data["s"]:
        return None
    return PortalSession(data["o"], data["c"], data["v"], data["t"], data["x"], data.get("l"), data["s"])


def open_for(customer: Customer, now: dt.datetime, lang: str | None = None) -> PortalSession:
    return PortalSession(
        org_id=customer.org_id, customer_id=customer.id, link_version=customer.link_version,
        csrf=secrets.token_urlsafe(24), expires=int((now + LIFETIME).timestamp()), lang=lang,
        session_id=secrets.token_urlsafe(24),
    )  # fmt: skip


def with_lang(s: PortalSession, lang: str) -> PortalSession:
    return replace(s, lang=lang)


def current(request: Request[Any, Any, Any], db: Session, settings: Settings, now: dt.datetime) -> Visitor | None:
    """The visitor's session if the cookie is authentic, unexpired, not signed out and still
    matches the customer (one query)."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    s = decode(settings, raw)
    if s is None or now.timestamp() >= s.expires:
        return None
    found = db.execute(_visitor_query(), {"customer": s.customer_id, "org": s.org_id, "session": s.session_id}).first()
    if found is None:
        return None
    customer, org = found
    if customer.link_version != s.link_version:
        return None
    return Visitor(session=s, customer=customer, org=org, lang=s.lang or customer.locale)


@functools.cache
def _visitor_query() -> Any:
    """The customer and organisation of a session not signed out; built once (it runs on every
    portal request), its values bound per call."""
    signed_out = exists().where(PortalSessionRevoked.session_id == bindparam("session"))
    return (
        select(Customer, Organisation)
        .join(Organisation, Organisation.id == Customer.org_id)
        .where(Customer.id == bindparam("customer"), Customer.org_id == bindparam("org"), ~signed_out)
    )


def require(request: Request[Any, Any, Any], db: Session, settings: Settings, now: dt.datetime) -> Visitor:
    visitor = current(request, db, settings, now)
    if visitor is None:
        raise NoSession()
    return visitor


def revoke(db: Session, s: PortalSession, now: dt.datetime) -> None:
    """End ``s`` on the server (sign-out), and forget sessions revoked earlier that have expired
    anyway. Commits. Signing out twice at once is one revocation."""
    try:
        db.execute(delete(PortalSessionRevoked).where(PortalSessionRevoked.expires_at <= now))
        db.execute(insert(PortalSessionRevoked).values(
            session_id=s.session_id, expires_at=dt.datetime.fromtimestamp(s.expires, dt.UTC)))  # fmt: skip
        db.commit()
    except IntegrityError:  # a concurrent sign-out of the same session got there first
        db.rollback()


def set_session_cookie(response: Response[Any], settings: Settings, s: PortalSession, now: dt.datetime) -> None:
    response.set_cookie(
        COOKIE, encode(settings, s), max_age=max(0, s.expires - int(now.timestamp())), path="/",
        httponly=True, samesite="lax", secure=settings.base_url.startswith("https://"),
    )  # fmt: skip


def clear_session_cookie(response: Response[Any], settings: Settings) -> None:
    response.set_cookie(COOKIE, "", max_age=0, path="/", httponly=True, samesite="lax",
                        secure=settings.base_url.startswith("https://"))  # fmt: skip


# --- CSRF --------------------------------------------------------------------------


def _given(request: Request[Any, Any, Any], form: dict[str, Any]) -> str:
    value = form.get(CSRF_FIELD)
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value or request.headers.get(CSRF_HEADER) or "")


def check_csrf(request: Request[Any, Any, Any], form: dict[str, Any], expected: str | None) -> None:
    given = _given(request, form)
    if not expected or not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise CsrfRefused()


def anonymous_csrf(request: Request[Any, Any, Any], settings: Settings) -> str | None:
    raw = request.cookies.get(CSRF_COOKIE)
    if not raw:
        return None
    try:
        value = _signer(settings, CSRF_SALT).loads(raw)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def ensure_anonymous_csrf(request: Request[Any, Any, Any], settings: Settings) -> tuple[str, str | None]:
    """The anonymous CSRF token, and a cookie value to set when there was none yet."""
    token = anonymous_csrf(request, settings)
    if token is not None:
        return token, None
    token = secrets.token_urlsafe(24)
    return token, str(_signer(settings, CSRF_SALT).dumps(token))


def set_csrf_cookie(response: Response[Any], settings: Settings, value: str) -> None:
    response.set_cookie(CSRF_COOKIE, value, max_age=int(LIFETIME.total_seconds()), path="/", httponly=True,
                        samesite="strict", secure=settings.base_url.startswith("https://"))  # fmt: skip
