"""Which payment providers an organisation can take money through, by name.

Each entry makes a ``domain.gateway.Gateway`` for one organisation, or ``None``
when that provider is not available to it (not configured, or, for the
sandbox, ``SETTLE_SANDBOX_PAYMENTS`` off). Stripe and Mollie register here
with their adapters; nothing else changes.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from domain.gateway import Gateway
from domain.models import Organisation
from settle.settings import Settings

Factory = Callable[[Session, Settings, Organisation], Gateway | None]


def _sandbox(session: Session, settings: Settings, org: Organisation) -> Gateway | None:
    from portal.sandbox import SandboxGateway

    return SandboxGateway(session, org.id, settings.base_url) if settings.sandbox_payments else None


# In the order the portal offers them. Mollie and Stripe come before the sandbox when they arrive.
FACTORIES: dict[str, Factory] = {"sandbox": _sandbox}


def register(name: str, factory: Factory) -> None:
    FACTORIES[name] = factory


def gateway(session: Session, settings: Settings, org: Organisation, name: str) -> Gateway | None:
    factory = FACTORIES.get(name)
    return factory(session, settings, org) if factory is not None else None


def available(session: Session, settings: Settings, org: Organisation) -> list[str]:
    return [name for name in FACTORIES if gateway(session, settings, org, name) is not None]
