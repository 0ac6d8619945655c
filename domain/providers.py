"""Which payment providers an organisation takes money through, and its credentials.

The credentials are the organisation's own (its Mollie API key, its Stripe
secret key and webhook signing secret): Settle stores them to act on its
behalf and never shows them again, not in the API, not in events, not in logs.
Which methods a provider offers (iDEAL, Bancontact, cards) is the
organisation's choice too; the defaults are what Dutch and Belgian debtors use.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.errors import NotFound, ValidationError
from domain.events import record
from domain.models import ProviderAccount

PROVIDERS = ("mollie", "stripe")
STRIPE_PREFIXES = ("sk_", "pk_", "rk_")
DEFAULT_METHODS = {"mollie": ["ideal", "bancontact", "creditcard"], "stripe": ["card", "ideal", "bancontact"]}
METHODS = {
    "mollie": ("ideal", "bancontact", "creditcard", "applepay", "paypal", "banktransfer", "belfius", "kbc", "eps",
               "przelewy24", "trustly", "twint", "billie", "in3", "klarna", "riverty"),
    "stripe": ("card", "ideal", "bancontact", "sepa_debit", "sofort", "eps", "giropay", "p24", "klarna", "link",
               "paypal", "revolut_pay"),
}  # fmt: skip


# Belgians pay by Bancontact first (issue 16): it leads the methods and the providers a Belgian
# debtor is offered, where the provider takes it.
FIRST_FOR_COUNTRY = {"BE": "bancontact"}


def methods_for(methods: Sequence[str], country: str | None) -> list[str]:
    """``methods`` in the order to offer them to a debtor in ``country``: for a Belgian, Bancontact
    first when it is among them; otherwise as the organisation chose them."""
    first = FIRST_FOR_COUNTRY.get(country or "")
    ordered = list(methods)
    if first in ordered:
        ordered.remove(first)
        ordered.insert(0, first)
    return ordered


def providers_for(providers: Sequence[str], methods: dict[str, list[str]], country: str | None) -> list[str]:
    """``providers`` in the order to offer them in ``country``: for a Belgian, the ones that take
    Bancontact before the ones that do not (each group in its usual order)."""
    first = FIRST_FOR_COUNTRY.get(country or "")
    if first is None:
        return list(providers)
    return sorted(providers, key=lambda p: first not in methods.get(p, ()))


def _check(provider: str, api_key: str | None, webhook_secret: str | None, methods: Sequence[str] | None) -> None:
    if provider not in PROVIDERS:
        raise ValidationError(f"provider must be one of {', '.join(PROVIDERS)}", "provider")
    if api_key is not None and not api_key.strip():
        raise ValidationError("api_key must not be empty", "api_key")
    # The mix-ups people make, caught by their prefixes; any other key is the provider's to judge.
    key = (api_key or "").strip()
    if provider == "mollie" and key.startswith(STRIPE_PREFIXES):
        raise ValidationError("that is a Stripe key; a Mollie API key starts with test_ or live_", "api_key")
    if provider == "stripe" and key.startswith("pk_"):
        raise ValidationError("that is a publishable key; Stripe needs the secret key (sk_…)", "api_key")
    if provider == "stripe" and (webhook_secret or "").strip().startswith(STRIPE_PREFIXES):
        raise ValidationError("that is an API key; the webhook signing secret starts with whsec_", "webhook_secret")
    if methods is not None:
        if not methods:
            raise ValidationError("choose at least one payment method", "methods")
        unknown = [m for m in methods if m not in METHODS[provider]]
        if unknown:
            raise ValidationError(f"unknown {provider} method {unknown[0]!r}; use {', '.join(METHODS[provider])}",
                                  "methods")  # fmt: skip


def find(session: Session, org_id: str, provider: str) -> ProviderAccount | None:
    return session.scalar(
        select(ProviderAccount).where(ProviderAccount.org_id == org_id, ProviderAccount.provider == provider)
    )


def set_credentials(
    session: Session,
    org_id: str,
    provider: str,
    api_key: str | None,
    webhook_secret: str | None = None,
    *,
    methods: Sequence[str] | None = None,
    enabled: bool = True,
) -> ProviderAccount:
    """Store (or replace) the organisation's credentials at ``provider`` and enable it.

    ``api_key`` may be left out when the provider is already set up (to change only the
    methods or switch it off); Stripe needs a webhook secret, or it could not verify a thing."""
    _check(provider, api_key, webhook_secret, methods)
    account = find(session, org_id, provider)
    if account is None:
        if api_key is None:
            raise ValidationError(f"api_key is required to set up {provider}", "api_key")
        account = ProviderAccount(org_id=org_id, provider=provider, methods=list(DEFAULT_METHODS[provider]))
        session.add(account)
    if api_key is not None:
        account.api_key = api_key.strip()
    if webhook_secret is not None:
        account.webhook_secret = webhook_secret.strip()
    if provider == "stripe" and not account.webhook_secret:
        raise ValidationError("Stripe needs the webhook signing secret (whsec_…) to verify webhooks",
                              "webhook_secret")  # fmt: skip
    if methods is not None:
        account.methods = list(dict.fromkeys(methods))
    account.enabled = enabled
    session.flush()
    # The event names the provider and what changed, never a secret.
    record(session, org_id, "provider.configured", account, provider=provider, enabled=enabled,
           methods=account.methods, api_key_changed=api_key is not None,
           webhook_secret_changed=webhook_secret is not None)  # fmt: skip
    return account


def disable(session: Session, org_id: str, provider: str) -> ProviderAccount:
    """Stop offering ``provider``; credentials are kept for webhooks of payments still under way."""
    account = find(session, org_id, provider) if provider in PROVIDERS else None
    if account is None:
        raise NotFound(f"{provider} is not set up", "provider")
    account.enabled = False
    record(session, org_id, "provider.disabled", account, provider=provider)
    return account
