"""Bearer API keys with scopes. Every handler names the scope it needs in ``opt``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from sqlalchemy.orm import Session

from domain import apikeys


@dataclass(frozen=True)
class Auth:
    org_id: str
    key_id: str
    scopes: tuple[str, ...]

    @property
    def actor(self) -> str:
        return f"api_key:{self.key_id}"


def provide_auth(request: Request[Any, Any, Any], db: Session) -> Auth:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="settle"'}
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthorizedException("missing API key: send Authorization: Bearer <key>", headers=challenge)
    key = apikeys.authenticate(db, token.strip())
    if key is None:
        raise NotAuthorizedException("invalid or revoked API key", headers=challenge)
    needed = request.route_handler.opt.get("scope")
    if not isinstance(needed, str):  # fail closed: a handler without a declared scope is a bug
        raise PermissionDeniedException("this endpoint declares no scope")
    if not apikeys.allows(list(key.scopes), needed):
        raise PermissionDeniedException(f"this API key lacks the scope {needed}")
    return Auth(org_id=key.org_id, key_id=key.id, scopes=tuple(key.scopes))
