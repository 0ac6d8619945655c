"""GET /demo/mailbox: the outbox as a mailbox, newest first, only while sandbox payments are on."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from litestar.testing import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from adapters.settings import Settings
from settle import scheduler
from settle.app import create_app
from tests.integration import portal_helpers as h


def test_the_mailbox_lists_outbox_mail_newest_first_and_its_links_open_the_portal(
    client: Any, engine: Engine, db: Session, settings: Settings
) -> None:
    w = h.world(db, lines=[("F-1", 10, 10_000)])
    scheduler.run(engine, settings, as_of=h.TODAY)  # a reminder with a fresh portal link
    page = h.sign_in(client, db, settings, w.customer)
    h.pay_through_sandbox(client, page)  # and a thank-you after it
    client.cookies.clear()
    box = client.get("/demo/mailbox")
    assert box.status_code == 200
    subjects = re.findall(r'<p class="subject"><strong>([^<]+)</strong>', box.text)
    assert subjects[0].startswith("Bedankt voor uw betaling") and subjects[1].startswith("Herinnering")
    ids = re.findall(r'href="/demo/mailbox/(msg_[^"]+)"', box.text)
    assert len(ids) == 2
    mail = client.get(f"/demo/mailbox/{ids[1]}")
    assert mail.status_code == 200 and "F-1" in mail.text and "/p/" in mail.text
    assert "style-src 'unsafe-inline'" in mail.headers["content-security-policy"]
    assert "script-src" not in mail.headers["content-security-policy"]  # default-src 'none' forbids scripts
    link = re.findall(r'href="(/p/[^"]+)" class="portal-link"', box.text)[1]
    opened = client.get(link, follow_redirects=False)
    assert opened.status_code == 303 and client.get("/portal").status_code == 200


def test_without_sandbox_payments_there_is_no_mailbox(engine: Engine, db: Session, settings: Settings) -> None:
    w = h.world(db)
    scheduler.run(engine, settings, as_of=h.TODAY)
    h.reread(db)
    [message] = h.outbox(db, "reminder")
    assert w.customer.id == message.customer_id
    off = dataclasses.replace(settings, sandbox_payments=False)
    with TestClient(app=create_app(off, engine=engine), base_url="http://settle.test") as tc:
        for path in ("/demo/mailbox", f"/demo/mailbox/{message.id}"):
            r = tc.get(path)
            assert r.status_code == 404 and "Herinnering" not in r.text
