"""Stripe Checkout (cards, iDEAL, Bancontact) through the official ``stripe`` SDK.

A Checkout Session in payment mode for the exact open amount, linked back to
Settle's payment by ``client_reference_id`` and metadata, and expiring after
an hour. Webhooks are verified with the organisation's signing secret and the
SDK's tolerance for the timestamp, both ways: the SDK refuses a timestamp too far
in the past, and one more than the tolerance ahead of this clock is refused too.
A bad, stale or future signature is refused before anything is read. Refunds and
disputes speak of a charge, not of the session: the session is found again
through its payment intent.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

import stripe

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
from domain.providers import methods_for

CHECKOUT_TTL_S = 3600  # Stripe allows 30 minutes to 24 hours
TOLERANCE_S = stripe.Webhook.DEFAULT_TOLERANCE  # how old a signed timestamp may be: 5 minutes
EUR_ONLY = frozenset({"ideal", "bancontact"})
STRIPE_LOCALES = frozenset({"nl", "fr", "en"})  # Checkout's locale codes for Settle's languages

# Event type -> the status it gives the session's payment (None: look at ``payment_status``).
SESSION_EVENTS: dict[str, ProviderStatus | None] = {
    "checkout.session.completed": None,
    "checkout.session.async_payment_succeeded": "paid",
    "checkout.session.async_payment_failed": "failed",
    "checkout.session.expired": "expired",
}


def _session_status(session: Mapping[str, Any]) -> ProviderStatus:
    if session.get("status") == "expired":
        return "expired"
    if session.get("status") == "complete" and session.get("payment_status") in ("paid", "no_payment_required"):
        return "paid"
    return "pending"  # open, or complete and waiting for an asynchronous method


def _refuse_future(header: str, now: float | None = None) -> None:
    """The SDK checks only that the signed ``t=`` is not older than the tolerance; a timestamp more
    than the tolerance ahead of this clock is refused as well (the SDK reads the first ``t=``)."""
    stamps = [part[1] for part in (item.split("=", 2) for item in header.split(",")) if part[0] == "t"]
    ahead = int(stamps[0]) - (time.time() if now is None else now)  # verify_header parsed it already
    if ahead > TOLERANCE_S:
        raise stripe.SignatureVerificationError(
            f"Timestamp is {int(ahead)} s in the future (tolerance {TOLERANCE_S} s)", header, ""
        )


class StripeGateway:
    name = "stripe"

    def __init__(self, api_key: str, webhook_secret: str | None, methods: Sequence[str] = (),
                 api_base: str | None = None) -> None:  # fmt: skip
        self.client = stripe.StripeClient(
            api_key, base_addresses={"api": api_base} if api_base else None, max_network_retries=2
        )
        self.webhook_secret = webhook_secret
        self.methods = list(methods)

    def create_checkout(self, payment: Payment, amount_cents: int, currency: str, description: str,
                        return_url: str, webhook_url: str, hints: CheckoutHints | None = None) -> Checkout:  # fmt: skip
        hints = hints or CheckoutHints()
        link = {"settle_payment_id": payment.id, "settle_org_id": payment.org_id}
        if hints.structured_reference:
            link["structured_reference"] = hints.structured_reference
        methods = [m for m in methods_for(self.methods, hints.country) if currency == "EUR" or m not in EUR_ONLY]
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [{"quantity": 1, "price_data": {
                "currency": currency.lower(), "unit_amount": amount_cents,
                "product_data": {"name": (description or payment.id)[:250]},
            }}],
            "client_reference_id": payment.id,
            "metadata": link,
            "payment_intent_data": {"metadata": link, "description": (description or payment.id)[:250]},
            "success_url": return_url,
            "cancel_url": f"{return_url}?cancelled=1",
            "expires_at": int(time.time()) + CHECKOUT_TTL_S,
        }  # fmt: skip
        if methods:
            params["payment_method_types"] = methods
        if hints.language in STRIPE_LOCALES:
            params["locale"] = hints.language  # Checkout's page in the debtor's language
        try:
            session = self.client.v1.checkout.sessions.create(
                params=params,  # type: ignore[arg-type]
                options={"idempotency_key": f"settle-{payment.id}"},
            )
        except stripe.StripeError as exc:
            raise GatewayError(f"Stripe refused the checkout: {exc.user_message or exc}") from exc
        if not session.url:
            raise GatewayError("Stripe answered without a checkout URL")
        return Checkout(provider_payment_id=session.id, checkout_url=session.url)

    def fetch(self, provider_payment_id: str) -> ProviderState:
        try:
            session = self.client.v1.checkout.sessions.retrieve(provider_payment_id)
        except stripe.StripeError as exc:
            raise GatewayError(f"Stripe did not answer for {provider_payment_id}: {exc}") from exc
        return ProviderState(_session_status(session.to_dict()))

    def cancel(self, provider_payment_id: str) -> ProviderState:
        """Expire the session, so that it can no longer be paid, and call the payment cancelled; if
        it was paid or expired meanwhile, Stripe refuses and the session's own state is the answer."""
        try:
            self.client.v1.checkout.sessions.expire(provider_payment_id)
        except stripe.InvalidRequestError:
            return self.fetch(provider_payment_id)
        except stripe.StripeError as exc:
            raise GatewayError(f"Stripe did not answer for {provider_payment_id}: {exc}") from exc
        return ProviderState("canceled")  # closed unpaid because the payer said so

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookNotice:
        if not self.webhook_secret:
            raise WebhookRejected("no Stripe webhook secret is set for this organisation")
        try:
            payload = body.decode("utf-8")
            stripe.WebhookSignature.verify_header(payload, headers.get("stripe-signature") or "",
                                                  self.webhook_secret, tolerance=TOLERANCE_S)  # fmt: skip
            _refuse_future(headers.get("stripe-signature") or "")
            event = json.loads(payload)  # only now: the bytes are Stripe's
            kind, obj = str(event.get("type", "")), event["data"]["object"]
        except (ValueError, KeyError, TypeError, AttributeError, stripe.SignatureVerificationError) as exc:
            raise WebhookRejected(f"not a verified Stripe event: {exc}") from exc
        if kind in SESSION_EVENTS:
            status = SESSION_EVENTS[kind] or _session_status(obj)
            return WebhookNotice(str(obj["id"]), status)
        if kind == "charge.refunded":
            return WebhookNotice(self._session_of(obj.get("payment_intent")), None,
                                 {f"stripe:refund:{obj['id']}": int(obj.get("amount_refunded") or 0)})  # fmt: skip
        if kind == "charge.dispute.created":
            return WebhookNotice(self._session_of(obj.get("payment_intent")), None,
                                 {f"stripe:dispute:{obj['id']}": int(obj.get("amount") or 0)})  # fmt: skip
        return WebhookNotice("")  # an event Settle does not act on: acknowledged, nothing changes

    def _session_of(self, payment_intent: Any) -> str:
        """The Checkout Session that made ``payment_intent`` ('' when none of ours did)."""
        if not payment_intent:
            return ""
        intent = payment_intent if isinstance(payment_intent, str) else str(payment_intent.get("id", ""))
        try:
            found = self.client.v1.checkout.sessions.list(params={"payment_intent": intent, "limit": 1})
        except stripe.StripeError as exc:
            raise GatewayError(f"Stripe did not answer for {intent}: {exc}") from exc
        return str(found.data[0].id) if found.data else ""
