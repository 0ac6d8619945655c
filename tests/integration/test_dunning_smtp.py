"""Dunning e-mail through a real SMTP server on loopback (aiosmtpd): what arrives,
in which language, with which link, and what happens when the server says no."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from adapters.db import make_sessionmaker
from adapters.mail import SmtpTransport
from adapters.settings import Settings
from domain import portal_links
from domain.dunning import engine as dunning
from domain.models import OutboxMessage, utcnow
from tests.integration import dunning_helpers as h

DAY = dt.timedelta(days=1)
D0 = dt.date(2026, 3, 2)


@pytest.fixture
def smtp() -> Iterator[h.SmtpServer]:
    with h.SmtpServer() as server:
        yield server


def smtp_settings(database_url: str, mail_url: str) -> Settings:
    """Settings as ``settle run`` reads them from its environment, pointing at the SMTP server."""
    return Settings.from_env(h.cli_env(database_url, mail_url))


def test_messages_arrive_as_text_and_html_in_the_customers_language_with_a_valid_portal_link(
    db: Session, engine: Engine, database_url: str, smtp: h.SmtpServer
) -> None:
    o = h.org(db)
    dutch = h.customer(db, o.id, "Bakkerij Jansen", "ap@jansen.example", locale="nl")
    english = h.customer(db, o.id, "Smith Ltd", "accounts@smith.example", locale="en")
    h.invoice(db, o, dutch, "NL-1", D0)
    h.invoice(db, o, dutch, "NL-2", D0, 6_050)
    h.invoice(db, o, english, "EN-1", D0)
    settings = smtp_settings(database_url, smtp.url)

    summary = h.run(engine, settings, db, D0 + 7 * DAY)

    assert summary.delivered == 2 and summary.failed == 0
    received = {tuple(rcpt): msg for rcpt, msg in smtp.handler.received}
    assert sorted(received) == [("accounts@smith.example",), ("ap@jansen.example",)]
    nl, en = received[("ap@jansen.example",)], received[("accounts@smith.example",)]
    for msg, customer, numbers in ((nl, dutch, ["NL-1", "NL-2"]), (en, english, ["EN-1"])):
        assert msg.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
        assert msg["To"] == customer.email
        assert msg["From"] == "settle@settle.test"
        text, html = h.text_of(msg), h.html_of(msg)
        for number in numbers:
            assert number in text and number in html
        token = h.portal_token(text)
        assert f"/p/{token}" in html
        verdict = portal_links.verify(db, token, secret_keys=settings.secret_keys, now=utcnow())
        assert verdict.status == "valid" and verdict.customer is not None and verdict.customer.id == customer.id
        [row] = h.outbox(db, OutboxMessage.customer_id == customer.id)
        assert msg["X-Settle-Message"] == row.id and row.status == "sent" and row.attempts == 1
    assert nl["Subject"].startswith("Herinnering") and "Beste Bakkerij Jansen" in h.text_of(nl)
    assert "€ 60,50" in h.text_of(nl)
    assert en["Subject"].startswith("Reminder") and "Dear Smith Ltd" in h.text_of(en)
    assert "Beste" not in h.text_of(en) and "Dear" not in h.text_of(nl)


def test_accents_in_the_sender_name_subject_and_body_arrive_intact(
    db: Session, engine: Engine, database_url: str, smtp: h.SmtpServer
) -> None:
    o = h.org(db, "Groothandel Zoë & Zonen")
    o.mail_from = "Debiteuren Zoë <debiteuren@zoe.example>"
    c = h.customer(db, o.id, "Café Het Hoekje", "kassa@hoekje.example")
    h.invoice(db, o, c, "F-É1", D0, 123_456)
    settings = smtp_settings(database_url, smtp.url)

    summary = h.run(engine, settings, db, D0 + 7 * DAY)

    assert summary.delivered == 1
    [(rcpt, msg)] = smtp.handler.received
    assert rcpt == ["kassa@hoekje.example"]
    assert not msg.defects
    [sender] = msg["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Debiteuren Zoë", "debiteuren@zoe.example")
    assert msg["Subject"] == "Herinnering: 1 openstaande factuur van Groothandel Zoë & Zonen"
    assert msg["Message-ID"] == f"<{msg['X-Settle-Message']}@zoe.example>"
    text, html = h.text_of(msg), h.html_of(msg)
    assert "Beste Café Het Hoekje" in text and "F-É1" in text and "€ 1.234,56" in text
    assert "Café Het Hoekje" in html and "Groothandel Zoë &amp; Zonen" in html
    raw = msg.as_bytes()
    assert raw.isascii() and max(len(line) for line in raw.splitlines()) <= 78  # 7-bit, folded: any server takes it


def test_a_refused_message_stays_pending_with_a_back_off_and_is_delivered_once_later(
    db: Session, engine: Engine, database_url: str, smtp: h.SmtpServer
) -> None:
    o = h.org(db)
    c = h.customer(db, o.id)
    h.invoice(db, o, c, "F-451", D0)
    settings = smtp_settings(database_url, smtp.url)
    smtp.handler.refuse = "451 4.3.0 Mailbox temporarily unavailable"

    summary = h.run(engine, settings, db, D0 + 7 * DAY)

    assert summary.failed == 1 and summary.delivered == 0
    assert smtp.handler.received == [] and smtp.handler.data_commands == 1
    [row] = h.outbox(db)
    assert (row.status, row.attempts, row.sent_at) == ("pending", 1, None)
    assert row.next_attempt_at is not None and row.next_attempt_at > utcnow()
    assert "451" in (row.last_error or "")

    # The server is back, but the back-off has not passed: a run now leaves it alone.
    smtp.handler.refuse = None
    again = h.run(engine, settings, db, D0 + 7 * DAY)
    assert again.delivered == 0 and smtp.handler.data_commands == 1

    # Past the back-off it goes out, once.
    factory = make_sessionmaker(engine, writer=True)
    later = utcnow() + dt.timedelta(hours=1)
    for _ in range(2):
        transport = SmtpTransport(settings.mail_url)
        try:
            dunning.deliver(factory, transport, default_sender=settings.mail_from, now=lambda: later)
        finally:
            transport.close()
    assert smtp.handler.settle_ids() == [row.id]
    db.expire_all()
    [row] = h.outbox(db)
    assert (row.status, row.attempts) == ("sent", 2)


def test_a_closed_port_marks_nothing_sent_and_a_later_run_delivers(
    db: Session, engine: Engine, database_url: str, smtp: h.SmtpServer
) -> None:
    o = h.org(db)
    for i in range(2):
        c = h.customer(db, o.id, f"Klant {i}", f"klant{i}@example.com")
        h.invoice(db, o, c, f"F-{i}", D0)
    closed = smtp_settings(database_url, f"smtp://127.0.0.1:{h.free_port()}")

    summary = h.run(engine, closed, db, D0 + 7 * DAY)

    assert summary.messages == 2 and summary.delivered == 0 and summary.failed == 2
    rows = h.outbox(db)
    assert [(r.status, r.attempts) for r in rows] == [("pending", 1), ("pending", 1)]
    assert all(r.next_attempt_at is not None and r.sent_at is None for r in rows)

    for r in rows:
        r.next_attempt_at = utcnow() - dt.timedelta(minutes=1)
    db.commit()
    open_port = smtp_settings(database_url, smtp.url)
    later = h.run(engine, open_port, db, D0 + 7 * DAY)
    h.run(engine, open_port, db, D0 + 7 * DAY)

    assert later.delivered == 2 and later.messages == 0  # nothing planned anew, the pending two delivered
    assert sorted(smtp.handler.settle_ids()) == sorted(r.id for r in rows)
    assert [(r.status, r.attempts) for r in h.outbox(db)] == [("sent", 2), ("sent", 2)]


def test_writes_succeed_while_a_run_waits_on_a_slow_mail_server(
    db: Session, database_url: str, on_postgres: bool, smtp: h.SmtpServer
) -> None:
    """The server takes two seconds per message. While it does, a write transaction (SQLite:
    ``BEGIN IMMEDIATE`` with a 500 ms busy timeout; PostgreSQL: a 500 ms lock timeout) on the
    customers and invoices of the run succeeds every time: no lock is held while SMTP talks."""
    import sqlite3
    import subprocess
    import time

    from sqlalchemy import text

    from adapters.db import make_engine

    o = h.org(db)
    owners = [h.customer(db, o.id, f"Klant {i}", f"klant{i}@example.com") for i in range(3)]
    for i, c in enumerate(owners):
        h.invoice(db, o, c, f"F-{i}", D0)
    db.commit()
    writes: list[str] = []
    probe = make_engine(database_url)

    def write_while_the_server_waits(n: int) -> None:
        names = [(f"{c.name} ({n})", c.id) for c in owners]
        try:
            if on_postgres:
                with probe.connect() as conn:
                    conn.exec_driver_sql("SET lock_timeout = '500ms'")
                    for name, cid in names:
                        conn.execute(text("UPDATE customers SET name = :n WHERE id = :id"), {"n": name, "id": cid})
                    conn.execute(text("UPDATE invoices SET amount_cents = amount_cents WHERE org_id = :o"), {"o": o.id})
                    conn.commit()
            else:
                raw = sqlite3.connect(database_url.split("///", 1)[1], timeout=0.5, isolation_level=None)
                try:
                    raw.execute("BEGIN IMMEDIATE")
                    raw.executemany("UPDATE customers SET name = ? WHERE id = ?", names)
                    raw.execute("UPDATE invoices SET amount_cents = amount_cents WHERE org_id = ?", (o.id,))
                    raw.execute("COMMIT")
                finally:
                    raw.close()
            writes.append("ok")
        except Exception as exc:
            writes.append(repr(exc))
        time.sleep(2)

    smtp.handler.on_data = write_while_the_server_waits
    try:
        proc = h.start_settle_run(h.cli_env(database_url, smtp.url), "--as-of", (D0 + 7 * DAY).isoformat())
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    finally:
        probe.dispose()
    assert proc.returncode == 0, err
    assert "3 delivered" in out
    assert writes == ["ok", "ok", "ok"]
