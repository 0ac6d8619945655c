"""Fixtures for the payment-provider tests: the fake Mollie and Stripe served on loopback,
and the app pointed at them through ``SETTLE_MOLLIE_API_BASE`` / ``SETTLE_STRIPE_API_BASE``."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from adapters.settings import Settings
from settle.app import create_app
from tests.fakes.mollie_fake import FakeMollie
from tests.fakes.server import serve
from tests.fakes.stripe_fake import FakeStripe


@pytest.fixture
def mollie_fake() -> Iterator[FakeMollie]:
    fake = FakeMollie()
    with serve(fake.app()) as url:
        fake.base_url = url
        yield fake


@pytest.fixture
def stripe_fake() -> Iterator[FakeStripe]:
    fake = FakeStripe()
    with serve(fake.app()) as url:
        fake.base_url = url
        yield fake


@pytest.fixture
def pay_settings(settings: Settings, mollie_fake: FakeMollie, stripe_fake: FakeStripe) -> Settings:
    """Real providers only (no sandbox), their SDKs pointed at the fakes."""
    return dataclasses.replace(settings, sandbox_payments=False, mollie_api_base=mollie_fake.base_url,
                               stripe_api_base=stripe_fake.base_url)  # fmt: skip


@pytest.fixture
def pay_client(engine: Engine, pay_settings: Settings, db: Session) -> Iterator[TestClient[Any]]:
    with TestClient(app=create_app(pay_settings, engine=engine), base_url="http://settle.test") as tc:
        yield tc
