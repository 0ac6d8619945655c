"""The contract between Settle and a payment provider (Stripe, Mollie, the sandbox).

A gateway is three calls, after saleor's payment interface: open a hosted
checkout for an amount, read a payment's status back, and turn a webhook
request into "something changed for this payment". Everything else (which
invoices, allocation, e-mails, events) is Settle's own business in
``domain.checkout``, so one provider can replace another without touching it.

Implementations live outside ``domain`` (the sandbox in ``portal.sandbox``,
Mollie in ``adapters.gateways.mollie``, Stripe in ``adapters.gateways.stripe``) and
are looked up by name in ``portal.gateways``.

Money can also go back after a payment: a refund, a card charge-back, a
dispute. Providers report these as running totals per refund or dispute, so
the contract carries them that way (``reversals``: a provider reference and
the cents it takes back in total). Totals only grow; a notice that repeats an
old total, or arrives late, changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
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
class CheckoutHints:
    """What a provider is told beyond the amount, where it takes it: the Belgian structured
    communication (OGM) of the invoices paid, for its metadata and the payer's statement, and the
    debtor's country, which puts Bancontact first for a Belgian (``domain.providers.methods_for``),
    and the debtor's language (``nl``, ``fr``, ``en``), so the provider's checkout page speaks it."""

    structured_reference: str | None = None
    country: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class ProviderState:
    """What the provider says of one payment now."""

    status: ProviderStatus
    reversals: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class WebhookNotice:
    """A provider said something changed. ``status`` is ``None`` when the notice does not
    say (Mollie sends only the id; a Stripe refund speaks of the charge): the caller then
    asks ``fetch`` before changing anything. ``reversals`` are refunds and disputes the
    notice reports, as running totals (see the module docstring)."""

    provider_payment_id: str
    status: ProviderStatus | None = None
    reversals: Mapping[str, int] = field(default_factory=dict)


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
        hints: CheckoutHints | None = None,
    ) -> Checkout: ...

    def fetch(self, provider_payment_id: str) -> ProviderState: ...

    def cancel(self, provider_payment_id: str) -> ProviderState:
        """The payer came back having cancelled: close the checkout if the provider leaves it open
        (a Stripe session would stay payable for its hour), and say where the payment stands."""
        ...

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookNotice: ...


def as_status(value: str) -> ProviderStatus:
    """Narrow a string to a ``ProviderStatus`` or raise ``ValueError``."""
    if value not in STATUSES:
        raise ValueError(f"unknown payment status {value!r}")
    return value  # type: ignore[return-value]
