"""In a real browser: the debtor follows the formal notice's link, finds the letter on the
statement page and opens it as the PDF that was posted, in the same session."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from settle import scheduler
from tests.browser.conftest import Live
from tests.integration import letters_helpers as lh
from tests.integration import portal_helpers as ph

pytestmark = pytest.mark.browser


def test_the_debtor_opens_the_formal_notice_pdf_from_the_statement(engine: Engine, db: Session, live: Live,
                                                                   context: Any) -> None:  # fmt: skip
    org = lh.creditor(db, all_by_post=False)
    debtor = lh.debtor(db, org, "formal_notice", "nl", 1, consumer=True)
    db.commit()
    scheduler.run(engine, live.settings, as_of=lh.AS_OF)
    [mail] = ph.mails(live.settings)
    link = re.search(re.escape(live.url) + r"/p/[A-Za-z0-9_.\-]+", ph.body(mail))
    assert link, "no portal link in the notice"
    page = context.new_page()
    page.goto(link.group(0))
    letters = page.get_by_role("region", name="Uw brieven")
    expect(letters).to_contain_text("Ingebrekestelling")
    href = page.locator("a[data-letter]").get_attribute("href")
    assert href and href.endswith(".pdf")
    got = page.request.get(live.url + href)  # the browser's own session cookie goes with it
    assert got.status == 200 and got.headers["content-type"].startswith("application/pdf")
    text = " ".join(lh.pdf_text(got.body()).split())
    assert debtor.name in text and debtor.invoice_number in text
