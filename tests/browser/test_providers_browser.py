"""Paying in a real browser through the fake Mollie and Stripe hosted checkouts: from the
signed link to the provider's page, the webhook, and back to the paid return page; and a
payer who cancels on Stripe's page and comes back with everything still open."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from adapters.settings import Settings
from tests.browser.conftest import Live, screenshot, serve_live
from tests.fakes.mollie_fake import FakeMollie
from tests.fakes.server import serve
from tests.fakes.stripe_fake import FakeStripe
from tests.integration import portal_helpers as h
from tests.integration import provider_helpers as ph

pytestmark = pytest.mark.browser
PAY_ALL = "Betaal alles: € 1.284,56"


@dataclass
class Fakes:
    mollie: FakeMollie
    stripe: FakeStripe


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    mollie, stripe = FakeMollie(), FakeStripe()
    with serve(mollie.app()) as mollie_url, serve(stripe.app()) as stripe_url:
        mollie.base_url, stripe.base_url = mollie_url, stripe_url
        yield Fakes(mollie, stripe)


@pytest.fixture
def live_pay(engine: Engine, settings: Settings, db: Session, tmp_path: Path, fakes: Fakes) -> Iterator[Live]:
    """Like ``live``, but real providers only (no sandbox), their SDKs pointed at the fakes."""
    providers_only = dataclasses.replace(settings, sandbox_payments=False, mollie_api_base=fakes.mollie.base_url,
                                         stripe_api_base=fakes.stripe.base_url)  # fmt: skip
    with serve_live(engine, providers_only, tmp_path) as served:
        yield served


@pytest.fixture
def watched(context: Any) -> Iterator[tuple[Page, list[str]]]:
    """A page, and every console error or page error it produces."""
    page = context.new_page()
    problems: list[str] = []

    def console(msg: Any) -> None:  # the fakes' pages have no favicon: their 404 is not Settle's
        if msg.type == "error" and not str(msg.location.get("url", "")).endswith("/favicon.ico"):
            problems.append(f"{msg.text} ({msg.location.get('url')})")

    page.on("console", console)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    yield page, problems


def _open_statement(db: Session, live: Live, fakes: Fakes, page: Page) -> h.World:
    """Both providers enabled; open a fresh signed link and see the whole amount open."""
    w = h.world(db)
    ph.enable_mollie(db, w.org, fakes.mollie)
    ph.enable_stripe(db, w.org, fakes.stripe)
    fakes.stripe.webhook_url = f"{live.url}/webhooks/stripe/{w.org.slug}"
    page.goto(f"{live.url}/p/{h.token(db, live.settings, w.customer)}")
    expect(page).to_have_url(f"{live.url}/portal")
    expect(page.locator('[data-total="EUR"]')).to_have_text("€ 1.284,56")
    return w


def _pay_all_with(page: Page, provider: str, checkout: str, problems: list[str]) -> None:
    """Choose the provider, press pay, and arrive on its hosted checkout (``checkout``: a URL prefix)."""
    form = page.locator("form.pay-all")
    expect(form.locator("select[name=provider] option")).to_have_count(2)  # mollie and stripe
    form.locator("select[name=provider]").select_option(provider)
    form.get_by_role("button", name=PAY_ALL).click()
    try:
        expect(page).to_have_url(re.compile(re.escape(checkout)))
    except AssertionError as exc:  # e.g. the statement's CSP form-action does not allow the checkout's origin
        raise AssertionError(f"the browser was not sent to {checkout}; its console said: {problems}") from exc


def _expect_paid(page: Page, live: Live, db: Session, w: h.World) -> str:
    [payment] = h.payments(db, w.customer)
    expect(page).to_have_url(f"{live.url}/portal/payments/{payment.id}")
    expect(page.locator("#payment-status")).to_have_attribute("data-status", "paid")
    expect(page.get_by_role("heading", level=1)).to_have_text("Betaling ontvangen. Dank u wel!")
    expect(page.locator("#payment-status")).to_contain_text("€ 1.284,56")
    return payment.id


def _expect_settled(page: Page, db: Session, w: h.World, provider: str) -> None:
    page.get_by_role("link", name="Terug naar uw overzicht").click()
    expect(page.locator(".summary")).to_contain_text("Er staat niets meer open")
    expect(page.locator(".payments")).to_contain_text("€ 1.284,56")
    expect(page.locator("form.pay-all")).to_have_count(0)
    assert [h.fresh(db, inv).status for inv in w.invoices] == ["paid", "paid"]
    assert [h.fresh(db, inv).open_cents for inv in w.invoices] == [0, 0]
    [payment] = h.payments(db, w.customer)
    assert (payment.provider, payment.status, payment.amount_cents) == (provider, "paid", 128_456)
    assert len(h.events(db, "payment.paid")) == 1


def test_paying_everything_through_the_mollie_checkout(
    db: Session, live_pay: Live, fakes: Fakes, watched: tuple[Page, list[str]]
) -> None:
    page, problems = watched
    w = _open_statement(db, live_pay, fakes, page)
    _pay_all_with(page, "mollie", fakes.mollie.base_url + "/checkout/tr_", problems)
    expect(page.get_by_role("heading", level=1)).to_have_text("EUR 1284.56")
    expect(page.locator("p")).to_contain_text("F-1")
    assert screenshot(page, live_pay, "mollie-checkout.png").stat().st_size > 1_000
    page.get_by_role("button", name="paid").click()
    payment_id = _expect_paid(page, live_pay, db, w)
    assert screenshot(page, live_pay, "mollie-paid.png").stat().st_size > 10_000
    [(pid, created)] = fakes.mollie.payments.items()
    assert created["redirectUrl"] == f"{live_pay.url}/portal/payments/{payment_id}"
    assert fakes.mollie.webhook_calls == [(pid, 200)]  # the webhook reached Settle and was accepted
    _expect_settled(page, db, w, "mollie")
    assert problems == []


def test_paying_everything_through_the_stripe_checkout(
    db: Session, live_pay: Live, fakes: Fakes, watched: tuple[Page, list[str]]
) -> None:
    page, problems = watched
    w = _open_statement(db, live_pay, fakes, page)
    _pay_all_with(page, "stripe", fakes.stripe.base_url + "/pay/cs_test_", problems)
    expect(page.get_by_role("heading", level=1)).to_have_text("Pay 1284.56 EUR")
    page.get_by_role("button", name="Pay").click()
    _expect_paid(page, live_pay, db, w)
    assert [e["type"] for e in fakes.stripe.sent_events] == ["checkout.session.completed"]
    _expect_settled(page, db, w, "stripe")
    assert problems == []


def test_cancelling_on_the_stripe_checkout_comes_back_with_everything_still_open(
    db: Session, live_pay: Live, fakes: Fakes, watched: tuple[Page, list[str]]
) -> None:
    page, problems = watched
    w = _open_statement(db, live_pay, fakes, page)
    _pay_all_with(page, "stripe", fakes.stripe.base_url + "/pay/cs_test_", problems)
    page.get_by_role("button", name="Cancel").click()
    [payment] = h.payments(db, w.customer)
    expect(page).to_have_url(re.compile(re.escape(f"{live_pay.url}/portal/payments/{payment.id}") + r"(\?.*)?$"))
    expect(page.locator("#payment-status")).not_to_have_attribute("data-status", "paid")
    assert fakes.stripe.sent_events == []  # nothing told Settle the session was paid
    assert [h.fresh(db, inv).status for inv in w.invoices] == ["open", "open"]
    assert h.events(db, "payment.paid") == []
    page.get_by_role("link", name="Terug naar uw overzicht").click()
    expect(page.locator('[data-total="EUR"]')).to_have_text("€ 1.284,56")
    expect(page.locator("form.pay-all").get_by_role("button", name=PAY_ALL)).to_be_visible()
    assert problems == []
