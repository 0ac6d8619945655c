"""Mail transports for ``SETTLE_MAIL_URL``: SMTP (plain, STARTTLS, TLS) or a folder of .eml files."""

from __future__ import annotations

import contextlib
import os
import smtplib
import ssl
import tempfile
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from urllib.parse import unquote, urlsplit

from domain.dunning.messages import DeliveryError, Transport


def build_message(*, message_id: str, sender: str, to: str, subject: str, text: str, html: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    domain = sender.rsplit("@", 1)[-1] if "@" in sender else "settle.local"
    # A stable Message-ID per outbox row: a duplicate, should one ever happen, is recognisable.
    msg["Message-ID"] = f"<{message_id}@{domain}>"
    msg["X-Settle-Message"] = message_id
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


class FileTransport:
    """Writes each message as ``<id>.eml`` into a folder, atomically; rewriting one is harmless."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, *, message_id: str, sender: str, to: str, subject: str, text: str, html: str) -> None:
        if not to:
            raise DeliveryError("no recipient address")
        msg = build_message(message_id=message_id, sender=sender, to=to, subject=subject, text=text, html=html)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                fh.write(msg.as_bytes())
            os.replace(tmp, self.folder / f"{message_id}.eml")
        except OSError as exc:
            raise DeliveryError(f"cannot write to {self.folder}: {exc}") from exc

    def close(self) -> None:
        pass


class SmtpTransport:
    """One SMTP connection per run, opened on first use; every refusal raises DeliveryError."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        self.scheme = parts.scheme
        self.host = parts.hostname or "localhost"
        self.port = parts.port or {"smtp": 25, "smtp+starttls": 587, "smtps": 465}[self.scheme]
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout = timeout
        self._conn: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        if self._conn is not None:
            return self._conn
        context = ssl.create_default_context()
        conn: smtplib.SMTP
        if self.scheme == "smtps":
            conn = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.scheme == "smtp+starttls":
                conn.starttls(context=context)
        if self.user:
            conn.login(self.user, self.password or "")
        self._conn = conn
        return conn

    def send(self, *, message_id: str, sender: str, to: str, subject: str, text: str, html: str) -> None:
        if not to:
            raise DeliveryError("no recipient address")
        msg = build_message(message_id=message_id, sender=sender, to=to, subject=subject, text=text, html=html)
        try:
            refused = self._connect().send_message(msg)
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise DeliveryError(f"SMTP {self.host}:{self.port}: {exc}") from exc
        if refused:
            raise DeliveryError(f"SMTP refused {', '.join(refused)}")

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._conn.quit()
            self._conn = None


def transport_for(url: str) -> Transport:
    if url.startswith("file:"):
        return FileTransport(Path(url[len("file:") :]).expanduser())
    scheme = url.split(":", 1)[0]
    if scheme in ("smtp", "smtp+starttls", "smtps"):
        return SmtpTransport(url)
    raise ValueError(f"SETTLE_MAIL_URL {url!r}: use smtp://, smtp+starttls://, smtps:// or file:DIR")
