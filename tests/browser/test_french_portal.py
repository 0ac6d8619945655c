"""The French portal in a real browser: a French-speaking Belgian debtor opens the link from the
reminder, reads the statement in French (amounts as ``1 234,56 €``, no line break inside one),
switches to Dutch and back, sends a request with htmx, and pays everything through the sandbox,
on a 360 px phone without scrolling sideways."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from settle import scheduler
from tests.browser.conftest import Live, screenshot
from tests.integration import portal_helpers as h
from tests.integration.french_helpers import DAY, NBSP, NNBSP, OWN_NAMES, belgian_creditor, french_debtor, invoice
from tests.language import foreign_words

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 740}


def test_a_french_debtor_reads_switches_asks_and_pays_in_french_on_a_phone(
    engine: Engine, db: Session, live: Live, chromium: Any
) -> None:
    org = belgian_creditor(db)
    debtor = french_debtor(db, org)
    today = dt.date.today()
    invoice(db, org, debtor, "F-2026-0501", today - 9 * DAY, 123_456)
    invoice(db, org, debtor, "F-2026-0502", today - 8 * DAY, 1_000)
    scheduler.run(engine, live.settings, as_of=today)
    [reminder] = h.mails(live.settings)
    assert reminder["Subject"].startswith("Rappel : 2 factures impayées")
    found = h.PORTAL_LINK.search(h.body(reminder))
    assert found

    # A browser that prefers Dutch: the debtor's own language still wins.
    context = chromium.new_context(viewport=PHONE, is_mobile=True, locale="nl-BE")
    problems: list[str] = []
    try:
        page = context.new_page()
        page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.goto(live.url + found.group(1))
        expect(page).to_have_url(f"{live.url}/portal")
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        expect(page.get_by_role("heading", level=1)).to_have_text("Votre relevé de compte")
        total = page.locator('[data-total="EUR"]')
        assert total.evaluate("e => e.textContent") == f"1{NNBSP}244,56{NBSP}€"  # exactly what Babel writes
        assert total.evaluate("e => e.getClientRects().length") == 1  # on one line, even at 360 px
        assert foreign_words(page.inner_text("body"), allowed=OWN_NAMES) == []
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        screenshot(page, live, "statement-fr-360.png")

        # To Dutch and back: the switch names each language in itself.
        page.get_by_role("link", name="Nederlands").click()
        expect(page.locator("html")).to_have_attribute("lang", "nl")
        expect(page.get_by_role("heading", level=1)).to_have_text("Uw rekeningoverzicht")
        page.get_by_role("link", name="Français").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Votre relevé de compte")

        # A promise to pay, sent with htmx: the confirmation and the request list are French.
        page.locator("#kind-promise").check()
        page.locator("#f-date-promise").fill((today + 5 * DAY).isoformat())
        page.locator("#respond button[type=submit]").click()
        expect(page.locator("#confirmation")).to_contain_text("nous avons bien reçu votre demande")
        assert foreign_words(page.inner_text("body"), allowed=OWN_NAMES) == []
        assert page.evaluate("document.documentElement.scrollWidth") <= 360

        # Paying everything through the sandbox, in French from the button to the receipt.
        page.get_by_role("button", name=re.compile("^Tout payer : 1\\s244,56\\s€$")).click()
        expect(page).to_have_url(re.compile(r"/sandbox/checkout/sbx_"))
        expect(page.get_by_role("heading", level=1)).to_have_text("Paiement d’essai")
        page.get_by_role("button", name="Payé").click()
        expect(page.locator("#payment-status")).to_have_attribute("data-status", "paid")
        expect(page.get_by_role("heading", level=1)).to_have_text("Paiement reçu. Merci !")
        assert foreign_words(page.inner_text("body"), allowed=OWN_NAMES + " sbx") == []
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        screenshot(page, live, "receipt-fr-360.png")
    finally:
        context.close()
    assert problems == []
