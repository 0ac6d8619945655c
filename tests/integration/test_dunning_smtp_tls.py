"""Dunning e-mail over an encrypted connection: STARTTLS (``smtp+starttls://``) and implicit
TLS (``smtps://``) against a real aiosmtpd server on loopback with a self-signed certificate
made for the test. The certificate is trusted the standard way, through ``SSL_CERT_FILE``;
untrusted, nothing is sent, and a server without STARTTLS never gets the mail in plain text."""

from __future__ import annotations

import datetime as dt
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from adapters.settings import Settings
from tests.integration import dunning_helpers as h

DAY = dt.timedelta(days=1)
D0 = dt.date(2026, 3, 2)
REMINDER_DAY = D0 + 7 * DAY


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (and its key), as PEM files."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=settle-test-smtp",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


class TlsRecorder(h.SmtpRecorder):
    """Also notes the TLS version each accepted message came over (None: in plain text)."""

    def __init__(self) -> None:
        super().__init__()
        self.tls: list[str | None] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        ssl_object = server.transport.get_extra_info("ssl_object")
        self.tls.append(ssl_object.version() if ssl_object is not None else None)
        return await super().handle_DATA(server, session, envelope)


class TlsSmtpServer:
    """aiosmtpd on loopback: ``mode="starttls"`` requires STARTTLS before MAIL, ``"implicit"``
    speaks TLS from the first byte, ``"plain"`` offers no TLS at all."""

    def __init__(self, mode: str, certificate: tuple[Path, Path]) -> None:
        from aiosmtpd.controller import Controller

        self.mode = mode
        self.handler = TlsRecorder()
        self.port = h.free_port()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*certificate)
        kw: dict[str, Any] = {}
        if mode == "starttls":
            kw = {"tls_context": context, "require_starttls": True}
        elif mode == "implicit":
            kw = {"ssl_context": context}
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **kw)

    def url(self, scheme: str) -> str:
        return f"{scheme}://127.0.0.1:{self.port}"

    def __enter__(self) -> TlsSmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


@pytest.fixture
def starttls_server(certificate: tuple[Path, Path]) -> Iterator[TlsSmtpServer]:
    with TlsSmtpServer("starttls", certificate) as server:
        yield server


@pytest.fixture
def implicit_tls_server(certificate: tuple[Path, Path]) -> Iterator[TlsSmtpServer]:
    with TlsSmtpServer("implicit", certificate) as server:
        yield server


@pytest.fixture
def plain_server(certificate: tuple[Path, Path]) -> Iterator[TlsSmtpServer]:
    with TlsSmtpServer("plain", certificate) as server:
        yield server


@pytest.fixture
def trusted(certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    """Trust the test certificate as an operator trusts a private CA: ``SSL_CERT_FILE``."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    return certificate[0]


def smtp_settings(database_url: str, mail_url: str) -> Settings:
    return Settings.from_env(h.cli_env(database_url, mail_url))


def one_reminder_due(db: Session) -> str:
    o = h.org(db)
    c = h.customer(db, o.id, "Bakkerij Jansen", "ap@jansen.example")
    h.invoice(db, o, c, "F-TLS", D0, 12_345)
    return c.id


def test_starttls_upgrades_the_connection_before_the_reminder_is_sent(
    db: Session, engine: Engine, database_url: str, starttls_server: TlsSmtpServer, trusted: Path
) -> None:
    one_reminder_due(db)
    settings = smtp_settings(database_url, starttls_server.url("smtp+starttls"))

    summary = h.run(engine, settings, db, REMINDER_DAY)

    assert summary.delivered == 1 and summary.failed == 0
    [(rcpt, msg)] = starttls_server.handler.received
    assert rcpt == ["ap@jansen.example"]
    assert msg["Subject"].startswith("Herinnering") and "F-TLS" in h.text_of(msg)
    assert "€ 123,45" in h.text_of(msg)
    [version] = starttls_server.handler.tls
    assert version is not None and version.startswith("TLS")
    [row] = h.outbox(db)
    assert (row.status, row.attempts, msg["X-Settle-Message"]) == ("sent", 1, row.id)


def test_smtps_speaks_tls_from_the_first_byte_and_delivers(
    db: Session, engine: Engine, database_url: str, implicit_tls_server: TlsSmtpServer, trusted: Path
) -> None:
    one_reminder_due(db)
    settings = smtp_settings(database_url, implicit_tls_server.url("smtps"))

    summary = h.run(engine, settings, db, REMINDER_DAY)

    assert summary.delivered == 1 and summary.failed == 0
    [(rcpt, msg)] = implicit_tls_server.handler.received
    assert rcpt == ["ap@jansen.example"] and "F-TLS" in h.text_of(msg)
    [version] = implicit_tls_server.handler.tls
    assert version is not None and version.startswith("TLS")
    assert [r.status for r in h.outbox(db)] == ["sent"]


def test_an_untrusted_certificate_is_refused_and_the_reminder_waits(
    db: Session,
    engine: Engine,
    database_url: str,
    implicit_tls_server: TlsSmtpServer,
    certificate: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    one_reminder_due(db)
    settings = smtp_settings(database_url, implicit_tls_server.url("smtps"))

    summary = h.run(engine, settings, db, REMINDER_DAY)

    assert summary.delivered == 0 and summary.failed == 1
    assert implicit_tls_server.handler.received == []
    [row] = h.outbox(db)
    assert (row.status, row.attempts, row.sent_at) == ("pending", 1, None)
    assert "certificate verify failed" in (row.last_error or "").lower()

    # Once the operator trusts the certificate, the same message goes out, once.
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    row.next_attempt_at = None
    db.commit()
    later = h.run(engine, settings, db, REMINDER_DAY)
    assert later.delivered == 1 and later.messages == 0
    assert implicit_tls_server.handler.settle_ids() == [row.id]


def test_starttls_against_a_server_without_it_never_sends_in_plain_text(
    db: Session, engine: Engine, database_url: str, plain_server: TlsSmtpServer, trusted: Path
) -> None:
    one_reminder_due(db)
    settings = smtp_settings(database_url, plain_server.url("smtp+starttls"))

    summary = h.run(engine, settings, db, REMINDER_DAY)

    assert summary.delivered == 0 and summary.failed == 1
    assert plain_server.handler.data_commands == 0 and plain_server.handler.received == []
    [row] = h.outbox(db)
    assert row.status == "pending" and "STARTTLS" in (row.last_error or "")


def test_the_settle_command_trusts_a_private_ca_through_ssl_cert_file(
    db: Session, database_url: str, starttls_server: TlsSmtpServer, trusted: Path
) -> None:
    one_reminder_due(db)
    db.commit()
    env = {**h.cli_env(database_url, starttls_server.url("smtp+starttls")), "SSL_CERT_FILE": str(trusted)}

    out = h.settle_run(env, "--as-of", REMINDER_DAY.isoformat())

    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("1 delivered, 0 failed")
    assert [rcpt for rcpt, _ in starttls_server.handler.received] == [["ap@jansen.example"]]
    assert starttls_server.handler.tls[0] is not None
