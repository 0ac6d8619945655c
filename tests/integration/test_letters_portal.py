"""The portal shows the debtor its formal notice as the PDF that was posted, behind the
signed-link session; another debtor's letter is the portal's 404."""

from __future__ import annotations

import re

from litestar.testing import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from adapters.settings import Settings
from settle.app import create_app
from tests.integration import letters_helpers as h
from tests.integration.dunning_helpers import run
from tests.integration.portal_helpers import sign_in

LINK = re.compile(r'href="(/portal/letters/(let_[a-z0-9]+)\.pdf)"')


def test_the_debtor_opens_its_formal_notice_as_pdf_and_no_one_elses(engine: Engine, settings: Settings,
                                                                    db: Session) -> None:  # fmt: skip
    org = h.creditor(db, all_by_post=False)
    mine = h.debtor(db, org, "formal_notice", "nl", 1, consumer=True)
    theirs = h.debtor(db, org, "formal_notice", "en", 2)
    run(engine, settings, db, h.AS_OF)
    with TestClient(app=create_app(settings, engine=engine), base_url="http://settle.test") as client:
        page = sign_in(client, db, settings, h.customer(db, mine.customer_id))
        found = LINK.findall(page)
        assert len(found) == 1, "the statement page offers the one formal notice"
        path, letter_id = found[0]
        assert "Ingebrekestelling" in page
        got = client.get(path)
        assert got.status_code == 200 and got.headers["content-type"].startswith("application/pdf")
        assert got.headers["cache-control"] == "no-store"
        text = " ".join(h.pdf_text(got.content).split())
        assert mine.name in text and mine.invoice_number in text and "veertien dagen" in text
        other_id = next(r.id for r in h.letters_of(db, org.id) if r.customer_id == theirs.customer_id)
        assert client.get(f"/portal/letters/{other_id}.pdf").status_code == 404
        assert client.get(f"/portal/letters/{letter_id}").status_code == 404
    with TestClient(app=create_app(settings, engine=engine), base_url="http://settle.test") as anonymous:
        assert anonymous.get(path).status_code in (401, 403), "no session, no letter"


def test_the_statement_page_reads_in_two_queries_with_a_notice_and_plan_terms(engine: Engine, settings: Settings,
                                                                             db: Session) -> None:  # fmt: skip
    """The morning after a run most debtors open this page: the session check and one read model
    (invoices, payments, requests, credit, providers, plan, plan terms, letters), whatever it shows."""
    from dataclasses import replace

    from sqlalchemy import event

    from domain import arrangements

    org = h.creditor(db, all_by_post=False)
    mine = h.debtor(db, org, "formal_notice", "nl", 1, consumer=True)
    terms = replace(arrangements.DEFAULT_TERMS, max_instalments=4, min_balance_cents=0)
    arrangements.set_terms(db, org.id, None, terms)
    db.commit()
    run(engine, settings, db, h.AS_OF)
    statements: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    with TestClient(app=create_app(settings, engine=engine), base_url="http://settle.test") as client:
        sign_in(client, db, settings, h.customer(db, mine.customer_id))
        event.listen(engine, "before_cursor_execute", seen)
        try:
            page = client.get("/portal").text
        finally:
            event.remove(engine, "before_cursor_execute", seen)
    selects = [s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH", "("))]
    assert len(selects) == 2, selects
    assert len(LINK.findall(page)) == 1, "the formal notice is offered"
    assert 'name="instalments" min="2" max="4"' in page, "the organisation's own terms shape the plan form"
