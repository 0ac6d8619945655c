"""Which payment providers an organisation takes money through, and its credentials."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.errors import ValidationError
from domain.events import record
from domain.models import ProviderAccount

PROVIDERS = ("mollie", "stripe")
DEFAULT_METHODS = {"mollie": ["ideal", "bancontact", "creditcard"], "stripe": ["card", "ideal", "bancontact"]}


def set_credentials(
    session: Session, org_id: str, provider: str, api_key: str, webhook_secret: str | None = None
) -> ProviderAccount:
    if provider not in PROVIDERS:
        raise ValidationError(f"provider must be one of {', '.join(PROVIDERS)}", "provider")
    if not api_key.strip():
        raise ValidationError("api key must not be empty", "api_key")
    account = session.scalar(
        select(ProviderAccount).where(ProviderAccount.org_id == org_id, ProviderAccount.provider == provider)
    )
    if account is None:
        account = ProviderAccount(org_id=org_id, provider=provider, methods=DEFAULT_METHODS[provider])
        session.add(account)
    account.api_key = api_key.strip()
    account.webhook_secret = webhook_secret.strip() if webhook_secret else None
    account.enabled = True
    session.flush()
    # The event names the provider, never the secret.
    record(session, org_id, "provider.configured", account, provider=provider)
    return account
