"""The organisation's payment providers: credentials go in, never come out."""

from __future__ import annotations

from typing import Literal

import msgspec
from litestar import Controller, delete, get, put
from msgspec import Struct
from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.settings import Settings
from api import docs
from api.auth import Auth
from api.docs import responses
from domain import providers
from domain.errors import NotFound
from domain.models import Organisation, ProviderAccount


class ProviderWrite(Struct):
    """``api_key`` may be left out to change only ``methods`` or ``enabled`` of a provider already set up."""

    api_key: str | None = None
    webhook_secret: str | None = None
    methods: list[str] | None = None
    enabled: bool = True


Provider = Literal["mollie", "stripe"]


class ProviderList(Struct):
    items: list[ProviderRead]


class ProviderRead(Struct):
    provider: str
    enabled: bool
    methods: list[str]
    api_key_set: bool
    webhook_secret_set: bool
    webhook_url: str
    mode: str = msgspec.field(default="test")  # test or live, read from the key's prefix


def _read(account: ProviderAccount, org: Organisation, settings: Settings) -> ProviderRead:
    key = account.api_key or ""
    return ProviderRead(
        provider=account.provider, enabled=account.enabled, methods=list(account.methods or []),
        api_key_set=bool(key), webhook_secret_set=bool(account.webhook_secret),
        webhook_url=f"{settings.base_url}/webhooks/{account.provider}/{org.slug}",
        mode="live" if key.startswith(("live_", "sk_live_", "rk_live_")) else "test",
    )  # fmt: skip


class ProviderController(Controller):
    path = "/providers"
    tags = ["providers"]

    @get("/", opt={"scope": "settings:read"}, sync_to_thread=True, summary="List payment providers",
         responses=responses(ProviderList, {"items": [docs.PROVIDER]}, description="The providers set up"))
    def list_providers(self, db: Session, auth: Auth, settings: Settings) -> dict[str, list[ProviderRead]]:
        """The providers set up for this organisation, without their secrets."""
        org = db.get_one(Organisation, auth.org_id)
        rows = db.scalars(select(ProviderAccount).where(ProviderAccount.org_id == auth.org_id)
                          .order_by(ProviderAccount.provider))  # fmt: skip
        return {"items": [_read(a, org, settings) for a in rows]}

    @get("/{provider:str}", opt={"scope": "settings:read"}, sync_to_thread=True, summary="Read a payment provider",
         responses=responses(ProviderRead, docs.PROVIDER, 404, description="The provider, without its secrets"))
    def get_provider(self, db: Session, auth: Auth, settings: Settings, provider: Provider) -> ProviderRead:
        """One provider (``mollie`` or ``stripe``) as set up, without its secrets."""
        account = providers.find(db, auth.org_id, provider)
        if account is None:
            raise NotFound(f"{provider} is not set up", "provider")
        return _read(account, db.get_one(Organisation, auth.org_id), settings)

    @put("/{provider:str}", opt={"scope": "settings:write"}, sync_to_thread=True, summary="Set up a payment provider",
         responses=responses(ProviderRead, docs.PROVIDER, 404, 413, description="The provider as set up"))
    def put_provider(self, db: Session, auth: Auth, settings: Settings, provider: Provider,
                     data: ProviderWrite) -> ProviderRead:  # fmt: skip
        """Set up or change a provider: Mollie takes an ``api_key`` (test_… or live_…), Stripe a secret
        key and the ``webhook_secret`` (whsec_…) of the endpoint at ``webhook_url``. Idempotent."""
        account = providers.set_credentials(db, auth.org_id, provider, data.api_key, data.webhook_secret,
                                            methods=data.methods, enabled=data.enabled)  # fmt: skip
        read = _read(account, db.get_one(Organisation, auth.org_id), settings)
        db.commit()
        return read

    @delete("/{provider:str}", opt={"scope": "settings:write"}, sync_to_thread=True, status_code=200,
            summary="Disable a payment provider",
            responses=responses(ProviderRead, {**docs.PROVIDER, "enabled": False}, 404,
                                description="The provider, disabled"))  # fmt: skip
    def disable_provider(self, db: Session, auth: Auth, settings: Settings, provider: Provider) -> ProviderRead:
        """Stop offering the provider in the portal; payments already under way still complete."""
        account = providers.disable(db, auth.org_id, provider)
        read = _read(account, db.get_one(Organisation, auth.org_id), settings)
        db.commit()
        return read
