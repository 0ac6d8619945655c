"""The portal in a real browser: a link from a delivered e-mail, the statement, paying through
the sandbox, a dispute with htmx (and without JavaScript), on a desktop and at 360 px."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from domain.models import Customer, Invoice
from settle import scheduler
from tests.browser.conftest import Live, screenshot
from tests.integration import portal_helpers as h

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 740}


def _link_from_delivered_mail(engine: Engine, db: Session, live: Live) -> str:
    """Run the dunning scheduler (file: mail) and take the portal link out of the .eml it wrote."""
    h.world(db, lines=[("F-1", 10, 123_456), ("F-2", 20, 5_000)])
    scheduler.run(engine, live.settings, as_of=h.TODAY)
    [mail] = h.mails(live.settings)
    assert mail["To"] == "ap@jansen.example"
    found = re.search(re.escape(live.url) + r"/p/[A-Za-z0-9_.\-]+", h.body(mail))
    assert found, "no portal link in the reminder"
    return found.group(0)


@pytest.fixture
def watched(context: Any) -> Iterator[tuple[Page, list[str]]]:
    """A page, and every console error or page error it produces (a CSP violation is one)."""
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    yield page, problems


def test_from_an_e_mail_link_to_a_paid_statement(
    engine: Engine, db: Session, live: Live, watched: tuple[Page, list[str]]
) -> None:
    page, problems = watched
    link = _link_from_delivered_mail(engine, db, live)
    page.goto(link)
    expect(page).to_have_url(f"{live.url}/portal")  # the token left the address bar
    expect(page.get_by_role("heading", level=1)).to_have_text("Uw rekeningoverzicht")
    expect(page.locator('[data-total="EUR"]')).to_have_text("€ 1.284,56")
    expect(page.locator("#invoices")).to_contain_text("F-1")
    assert screenshot(page, live, "statement.png").stat().st_size > 10_000
    page.get_by_role("button", name="Betaal alles: € 1.284,56").click()
    expect(page).to_have_url(re.compile(r"/sandbox/checkout/sbx_"))
    expect(page.locator(".facts")).to_contain_text("€ 1.284,56")
    page.get_by_role("button", name="Betaald").click()
    expect(page).to_have_url(re.compile(r"/portal/payments/pay_"))
    expect(page.locator("#payment-status")).to_have_attribute("data-status", "paid")
    expect(page.get_by_role("heading", level=1)).to_have_text("Betaling ontvangen. Dank u wel!")
    page.get_by_role("link", name="Terug naar uw overzicht").click()
    expect(page.locator(".summary")).to_contain_text("Er staat niets meer open")
    expect(page.locator(".payments")).to_contain_text("€ 1.284,56")
    assert problems == []


def test_the_return_page_updates_itself_when_the_payment_completes(
    engine: Engine, db: Session, live: Live, watched: tuple[Page, list[str]], context: Any
) -> None:
    page, problems = watched
    page.goto(_link_from_delivered_mail(engine, db, live))
    page.get_by_role("button", name="Betaal € 50,00 (factuur F-2)").click()
    expect(page).to_have_url(re.compile(r"/sandbox/checkout/sbx_"))
    checkout_url = page.url
    [payment] = h.payments(db, db.scalars(select(Customer)).one())
    status = context.new_page()
    status.goto(f"{live.url}/portal/payments/{payment.id}")
    expect(status.locator("#payment-status")).to_have_attribute("data-status", "pending")
    status.evaluate("window.__stillHere = true")  # a full reload would lose this
    page.goto(checkout_url)
    page.get_by_role("button", name="Betaald").click()
    expect(status.locator("#payment-status")).to_have_attribute("data-status", "paid", timeout=10_000)
    assert status.evaluate("window.__stillHere") is True  # htmx swapped the status in place
    assert problems == []


def _dispute(page: Page, *, keyboard: bool = False) -> None:
    page.get_by_label("Ik ben het niet eens met een factuur").check()
    page.locator("#respond").get_by_label(re.compile(r"^F-1 ·")).check()
    page.get_by_label("Reden (bij betwisten)").select_option("wrong_amount")
    page.get_by_label("Toelichting").fill("De stukprijs klopt niet.")
    send = page.get_by_role("button", name="Versturen")
    if keyboard:
        send.focus()
        page.keyboard.press("Enter")
    else:
        send.click()


def test_a_dispute_is_sent_with_htmx_without_a_page_load(
    engine: Engine, db: Session, live: Live, watched: tuple[Page, list[str]]
) -> None:
    page, problems = watched
    page.goto(_link_from_delivered_mail(engine, db, live))
    page.evaluate("window.__stillHere = true")
    _dispute(page)
    expect(page.locator("#confirmation")).to_contain_text("wij hebben uw verzoek ontvangen")
    assert page.evaluate("window.__stillHere") is True  # no full page reload
    expect(page).to_have_url(f"{live.url}/portal")
    expect(page.locator("#requests")).to_contain_text("Betwisting")  # swapped in out of band
    expect(page.locator("#invoices")).to_contain_text("Betwist: wij kijken ernaar")
    h.reread(db)
    assert db.scalars(select(Invoice).where(Invoice.number == "F-1")).one().status == "disputed"
    assert problems == []


def test_the_dispute_form_works_with_javascript_off(engine: Engine, db: Session, live: Live, chromium: Any) -> None:
    context = chromium.new_context(java_script_enabled=False, locale="nl-NL")
    try:
        page = context.new_page()
        page.goto(_link_from_delivered_mail(engine, db, live))
        _dispute(page)
        expect(page).to_have_url(re.compile(r"/portal\?sent=req_"))
        expect(page.locator("#confirmation")).to_contain_text("wij hebben uw verzoek ontvangen")
        expect(page.locator("#requests")).to_contain_text("Betwisting")
    finally:
        context.close()


def test_at_360_px_the_statement_fits_and_works_from_the_keyboard(
    engine: Engine, db: Session, live: Live, chromium: Any
) -> None:
    context = chromium.new_context(viewport=PHONE, locale="nl-NL", is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(_link_from_delivered_mail(engine, db, live))
        expect(page.get_by_role("heading", level=1)).to_have_text("Uw rekeningoverzicht")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scrolling
        pay_all = page.get_by_role("button", name="Betaal alles: € 1.284,56")
        box = pay_all.bounding_box()
        assert box is not None and box["height"] >= 44 and box["x"] >= 0 and box["x"] + box["width"] <= 360
        screenshot(page, live, "statement-360.png")
        _dispute(page, keyboard=True)
        expect(page.locator("#confirmation")).to_contain_text("wij hebben uw verzoek ontvangen")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        pay_one = page.get_by_role("button", name="Betaal € 50,00 (factuur F-2)")
        pay_one.focus()
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(r"/sandbox/checkout/sbx_"))
        page.get_by_role("button", name="Betaald").click()
        expect(page.locator("#payment-status")).to_have_attribute("data-status", "paid")
    finally:
        context.close()
