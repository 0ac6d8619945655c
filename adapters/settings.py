"""Settings, read from the environment once (see the contract's table)."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit


class SettingsError(Exception):
    """A setting is missing or malformed; the message says what to set."""


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///settle.db"
    secret_keys: tuple[str, ...] = ()
    base_url: str = "http://127.0.0.1:8000"
    mail_url: str = "file:./outbox"
    mail_from: str = "settle@localhost"
    sandbox_payments: bool = False
    stripe_api_base: str | None = None
    mollie_api_base: str | None = None
    redis_url: str | None = None
    redis_namespace: str = "settle"
    # The SMS provider (issue 18, ``adapters.sms``): ``twilio`` or unset (texts wait in the outbox).
    sms_provider: str | None = None
    sms_account: str | None = None  # Twilio: the Account SID (AC…)
    sms_token: str | None = None  # Twilio: the Auth Token; it also verifies Twilio's webhooks
    sms_from: str | None = None  # the sender: an E.164 number, a Messaging Service, or an alphanumeric id
    sms_api_base: str | None = None  # point the SDK at a local fake (tests, the demo)
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        keys = tuple(k.strip() for k in env.get("SETTLE_SECRET_KEYS", "").split(",") if k.strip())
        sandbox = env.get("SETTLE_SANDBOX_PAYMENTS", "0").strip().lower()
        if sandbox not in {"0", "1", "true", "false", "yes", "no", ""}:
            raise SettingsError("SETTLE_SANDBOX_PAYMENTS must be 1 or 0")
        provider = sms_provider(env.get("SETTLE_SMS_PROVIDER", "").strip() or None)
        missing = [name for name in ("SETTLE_SMS_ACCOUNT", "SETTLE_SMS_TOKEN", "SETTLE_SMS_FROM")
                   if provider and not env.get(name, "").strip()]  # fmt: skip
        if missing:
            raise SettingsError(f"SETTLE_SMS_PROVIDER={provider} needs {', '.join(missing)} as well")
        return cls(
            database_url=normalize_database_url(env.get("SETTLE_DATABASE_URL") or "sqlite:///settle.db"),
            secret_keys=keys,
            base_url=(env.get("SETTLE_BASE_URL") or "http://127.0.0.1:8000").rstrip("/"),
            mail_url=env.get("SETTLE_MAIL_URL") or "file:./outbox",
            mail_from=env.get("SETTLE_MAIL_FROM") or "settle@localhost",
            sandbox_payments=sandbox in {"1", "true", "yes"},
            stripe_api_base=env.get("SETTLE_STRIPE_API_BASE") or None,
            mollie_api_base=env.get("SETTLE_MOLLIE_API_BASE") or None,
            redis_url=redis_url(env.get("SETTLE_REDIS_URL", "").strip() or None),
            redis_namespace=env.get("SETTLE_REDIS_NAMESPACE", "").strip() or "settle",
            sms_provider=provider,
            sms_account=env.get("SETTLE_SMS_ACCOUNT", "").strip() or None,
            sms_token=env.get("SETTLE_SMS_TOKEN", "").strip() or None,
            sms_from=env.get("SETTLE_SMS_FROM", "").strip() or None,
            sms_api_base=env.get("SETTLE_SMS_API_BASE", "").strip() or None,
        )

    def require_secret(self) -> None:
        if not self.secret_keys:
            raise SettingsError(
                "SETTLE_SECRET_KEYS is not set: set it to one or more long random strings, "
                "comma-separated, oldest first (for example: "
                "export SETTLE_SECRET_KEYS=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))'))"
            )


def normalize_database_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` and use the psycopg 3 driver for them."""
    for plain in ("postgres://", "postgresql://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain) :]
    return url


def redis_url(url: str | None) -> str | None:
    """``redis://host:port/db`` or ``rediss://`` (TLS); anything else is refused by name."""
    if url is None:
        return None
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        parts = parts._replace(netloc="")
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise SettingsError(
            f"SETTLE_REDIS_URL must look like redis://host:6379/0 or rediss://host:6379/0, not {url.split('@')[-1]!r}"
        )
    db = parts.path.strip("/")
    if db and not db.isdigit():
        raise SettingsError(f"SETTLE_REDIS_URL: the database after the port must be a number, not {db!r}")
    return url


SMS_PROVIDERS = ("twilio",)


def sms_provider(name: str | None) -> str | None:
    """``SETTLE_SMS_PROVIDER``: ``twilio``, or unset; anything else is refused by name."""
    if name is None:
        return None
    if name.lower() not in SMS_PROVIDERS:
        raise SettingsError(f"SETTLE_SMS_PROVIDER must be one of {', '.join(SMS_PROVIDERS)}, not {name!r}")
    return name.lower()


@functools.cache
def get_settings() -> Settings:
    return Settings.from_env()
