"""The fake providers answer the official SDKs the way the real services do.

These pin the fakes themselves, so that tests of Settle's gateways against them
mean something: same requests, same answers, same webhook signatures.
"""

from __future__ import annotations

import json

import pytest
import stripe
from mollie.api.client import Client as MollieClient

from tests.fakes.mollie_fake import FakeMollie
from tests.fakes.server import serve
from tests.fakes.stripe_fake import FakeStripe, sign


def test_stripe_sdk_creates_and_reads_a_checkout_session_on_the_fake() -> None:
    fake = FakeStripe()
    with serve(fake.app()) as url:
        fake.base_url = url
        client = stripe.StripeClient(fake.api_key, base_addresses={"api": url}, max_network_retries=0)
        session = client.v1.checkout.sessions.create(params={
            "mode": "payment",
            "line_items": [{"quantity": 1, "price_data": {"currency": "eur", "unit_amount": 12345,
                                                           "product_data": {"name": "F-1"}}}],
            "success_url": "http://x/ok", "cancel_url": "http://x/cancel",
            "client_reference_id": "pay_1", "metadata": {"payment_id": "pay_1"},
        })
        assert session.amount_total == 12345 and session.url.startswith(url)
        again = client.v1.checkout.sessions.retrieve(session.id)
        assert again.metadata["payment_id"] == "pay_1" and again.status == "open"
        with pytest.raises(stripe.AuthenticationError):
            stripe.StripeClient("sk_test_wrong", base_addresses={"api": url}).v1.checkout.sessions.retrieve(session.id)


def test_stripe_fake_signs_webhooks_the_way_the_sdk_verifies_them() -> None:
    payload = json.dumps({"id": "evt_1", "object": "event", "type": "checkout.session.completed",
                          "data": {"object": {"id": "cs_1"}}})
    event = stripe.Webhook.construct_event(payload, sign(payload, "whsec_x"), "whsec_x")
    assert event["type"] == "checkout.session.completed"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, sign(payload, "whsec_other"), "whsec_x")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, sign(payload, "whsec_x", timestamp=1), "whsec_x")


def test_mollie_sdk_creates_and_fetches_a_payment_on_the_fake() -> None:
    fake = FakeMollie()
    with serve(fake.app()) as url:
        fake.base_url = url
        client = MollieClient(api_endpoint=url)
        client.set_api_key(fake.api_key)
        payment = client.payments.create({
            "amount": {"currency": "EUR", "value": "123.45"}, "description": "F-1",
            "redirectUrl": "http://x/back", "webhookUrl": "http://x/hook", "metadata": {"payment_id": "pay_1"},
        })
        assert payment.id.startswith("tr_") and payment.status == "open"
        assert payment.checkout_url.startswith(url)
        fake.set_status(payment.id, "paid")
        assert client.payments.get(payment.id).is_paid()
