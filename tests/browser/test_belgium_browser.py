"""Issue 16 in a real browser: a Belgian creditor's debtor opens the signed link, reads each
invoice's structured communication (OGM), is offered Bancontact first, and pays through the
(fake) Stripe checkout with Bancontact leading and the OGMs in the metadata."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from adapters.settings import Settings
from tests.browser.conftest import Live, screenshot, serve_live
from tests.browser.test_providers_browser import Fakes, fakes, watched  # noqa: F401  (fixtures)
from tests.integration import portal_helpers as h
from tests.integration import provider_helpers as ph
from tests.integration.test_belgium_portal import OGM_1, OGM_2, belgian_world

pytestmark = pytest.mark.browser


@pytest.fixture
def live_be(engine: Engine, settings: Settings, db: Session, tmp_path: Path, fakes: Fakes) -> Iterator[Live]:  # noqa: F811
    providers_only = dataclasses.replace(settings, sandbox_payments=False, mollie_api_base=fakes.mollie.base_url,
                                         stripe_api_base=fakes.stripe.base_url)  # fmt: skip
    with serve_live(engine, providers_only, tmp_path) as served:
        yield served


def test_a_belgian_debtor_sees_the_ogm_and_pays_with_bancontact_first(
    db: Session, live_be: Live, fakes: Fakes, watched: tuple[Page, list[str]]  # noqa: F811
) -> None:
    page, problems = watched
    w = belgian_world(db)
    ph.enable_mollie(db, w.org, fakes.mollie, methods=["ideal", "creditcard"])
    ph.enable_stripe(db, w.org, fakes.stripe, methods=["card", "ideal", "bancontact"])
    fakes.stripe.webhook_url = f"{live_be.url}/webhooks/stripe/{w.org.slug}"
    page.goto(f"{live_be.url}/p/{h.token(db, live_be.settings, w.customer)}")
    expect(page).to_have_url(f"{live_be.url}/portal")
    expect(page.locator(".invoices .reference")).to_have_text([OGM_1, OGM_2])
    expect(page.locator(".invoices")).to_contain_text("Gestructureerde mededeling")
    form = page.locator("form.pay-all")
    options = form.locator("select[name=provider] option")
    expect(options).to_have_count(2)
    expect(options.first).to_have_text("Bancontact, kaart of iDEAL")  # Stripe takes Bancontact: it comes first
    assert screenshot(page, live_be, "belgium-statement.png").stat().st_size > 10_000
    form.get_by_role("button", name=re.compile("Betaal alles")).click()  # the first choice, as offered
    expect(page).to_have_url(re.compile(re.escape(fakes.stripe.base_url + "/pay/cs_test_")))
    [session] = fakes.stripe.sessions.values()
    assert session["payment_method_types"] == ["bancontact", "card", "ideal"]
    assert session["metadata"]["structured_reference"] == f"{OGM_1}, {OGM_2}"
    page.get_by_role("button", name="Pay").click()
    expect(page.locator("#payment-status")).to_have_attribute("data-status", "paid")
    assert [h.fresh(db, inv).status for inv in w.invoices] == ["paid", "paid"]
    assert problems == []
