"""``Idempotency-Key`` on every POST, stored in the same transaction as the work.

The first response to a key is kept with a fingerprint of the request (method,
path and the decoded body). A retry with the same fingerprint gets that
response again; a different request under the same key is a 409. Because the
record commits together with the work, a crash can never leave one without the
other, and two concurrent requests with one key collide on a unique constraint.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.auth import Auth
from domain.errors import Conflict, ValidationError
from domain.models import IdempotencyRecord

MAX_KEY_LENGTH = 255


def _fingerprint(request: Request[Any, Any, Any], data: Any) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(request.url.path.encode())
    digest.update(msgspec.json.encode(data, order="sorted"))
    return digest.hexdigest()


def _replay(row: IdempotencyRecord, fingerprint: str) -> Response[Any]:
    if row.request_hash != fingerprint:
        raise Conflict("this Idempotency-Key was used for a different request", "Idempotency-Key")
    return Response(
        content=row.response_body.encode(),
        status_code=row.status_code,
        media_type=MediaType.JSON,
        headers={"Idempotent-Replayed": "true"},
    )


def run(
    request: Request[Any, Any, Any],
    db: Session,
    auth: Auth,
    data: Any,
    action: Callable[[], tuple[int, Any]],
) -> Response[Any]:
    """Do ``action`` once per Idempotency-Key and commit; answer its (or the first) response."""
    key = request.headers.get("idempotency-key")
    if key is None:
        status, body = action()
        db.commit()
        return Response(content=msgspec.json.encode(body), status_code=status, media_type=MediaType.JSON)
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValidationError(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters", "Idempotency-Key")
    fingerprint = _fingerprint(request, data)
    lookup = select(IdempotencyRecord).where(
        IdempotencyRecord.org_id == auth.org_id, IdempotencyRecord.key == key
    )
    existing = db.scalar(lookup)
    if existing is not None:
        return _replay(existing, fingerprint)
    status, body = action()
    encoded = msgspec.json.encode(body)
    db.add(
        IdempotencyRecord(
            org_id=auth.org_id, key=key, request_hash=fingerprint, status_code=status,
            response_body=encoded.decode(),
        )
    )
    try:
        db.commit()
    except IntegrityError:
        db.rollback()
        existing = db.scalar(lookup)
        if existing is None:
            raise Conflict("a concurrent request changed the same data; retry it") from None
        return _replay(existing, fingerprint)
    return Response(content=encoded, status_code=status, media_type=MediaType.JSON)
