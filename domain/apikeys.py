"""Back-office API keys: shown once, stored as a hash, limited by scopes.

A key looks like ``sk_<prefix>_<secret>``. The prefix is stored in clear so a
key can be found (and revoked by an admin who only sees the prefix); the
whole key is stored only as SHA-256, which is enough for 256-bit random
secrets and lets verification stay constant-time and fast.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from domain.errors import NotFound, ValidationError
from domain.events import record
from domain.models import ApiKey, utcnow

RESOURCES = (
    "customers", "invoices", "payments", "policies", "requests", "tasks",
    "dunning", "events", "bank", "reports", "settings", "arrangements", "letters",
)  # fmt: skip
ALL_SCOPES = tuple(f"{r}:{a}" for r in RESOURCES for a in ("read", "write"))


def normalize_scopes(scopes: list[str] | tuple[str, ...]) -> list[str]:
    """Accept ``*``, ``read``, ``write`` or ``resource:read|write``; refuse anything else."""
    if not scopes:
        return ["*"]
    out: list[str] = []
    for scope in scopes:
        s = scope.strip().lower()
        if s not in {"*", "read", "write"} and s not in ALL_SCOPES:
            raise ValidationError(
                f"unknown scope {scope!r}; use *, read, write or one of {', '.join(ALL_SCOPES)}",
                "scope",
            )
        if s not in out:
            out.append(s)
    return out


def allows(granted: list[str], needed: str) -> bool:
    """Whether ``granted`` scopes cover ``needed``; write on a resource implies read."""
    resource, _, action = needed.partition(":")
    if "*" in granted or "write" in granted or needed in granted:
        return True
    return action == "read" and ("read" in granted or f"{resource}:write" in granted)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedKey:
    key: str
    record: ApiKey


def issue(session: Session, org_id: str, scopes: list[str] | None = None, name: str = "") -> IssuedKey:
    prefix = secrets.token_hex(6)
    key = f"sk_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(org_id=org_id, prefix=prefix, key_hash=_hash(key), scopes=normalize_scopes(scopes or []), name=name)
    session.add(row)
    session.flush()
    record(session, org_id, "api_key.created", row, prefix=prefix, scopes=row.scopes)
    return IssuedKey(key=key, record=row)


@dataclass(frozen=True, slots=True)
class Caller:
    """Who a presented key is: what a request needs of its ``ApiKey`` row, read as plain columns."""

    id: str
    org_id: str
    scopes: list[str]


@functools.cache
def _by_prefix() -> Any:
    """Built once: every API request runs it, and building and cache-keying a statement cost more
    than the indexed lookup itself."""
    return select(ApiKey.id, ApiKey.org_id, ApiKey.scopes, ApiKey.key_hash, ApiKey.revoked_at).where(
        ApiKey.prefix == bindparam("prefix")
    )


def authenticate(session: Session, presented: str) -> Caller | None:
    """The live key matching ``presented``, or None. Never says which part was wrong."""
    parts = presented.split("_")
    if len(parts) < 3 or parts[0] != "sk":
        return None
    row = session.execute(_by_prefix(), {"prefix": parts[1]}).first()
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.key_hash, _hash(presented)):
        return None
    return Caller(row.id, row.org_id, list(row.scopes))


def revoke(session: Session, prefix: str) -> ApiKey:
    prefix = prefix.strip()
    if prefix.startswith("sk_"):
        prefix = prefix.split("_")[1]
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if row is None:
        raise NotFound(f"no API key with prefix {prefix!r}", "prefix")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        record(session, row.org_id, "api_key.revoked", row, prefix=prefix)
    return row
