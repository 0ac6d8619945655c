"""Issue 15 in a real browser: after an htmx request the 'pay everything' amount is the amount
the checkout charges; 'try again' after a cancelled payment; the receipt; at 360 px the
statement and the e-mails do not scroll sideways."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from domain.models import OutboxMessage
from settle import scheduler
from tests.browser.conftest import Live
from tests.integration import portal_helpers as h

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 740}


def _open(engine: Engine, db: Session, live: Live, page: Any, locale: str = "nl") -> h.World:
    w = h.world(db, locale=locale, lines=[("F-1", 10, 7_500), ("F-2", 20, 19_604)])
    scheduler.run(engine, live.settings, as_of=h.TODAY)
    found = next(h.PORTAL_LINK.search(h.body(m)) for m in h.mails(live.settings))
    assert found
    page.goto(live.url + found.group(1))
    return w


def _amount(page: Any) -> str:
    text = page.locator("[data-pay-all]").inner_text()
    return " ".join(text.split(":", 1)[1].split())


@pytest.mark.parametrize("kind", ["dispute", "extension", "promise"])
def test_pay_all_after_a_request_is_what_the_checkout_charges(
    engine: Engine, db: Session, live: Live, context: Any, kind: str
) -> None:
    page = context.new_page()
    _open(engine, db, live, page)
    expect(page.locator("[data-pay-all]")).to_contain_text("271,04")
    page.locator(f"#kind-{kind}").check()
    page.locator("#respond").get_by_label(re.compile("F-1 ·")).check()
    if kind == "dispute":
        page.locator("#f-reason").select_option("wrong_amount")
    else:
        field = page.locator(f"#f-date-{kind}")
        assert field.get_attribute("min") == (h.TODAY + dt.timedelta(days=1)).isoformat()
        assert field.get_attribute("max")
        field.fill((h.TODAY + dt.timedelta(days=5)).isoformat())
    page.get_by_role("button", name="Versturen").click()
    expect(page.locator("#confirmation")).to_be_visible()
    if kind == "dispute":  # a disputed invoice leaves 'pay everything'
        expect(page.locator("[data-pay-all]")).to_contain_text("196,04")
    shown = _amount(page)
    page.locator("[data-pay-all]").click()
    expect(page).to_have_url(re.compile(r"/sandbox/checkout/sbx_"))
    charged = " ".join(page.locator(".facts strong").inner_text().split())
    assert charged == shown


def test_try_again_after_cancelling_and_the_receipt(engine: Engine, db: Session, live: Live, context: Any) -> None:
    page = context.new_page()
    _open(engine, db, live, page)
    page.locator("[data-pay-all]").click()
    page.get_by_role("button", name="Geannuleerd").click()
    expect(page.locator("#payment-status")).to_have_attribute("data-status", "canceled")
    page.get_by_role("button", name=re.compile("Probeer opnieuw")).click()
    expect(page).to_have_url(re.compile(r"/sandbox/checkout/sbx_"))
    expect(page.locator(".facts")).to_contain_text("271,04")
    page.get_by_role("button", name="Betaald").click()
    expect(page.locator("#payment-status")).to_have_attribute("data-status", "paid")
    receipt = page.locator("#receipt")
    expect(receipt).to_contain_text("271,04")
    expect(receipt).to_contain_text("F-1")
    expect(receipt).to_contain_text("sbx_")
    page.emulate_media(media="print")
    assert page.locator(".top").is_hidden() and receipt.is_visible()


@pytest.mark.parametrize("locale", ["nl", "fr", "en"])
def test_at_360_px_the_statement_and_every_e_mail_fit(
    engine: Engine, db: Session, live: Live, chromium: Any, locale: str
) -> None:
    context = chromium.new_context(viewport=PHONE, is_mobile=True)
    try:
        page = context.new_page()
        _open(engine, db, live, page, locale)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        page.locator("#kind-dispute").check()
        page.locator("#respond").get_by_label(re.compile("F-1 ·")).check()
        page.locator("#f-reason").select_option("quality")
        page.locator("#respond button[type=submit]").click()
        expect(page.locator("#confirmation")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        h.reread(db)
        rows = list(db.scalars(select(OutboxMessage).where(OutboxMessage.body_html.is_not(None))))
        assert {r.kind for r in rows} >= {"request_received"}
        for row in rows:
            page.set_content(row.body_html or "")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 360, (row.kind, width)
            assert "2026-" not in page.inner_text("body") or locale == "nl"
    finally:
        context.close()


# The e-mails a debtor can get, each made the way the product makes it.
DUNNING_DAYS = {"reminder": 7, "statement_reminder": 14, "final_reminder": 28, "formal_notice": 35,
                "collection_handover": 50}  # fmt: skip


@pytest.mark.parametrize("locale", ["nl", "fr", "en"])
def test_every_kind_of_e_mail_fits_a_360_px_phone(engine: Engine, db: Session, settings: Any, chromium: Any,
                                                   locale: str) -> None:  # fmt: skip
    from adapters.portal_mail import PortalMailer
    from domain import checkout, fresh_links
    from tests.integration import dunning_helpers as d

    org = d.org(db)
    org.email, org.phone, org.iban = "debiteuren@acme.example", "+31201234567", "NL91ABNA0417164300"
    org.address = "Keizersgracht 1\n1015 AA Amsterdam"
    people = {}
    for kind, days in DUNNING_DAYS.items():
        person = d.customer(db, org.id, f"Debiteur met een lange naam voor {kind}", f"{kind}@example.nl",
                            locale=locale)  # fmt: skip
        for i in range(3):  # a statement with a few lines
            d.invoice(db, org, person, f"F-{kind}-{i}", h.TODAY - dt.timedelta(days=days + 2 * i), 123_456_78)
        people[kind] = person
    db.commit()
    scheduler.run(engine, settings, as_of=h.TODAY)
    h.reread(db)
    mailer = PortalMailer(settings)
    payer = people["reminder"]
    payment = checkout.start(db, payer, [], "sandbox")
    checkout.apply_status(db, payment, "paid", h.TODAY, composer=mailer)  # the thank-you
    fresh_links.send(db, people["statement_reminder"], mailer, dt.datetime.now(dt.UTC))  # a fresh link
    db.commit()

    rows = list(db.scalars(select(OutboxMessage).where(OutboxMessage.channel == "email",
                                                       OutboxMessage.body_html.is_not(None))))  # fmt: skip
    assert {r.kind for r in rows} >= {*DUNNING_DAYS, "thank_you", "portal_link"}
    context = chromium.new_context(viewport=PHONE, is_mobile=True)
    try:
        page = context.new_page()
        for row in rows:
            page.set_content(row.body_html or "")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 360, (row.kind, locale, width)
            if locale == "en":
                assert not re.search(r"\b20\d\d-\d\d-\d\d\b", page.inner_text("body")), row.kind  # dates for people
    finally:
        context.close()
