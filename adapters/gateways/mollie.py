"""Mollie (iDEAL, Bancontact, cards) through the official ``mollie-api-python`` SDK.

Mollie's webhook carries only the payment id: it proves nothing by itself, so
Settle reads the payment back from Mollie with the organisation's key before it
changes anything (``fetch``), and acts on what Mollie says there: the status,
and the amounts refunded and charged back, which Mollie keeps as running totals.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs, urlsplit

from mollie.api.client import Client
from mollie.api.error import Error as MollieError

from domain.gateway import (
    Checkout,
    CheckoutHints,
    GatewayError,
    ProviderState,
    ProviderStatus,
    WebhookNotice,
    WebhookRejected,
)
from domain.models import Payment
from domain.money import format_amount
from domain.providers import methods_for

# Mollie's statuses, as Settle reads them: "authorized" is not money yet.
STATUS: dict[str, ProviderStatus] = {
    "open": "pending", "pending": "pending", "authorized": "pending",
    "paid": "paid", "failed": "failed", "canceled": "canceled", "expired": "expired",
}  # fmt: skip
PAYMENT_ID = re.compile(r"tr_[A-Za-z0-9]{1,64}")
LOOPBACK = ("127.", "localhost", "[::1]", "0.0.0.0")
# Mollie's checkout languages (its ``locale``) for the debtor's language and country: Belgian
# French and Dutch where the debtor is Belgian; no ``fr_NL`` exists, so a French reader in the
# Netherlands gets France's French.
MOLLIE_LOCALES = {("nl", "NL"): "nl_NL", ("nl", "BE"): "nl_BE", ("fr", "BE"): "fr_BE", ("fr", "NL"): "fr_FR",
                  ("en", "NL"): "en_GB", ("en", "BE"): "en_GB"}  # fmt: skip


def _cents(amount: Any) -> int:
    """A Mollie amount object (``{"currency": "EUR", "value": "12.34"}``) in cents; none is 0."""
    if not isinstance(amount, Mapping):
        return 0
    try:
        return int((Decimal(str(amount.get("value", "0"))) * 100).to_integral_exact())
    except (InvalidOperation, ValueError):
        return 0


class MollieGateway:
    name = "mollie"

    def __init__(self, api_key: str, methods: Sequence[str] = (), api_base: str | None = None) -> None:
        self.client = Client(api_endpoint=api_base or "", timeout=(2, 10), retry=2)
        self.client.set_api_key(api_key)
        self.methods = list(methods)
        self.real_mollie = api_base is None

    def create_checkout(self, payment: Payment, amount_cents: int, currency: str, description: str,
                        return_url: str, webhook_url: str, hints: CheckoutHints | None = None) -> Checkout:  # fmt: skip
        hints = hints or CheckoutHints()
        metadata = {"settle_payment_id": payment.id, "settle_org_id": payment.org_id}
        if hints.structured_reference:
            metadata["structured_reference"] = hints.structured_reference
        data: dict[str, Any] = {
            "amount": {"currency": currency, "value": format_amount(amount_cents)},
            "description": (description or payment.id)[:255],
            "redirectUrl": return_url,
            "metadata": metadata,
        }
        # Mollie refuses a webhook it cannot reach; on a laptop the return page asks instead.
        if not (self.real_mollie and (urlsplit(webhook_url).hostname or "").startswith(LOOPBACK)):
            data["webhookUrl"] = webhook_url
        if self.methods:
            data["method"] = methods_for(self.methods, hints.country)
        locale = MOLLIE_LOCALES.get((hints.language or "", hints.country or "NL"))
        if locale:
            data["locale"] = locale
        try:
            created = self.client.payments.create(data, idempotency_key=f"settle-{payment.id}")
        except MollieError as exc:
            raise GatewayError(f"Mollie refused the payment: {exc}") from exc
        if not created.checkout_url:
            raise GatewayError("Mollie answered without a checkout URL")
        return Checkout(provider_payment_id=str(created.id), checkout_url=str(created.checkout_url))

    def fetch(self, provider_payment_id: str) -> ProviderState:
        try:
            found = self.client.payments.get(provider_payment_id)
        except MollieError as exc:
            raise GatewayError(f"Mollie did not answer for {provider_payment_id}: {exc}") from exc
        status = STATUS.get(str(found.status))
        if status is None:
            raise GatewayError(f"Mollie answered an unknown status {found.status!r}")
        reversals = {
            "mollie:refunded": _cents(found.amount_refunded),
            "mollie:charged_back": _cents(found.amount_chargedback),
        }
        return ProviderState(status, {ref: cents for ref, cents in reversals.items() if cents > 0})

    def cancel(self, provider_payment_id: str) -> ProviderState:
        return self.fetch(provider_payment_id)  # a cancel on the checkout page is final already

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookNotice:
        ids = parse_qs(body.decode("utf-8", "replace")).get("id") or []
        if len(ids) != 1 or not PAYMENT_ID.fullmatch(ids[0]):
            raise WebhookRejected("a Mollie webhook carries one form field id=tr_…")
        return WebhookNotice(ids[0])
