"""A Stripe webhook signed with a timestamp far in the future is refused like a stale one: the SDK
only checks that ``t=`` is not too old, so a signature made (or replayed) with a clock set ahead
would otherwise stay valid for as long as the clock is ahead. Within the tolerance it is accepted."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy.orm import Session

from adapters.gateways.stripe import TOLERANCE_S
from adapters.settings import Settings
from tests.fakes.stripe_fake import FakeStripe
from tests.integration import portal_helpers as h
from tests.integration import provider_helpers as ph


@pytest.mark.parametrize("ahead", [TOLERANCE_S + 60, 3600, 10 * 365 * 86400])
def test_a_stripe_webhook_from_the_future_is_refused_and_changes_nothing(
    pay_client: Any, db: Session, pay_settings: Settings, stripe_fake: FakeStripe, ahead: int
) -> None:
    w, _, sid = ph.paying(pay_client, db, pay_settings, stripe_fake, "stripe")
    event = stripe_fake.complete(sid)

    future = ph.stripe_webhook(pay_client, w.org, event, stripe_fake.webhook_secret,
                               timestamp=int(time.time()) + ahead)  # fmt: skip
    stale = ph.stripe_webhook(pay_client, w.org, event, stripe_fake.webhook_secret,
                              timestamp=int(time.time()) - ahead)  # fmt: skip

    assert (future.status_code, stale.status_code) == (400, 400)
    assert future.json()["error"] == stale.json()["error"] == "webhook_rejected"
    assert "future" in future.json()["message"]
    assert [h.fresh(db, inv).status for inv in w.invoices] == ["open", "open"]
    [still] = h.payments(db, w.customer)
    assert still.status == "pending" and h.events(db, "payment.paid") == []


def test_a_stripe_webhook_a_little_ahead_within_the_tolerance_is_accepted(
    pay_client: Any, db: Session, pay_settings: Settings, stripe_fake: FakeStripe
) -> None:
    """Clocks drift: a few seconds (up to the tolerance) ahead is not an attack."""
    w, _, sid = ph.paying(pay_client, db, pay_settings, stripe_fake, "stripe")
    event = stripe_fake.complete(sid)

    answer = ph.stripe_webhook(pay_client, w.org, event, stripe_fake.webhook_secret,
                               timestamp=int(time.time()) + TOLERANCE_S - 30)  # fmt: skip

    assert answer.status_code == 200 and answer.json()["changed"] is True
    assert [h.fresh(db, inv).status for inv in w.invoices] == ["paid", "paid"]
