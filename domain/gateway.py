"""The contract between Settle and a payment provider (Stripe, Mollie, the sandbox).

A gateway is three calls, after saleor's payment interface: open a hosted
checkout for an amount, read a payment's status back, and turn a webhook
request into "something changed for this payment". Everything else (which
invoices, allocation, e-mails, events) is Settle's own business in
``domain.checkout``, so one provider can replace another without touching it.

Implementations live outside ``domain`` (the sandbox in ``portal.sandbox``;
Stripe and Mollie adapters with their SDKs later) and are looked up by name
in ``portal.gateways``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, get_args

if TYPE_CHECKING:
    from domain.models import Payment

ProviderStatus = Literal["pending", "paid", "failed", "canceled", "expired"]
STATUSES: tuple[str, ...] = get_args(ProviderStatus)
FINAL: frozenset[str] = frozenset({"paid", "failed", "canceled", "expired"})
PROVIDERS = ("mollie", "stripe", "sandbox")


@dataclass(frozen=True)
class Checkout:
    """Where to send the payer, and the provider's own id of the payment."""

    provider_payment_id: str
    checkout_url: str


@dataclass(frozen=True)
class WebhookNotice:
    """A provider said something changed. ``status`` is ``None`` when the provider only
    sends the id (Mollie): the caller then asks ``fetch_status`` before changing anything."""

    provider_payment_id: str
    status: ProviderStatus | None = None


class GatewayError(Exception):
    """The provider refused or could not be reached; nothing was paid."""


class WebhookRejected(GatewayError):
    """The webhook request is not authentic (bad signature) or not understood."""


class Gateway(Protocol):
    """One payment provider, configured for one organisation."""

    name: str

    def create_checkout(
        self,
        payment: Payment,
        amount_cents: int,
        currency: str,
        description: str,
        return_url: str,
        webhook_url: str,
    ) -> Checkout: ...

    def fetch_status(self, provider_payment_id: str) -> ProviderStatus: ...

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookNotice: ...


def as_status(value: str) -> ProviderStatus:
    """Narrow a string to a ``ProviderStatus`` or raise ``ValueError``."""
    if value not in STATUSES:
        raise ValueError(f"unknown payment status {value!r}")
    return value  # type: ignore[return-value]
