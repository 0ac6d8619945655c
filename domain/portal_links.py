"""Signed, expiring, revocable links that open a customer's portal.

The token carries the organisation, the customer, the customer's link version
and an expiry, signed with itsdangerous under a salt used for nothing else.
Keys rotate through ``SETTLE_SECRET_KEYS``: the newest signs, every key
verifies. Raising the customer's ``link_version`` revokes every earlier link.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from itsdangerous import BadSignature, URLSafeSerializer
from itsdangerous.encoding import base64_encode, want_bytes
from itsdangerous.signer import HMACAlgorithm
from sqlalchemy.orm import Session

from domain.events import record
from domain.ids import decode_number as _decode_id
from domain.ids import encode_number as _encode_id
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


class Holder(Protocol):
    """What a link is signed for: a ``Customer``, or a row of these columns."""

    @property
    def id(self) -> str: ...
    @property
    def org_id(self) -> str: ...
    @property
    def link_version(self) -> int: ...


def sign_many(
    customers: Sequence[Holder],
    *,
    secret_keys: tuple[str, ...],
    base_url: str,
    now: dt.datetime,
    expires_in_days: int = DEFAULT_DAYS,
) -> list[Link]:
    """``issue``'s links for many customers at once, without recording them: the caller stores
    ``issued_event`` of each in one multi-row statement (a dunning run: one per batch).

    The same tokens ``issue`` makes (``URLSafeSerializer.dumps``: compact JSON, compressed when
    that is shorter, base64, an HMAC of it), spelled out here so that a batch derives the key
    once and each token costs a few C calls: the JSON of an id that needs no escaping is the id
    in quotes, and the signature is one ``hmac.digest`` (19 -> about 6 µs a token; any other id
    goes through the serializer's own JSON). tests/unit/test_portal_link_tokens.py holds them
    equal to the serializer's."""
    if not customers:
        return []
    expires_at = (now + dt.timedelta(days=expires_in_days)).replace(microsecond=0)
    x = int(expires_at.timestamp())
    serializer = _serializer(secret_keys)
    signer = serializer.make_signer()
    algorithm = signer.algorithm
    if not isinstance(algorithm, HMACAlgorithm):
        raise TypeError("portal links are signed with an HMAC")
    # By name, so that ``hmac.digest`` takes OpenSSL's one-shot path (itsdangerous passes a wrapper).
    key, sep, digest = signer.derive_key(), signer.sep, algorithm.digest_method().name
    root = base_url.rstrip("/")
    links = []
    for c in customers:
        org_id, cid, version = c.org_id, c.id, c.link_version
        if type(version) is int and _PLAIN.fullmatch(org_id) and _PLAIN.fullmatch(cid):
            text = b'{"o":"%s","c":"%s","v":%d,"x":%d}' % (org_id.encode(), cid.encode(), version, x)
        else:
            text = want_bytes(serializer.serializer.dumps({"o": org_id, "c": cid, "v": version, "x": x},
                                                          **serializer.serializer_kwargs))  # fmt: skip
        packed = zlib.compress(text)
        value = b"." + base64_encode(packed) if len(packed) < len(text) - 1 else base64_encode(text)
        token = (value + sep + base64_encode(hmac.digest(key, value, digest))).decode("ascii")
        links.append(Link(url=f"{root}/p/{token}", token=token, expires_at=expires_at))
    return links


# What JSON spells as itself between quotes (ids are made of these).
_PLAIN = re.compile(r"[0-9A-Za-z_.\-]*")


SHORT_SALT = b"settle.portal-link.short.v1"
_SHORT_PREFIX = "s."
_SHORT_MAC = 12  # bytes of HMAC-SHA256 kept: 96 bits, checked online behind a rate limit


def _short_mac(key: str, message: str) -> str:
    digest = hmac.new(hmac.new(key.encode(), SHORT_SALT, hashlib.sha256).digest(), message.encode(),
                      hashlib.sha256).digest()  # fmt: skip
    return base64.urlsafe_b64encode(digest[:_SHORT_MAC]).decode().rstrip("=")


def _b32(number: int) -> str:
    return _encode_id(number)


def sign_short(
    customers: Sequence[Holder],
    *,
    secret_keys: tuple[str, ...],
    base_url: str,
    now: dt.datetime,
    expires_in_days: int = DEFAULT_DAYS,
) -> list[Link]:
    """Links as short as a text message needs (about 50 characters of token instead of 140):
    the customer's id, link version and expiry day, and a truncated HMAC under a salt of their
    own, signed with the newest key and verified with any (``verify`` takes both forms). The
    organisation is the customer's own, so it is not spelled out. Not recorded: the caller
    stores ``issued_event`` of each."""
    if not customers:
        return []
    if not secret_keys:
        raise RuntimeError("no secret keys configured")
    expires_at = (now + dt.timedelta(days=expires_in_days)).replace(microsecond=0)
    day = int(expires_at.timestamp()) // 86_400 + 1  # valid until the end of that UTC day
    expires_at = dt.datetime.fromtimestamp(day * 86_400, dt.UTC)
    root = base_url.rstrip("/")
    links = []
    for c in customers:
        body = f"{c.id.removeprefix('cus_')}.{c.link_version}.{_b32(day)}"
        token = f"{_SHORT_PREFIX}{body}.{_short_mac(secret_keys[-1], body)}"
        links.append(Link(url=f"{root}/p/{token}", token=token, expires_at=expires_at))
    return links


def _verify_short(session: Session, token: str, secret_keys: tuple[str, ...], now: dt.datetime) -> Verdict:
    parts = token[len(_SHORT_PREFIX) :].split(".")
    if len(parts) != 4 or not secret_keys:
        return Verdict("unknown")
    body, mac = ".".join(parts[:3]), parts[3]
    if not any(hmac.compare_digest(_short_mac(k, body), mac) for k in secret_keys):
        return Verdict("unknown")
    ident, version, day = parts[:3]
    customer = session.get(Customer, f"cus_{ident}")
    if customer is None:
        return Verdict("unknown")
    if not version.isdigit() or int(version) != customer.link_version:
        return Verdict("revoked", customer)
    if now.timestamp() >= _decode_id(day) * 86_400:
        return Verdict("expired", customer)
    return Verdict("valid", customer)


def issued_event(customer: Holder, link: Link, occurred_at: dt.datetime) -> dict[str, Any]:
    """The ``portal_link.issued`` event ``issue`` records, as a row for a multi-row insert."""
    return {
        "org_id": customer.org_id,
        "kind": "portal_link.issued",
        "subject_type": "customer",
        "subject_id": customer.id,
        "actor": None,
        "data": {"expires_at": link.expires_at.isoformat()},
        "occurred_at": occurred_at,
    }


def verify(session: Session, token: str, *, secret_keys: tuple[str, ...], now: dt.datetime) -> Verdict:
    if token.startswith(_SHORT_PREFIX):
        return _verify_short(session, token, secret_keys, now)
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
