"""Which payment providers an organisation can take money through, by name.

Each entry makes a ``domain.gateway.Gateway`` for one organisation, or ``None``
when that provider is not available to it: Mollie and Stripe when the
organisation has stored enabled credentials for them (``settle org
set-provider`` or ``PUT /api/v1/providers/{provider}``), the sandbox when
``SETTLE_SANDBOX_PAYMENTS`` is on.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.settings import Settings
from domain.gateway import Gateway
from domain.models import Organisation, ProviderAccount
from domain.statement import ProviderSetting

Factory = Callable[[Session, Settings, Organisation], Gateway | None]


def account(session: Session, org: Organisation, provider: str) -> ProviderAccount | None:
    """The organisation's credentials at ``provider``, if it has any. A provider switched off is
    no longer offered (``available``) but still answers for the payments already under way."""
    found = session.scalar(
        select(ProviderAccount).where(ProviderAccount.org_id == org.id, ProviderAccount.provider == provider)
    )
    return found if found is not None and found.api_key else None


# The SDK clients, built once per set of credentials in this process (an HTTP session each, kept
# alive between requests) rather than per request; new credentials make a new client.
@functools.lru_cache(maxsize=512)
def _mollie_client(api_key: str, methods: tuple[str, ...], api_base: str | None) -> Gateway:
    from adapters.gateways.mollie import MollieGateway

    return MollieGateway(api_key, methods, api_base)


@functools.lru_cache(maxsize=512)
def _stripe_client(api_key: str, webhook_secret: str | None, methods: tuple[str, ...], api_base: str | None) -> Gateway:
    from adapters.gateways.stripe import StripeGateway

    return StripeGateway(api_key, webhook_secret, methods, api_base)


def _mollie(session: Session, settings: Settings, org: Organisation) -> Gateway | None:
    acc = account(session, org, "mollie")
    if acc is None or not acc.api_key:
        return None
    return _mollie_client(acc.api_key, tuple(acc.methods or ()), settings.mollie_api_base)


def _stripe(session: Session, settings: Settings, org: Organisation) -> Gateway | None:
    acc = account(session, org, "stripe")
    if acc is None or not acc.api_key:
        return None
    return _stripe_client(acc.api_key, acc.webhook_secret, tuple(acc.methods or ()), settings.stripe_api_base)


def _sandbox(session: Session, settings: Settings, org: Organisation) -> Gateway | None:
    from portal.sandbox import SandboxGateway

    return SandboxGateway(session, org.id, settings.base_url) if settings.sandbox_payments else None


# In the order the portal offers them.
FACTORIES: dict[str, Factory] = {"mollie": _mollie, "stripe": _stripe, "sandbox": _sandbox}


def gateway(session: Session, settings: Settings, org: Organisation, name: str) -> Gateway | None:
    factory = FACTORIES.get(name)
    return factory(session, settings, org) if factory is not None else None


def available(session: Session, settings: Settings, org: Organisation) -> list[str]:
    """The providers the portal offers this organisation's debtors, without building any client."""
    configured = set(
        session.scalars(
            select(ProviderAccount.provider).where(
                ProviderAccount.org_id == org.id, ProviderAccount.enabled.is_(True),
                ProviderAccount.api_key.is_not(None),
            )
        )
    )  # fmt: skip
    if settings.sandbox_payments:
        configured.add("sandbox")
    return [name for name in FACTORIES if name in configured]


def methods(session: Session, org: Organisation) -> dict[str, list[str]]:
    """The payment methods each of the organisation's providers offers, as it configured them."""
    rows = session.execute(
        select(ProviderAccount.provider, ProviderAccount.methods).where(ProviderAccount.org_id == org.id)
    )
    return {provider: list(chosen or []) for provider, chosen in rows}


@dataclass(frozen=True)
class Offer:
    """What the portal offers an organisation's debtors: providers in order, and their methods."""

    providers: list[str]
    methods: dict[str, list[str]]


def offer(settings: Settings, accounts: list[ProviderSetting]) -> Offer:
    """The ``Offer`` of an organisation's provider accounts (read with its statement)."""
    configured = {a.provider for a in accounts if a.enabled and a.has_key}
    if settings.sandbox_payments:
        configured.add("sandbox")
    return Offer([name for name in FACTORIES if name in configured], {a.provider: list(a.methods) for a in accounts})
