"""Pay in instalments in a real browser: the schedule previewed and the plan confirmed with htmx
(no page load), the first instalment paid through the sandbox for exactly its amount, and the
same section at 360 px."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from domain.arrangement_models import Arrangement
from domain.models import Payment
from settle import scheduler
from tests.browser.conftest import Live, screenshot
from tests.integration import portal_helpers as h

pytestmark = pytest.mark.browser


def _link(engine: Engine, db: Session, live: Live) -> str:
    h.world(db, lines=[("F-1", 10, 10_000)])
    scheduler.run(engine, live.settings, as_of=h.TODAY)
    [mail] = h.mails(live.settings)
    found = re.search(re.escape(live.url) + r"/p/[A-Za-z0-9_.\-]+", h.body(mail))
    assert found
    return found.group(0)


@pytest.fixture
def watched(context: Any) -> Iterator[tuple[Page, list[str]]]:
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    yield page, problems


def test_a_plan_is_previewed_confirmed_and_its_first_instalment_paid_with_htmx(
    engine: Engine, db: Session, live: Live, watched: tuple[Page, list[str]]
) -> None:
    page, problems = watched
    page.goto(_link(engine, db, live))
    page.evaluate("window.__stillHere = true")
    section = page.locator("#arrangement")
    expect(section.get_by_role("heading", level=2)).to_have_text("Betalen in termijnen")
    section.get_by_label("Aantal termijnen").fill("3")
    section.get_by_label("maand").check()
    section.get_by_role("button", name="Toon het schema").click()
    schedule = page.locator("#plan-schedule")
    expect(schedule.locator("tbody tr")).to_have_count(3)
    expect(schedule).to_contain_text("€ 33,33")
    expect(schedule.locator("tbody tr").nth(2)).to_contain_text("€ 33,34")
    assert page.evaluate("window.__stillHere") is True  # swapped in place, no page load
    # (no screenshot here: Playwright's caret hiding leaves style="" on the inputs, which htmx's settle
    # then copies, and the CSP rightly refuses)
    page.get_by_role("button", name="Ik ga akkoord met deze regeling").click()
    expect(page.locator("#plan-accepted")).to_be_visible()
    expect(page.locator("#invoices")).to_contain_text("In betalingsregeling")  # out of band
    assert page.evaluate("window.__stillHere") is True
    h.reread(db)
    assert db.scalars(select(Arrangement)).one().status == "accepted"
    page.get_by_role("button", name="Betaal termijn 1: € 33,33").click()
    expect(page).to_have_url(re.compile(r"/sandbox/checkout/sbx_"))
    expect(page.locator(".facts")).to_contain_text("€ 33,33")
    page.get_by_role("button", name="Betaald").click()
    expect(page.locator("#payment-status")).to_have_attribute("data-status", "paid")
    page.get_by_role("link", name="Terug naar uw overzicht").click()
    expect(page.get_by_role("button", name="Betaal termijn 2: € 33,33")).to_be_visible()
    h.reread(db)
    assert [p.amount_cents for p in db.scalars(select(Payment).where(Payment.status == "paid"))] == [3333]
    assert problems == []
    screenshot(page, live, "arrangement-paid.png")


def test_the_plan_form_fits_a_phone_and_works_without_javascript(
    engine: Engine, db: Session, live: Live, chromium: Any
) -> None:
    context = chromium.new_context(viewport={"width": 360, "height": 740}, locale="nl-NL", is_mobile=True,
                                   java_script_enabled=False)  # fmt: skip
    try:
        page = context.new_page()
        page.goto(_link(engine, db, live))
        page.locator("#arrangement").get_by_label("Aantal termijnen").fill("4")
        page.get_by_role("button", name="Toon het schema").click()
        expect(page.locator("#plan-schedule tbody tr")).to_have_count(4)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        page.get_by_role("button", name="Ik ga akkoord met deze regeling").click()
        expect(page).to_have_url(re.compile(r"/portal#arrangement$"))
        expect(page.locator("#plan-accepted")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        screenshot(page, live, "arrangement-phone.png")
    finally:
        context.close()
