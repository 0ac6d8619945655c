"""Signed, expiring, revocable links that open a customer's portal.

The token carries the organisation, the customer, the customer's link version
and an expiry, signed with itsdangerous under a salt used for nothing else.
Keys rotate through ``SETTLE_SECRET_KEYS``: the newest signs, every key
verifies. Raising the customer's ``link_version`` revokes every earlier link.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session

from domain.events import record
from domain.models import Customer

SALT = "settle.portal-link.v1"
DEFAULT_DAYS = 30
MAX_DAYS = 365


@dataclass(frozen=True)
class Link:
    url: str
    token: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class Verdict:
    status: Literal["valid", "unknown", "expired", "revoked"]
    customer: Customer | None = None


def _serializer(secret_keys: tuple[str, ...] | list[str]) -> URLSafeSerializer:
    if not secret_keys:
        raise RuntimeError("no secret keys configured")
    return URLSafeSerializer(list(secret_keys), salt=SALT)


def issue(
    session: Session,
    customer: Customer,
    *,
    secret_keys: tuple[str, ...],
    base_url: str,
    now: dt.datetime,
    expires_in_days: int = DEFAULT_DAYS,
) -> Link:
    expires_at = (now + dt.timedelta(days=expires_in_days)).replace(microsecond=0)
    payload = {
        "o": customer.org_id,
        "c": customer.id,
        "v": customer.link_version,
        "x": int(expires_at.timestamp()),
    }
    token = _serializer(secret_keys).dumps(payload)
    assert isinstance(token, str)
    record(session, customer.org_id, "portal_link.issued", customer, expires_at=expires_at.isoformat())
    return Link(url=f"{base_url.rstrip('/')}/p/{token}", token=token, expires_at=expires_at)


def verify(session: Session, token: str, *, secret_keys: tuple[str, ...], now: dt.datetime) -> Verdict:
    try:
        payload = _serializer(secret_keys).loads(token)
    except BadSignature:
        return Verdict("unknown")
    if not isinstance(payload, dict) or not {"o", "c", "v", "x"} <= payload.keys():
        return Verdict("unknown")
    customer = session.get(Customer, payload["c"])
    if customer is None or customer.org_id != payload["o"]:
        return Verdict("unknown")
    if payload["v"] != customer.link_version:
        return Verdict("revoked", customer)
    if now.timestamp() >= payload["x"]:
        return Verdict("expired", customer)
    return Verdict("valid", customer)


def revoke_all(session: Session, customer: Customer) -> int:
    customer.link_version += 1
    record(session, customer.org_id, "portal_link.revoked_all", customer, link_version=customer.link_version)
    return customer.link_version
