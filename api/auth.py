"""Bearer API keys with scopes. Every handler names the scope it needs in ``opt``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from adapters.db import finish_reading
from domain import apikeys


@dataclass(frozen=True)
class Auth:
    org_id: str
    key_id: str
    scopes: tuple[str, ...]

    @property
    def actor(self) -> str:
        return f"api_key:{self.key_id}"


def provide_auth(request: Request[Any, Any, Any]) -> Auth:
    """The request's API key, read in a short session of its own that is closed before the
    handler is scheduled: a request waiting for a handler thread holds no connection
    (``adapters.db.RequestSessions``)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="settle"'}
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthorizedException("missing API key: send Authorization: Bearer <key>", headers=challenge)
    with request.app.state.sessions.reader() as db:
        key = apikeys.authenticate(db, token.strip())
        found = None if key is None else (key.org_id, key.id, tuple(key.scopes))
        finish_reading(db)  # a COMMIT keeps the lookup prepared on PostgreSQL (see there)
    if found is None:
        raise NotAuthorizedException("invalid or revoked API key", headers=challenge)
    needed = request.route_handler.opt.get("scope")
    if not isinstance(needed, str):  # fail closed: a handler without a declared scope is a bug
        raise PermissionDeniedException("this endpoint declares no scope")
    org_id, key_id, scopes = found
    if not apikeys.allows(list(scopes), needed):
        raise PermissionDeniedException(f"this API key lacks the scope {needed}")
    return Auth(org_id=org_id, key_id=key_id, scopes=scopes)
