"""Mail transports for ``SETTLE_MAIL_URL``: SMTP (plain, STARTTLS, TLS) or a folder of .eml files.

``smtp+starttls://`` and ``smtps://`` always verify the server's certificate and host name
against the system's trusted CAs. A mail server with a certificate from a private CA (or a
self-signed one) is trusted the standard OpenSSL way, not by switching verification off: point
``SSL_CERT_FILE`` at a PEM bundle holding that CA (or ``SSL_CERT_DIR`` at a hashed folder) in
the environment of ``settle run``. That bundle replaces the default one for the process.
``smtp+starttls://`` never falls back to plain text when the server does not offer STARTTLS.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import os
import re
import secrets
import smtplib
import ssl
import threading
from email import quoprimime
from email.header import Header
from email.utils import formataddr, formatdate, parseaddr
from pathlib import Path
from urllib.parse import unquote, urlsplit

from domain.dunning.messages import DeliveryError, Transport


@functools.lru_cache(maxsize=1024)
def _parse_address(value: str) -> tuple[str, str]:
    """(display name, address) of ``value``; cached, as a run sends everything from one or a few senders."""
    return parseaddr(value)


def _header(name: str, value: str) -> str:
    """``Name: value``, RFC 2047-encoded when not ASCII and folded when long."""
    value = " ".join(value.split())  # no line breaks from a template can end the header early
    if value.isascii() and len(name) + len(value) <= 76:
        return f"{name}: {value}"
    encoded = Header(value, "utf-8" if not value.isascii() else "us-ascii", header_name=name).encode(linesep="\n")
    return f"{name}: {encoded}"


def _address(name: str, value: str) -> str:
    """An address header; a display name that is not ASCII is encoded, the address itself never."""
    if value.isascii():
        return _header(name, value)
    display, addr = _parse_address(value)
    if not addr:
        return _header(name, value)
    return f"{name}: {formataddr((display, addr), 'utf-8')}"


def _part(subtype: str, body: str) -> list[str]:
    if not body.endswith("\n"):
        body += "\n"
    return [
        f'Content-Type: text/{subtype}; charset="utf-8"',
        "Content-Transfer-Encoding: quoted-printable",
        "",
        # quoprimime encodes characters as Latin-1 bytes: hand it the UTF-8 bytes that way.
        quoprimime.body_encode(body.replace("\r\n", "\n").encode("utf-8").decode("latin-1")),
    ]


_DATA_IMAGE = re.compile(r'src="data:(image/png);base64,([A-Za-z0-9+/=]+)"')


def _inline_images(html: str, domain: str, message_id: str) -> tuple[str, list[tuple[str, str, str]]]:
    """The HTML with each ``data:image/png`` source replaced by a ``cid:`` reference, and the images
    as (content id, type, base64). Gmail, Outlook and Outlook.com drop ``data:`` images; every
    common client shows a ``cid:`` part of a ``multipart/related`` HTML body."""
    images: list[tuple[str, str, str]] = []

    def swap(m: re.Match[str]) -> str:
        cid = f"img{len(images) + 1}.{message_id}@{domain}"
        images.append((cid, m.group(1), m.group(2)))
        return f'src="cid:{cid}"'

    return _DATA_IMAGE.sub(swap, html), images


def _image_part(cid: str, kind: str, data: str) -> list[str]:
    raw = base64.b64decode(data)
    wrapped = base64.encodebytes(raw).decode("ascii").rstrip("\n")
    name = cid.split("@", 1)[0].split(".", 1)[0] + ".png"
    return [
        f"Content-Type: {kind}",
        "Content-Transfer-Encoding: base64",
        f"Content-ID: <{cid}>",
        f'Content-Disposition: inline; filename="{name}"',
        "",
        wrapped,
    ]


def build_message(
    *, message_id: str, sender: str, to: str, subject: str, text: str, html: str, linesep: str = "\n",
    reply_to: str | None = None,
) -> bytes:
    """The e-mail as bytes: ``multipart/alternative`` with a text and an HTML part, both UTF-8
    quoted-printable. An HTML part with ``data:image/png`` images (the EPC scan-to-pay code) becomes
    ``multipart/related`` with each image as an inline ``cid:`` part; the text part is unchanged.

    Written out directly rather than through ``email.message.EmailMessage``, whose header
    parsing and folding cost about a millisecond per message: at a hundred thousand
    reminders a run that is minutes. The structure is fixed and simple; the boundary starts
    with ``=_``, which quoted-printable text can never contain.
    """
    addr = _parse_address(sender)[1] or sender
    domain = addr.rsplit("@", 1)[-1] if "@" in addr else "settle.local"
    boundary = f"=_settle_{secrets.token_hex(12)}"
    html, images = _inline_images(html, domain, message_id) if "data:image/" in html else (html, [])
    html_part = _part("html", html)
    if images:
        related = f"=_settle_rel_{secrets.token_hex(12)}"
        html_part = [
            "Content-Type: multipart/related;",
            f' boundary="{related}"; type="text/html"',
            "",
            f"--{related}",
            *html_part,
            *(line for cid, kind, data in images for line in (f"--{related}", *_image_part(cid, kind, data))),
            f"--{related}--",
        ]
    lines = [
        _address("From", sender),
        *([_address("Reply-To", reply_to)] if reply_to else []),
        _address("To", to),
        _header("Subject", subject),
        f"Date: {formatdate(localtime=False, usegmt=True)}",
        # A stable Message-ID per outbox row: a duplicate, should one ever happen, is recognisable.
        f"Message-ID: <{message_id}@{domain}>",
        f"X-Settle-Message: {message_id}",
        "MIME-Version: 1.0",
        "Content-Type: multipart/alternative;",
        f' boundary="{boundary}"',
        "",
        f"--{boundary}",
        *_part("plain", text),
        f"--{boundary}",
        *html_part,
        f"--{boundary}--",
        "",
    ]
    out = "\n".join(lines)
    if linesep != "\n":
        out = out.replace("\n", linesep)
    return out.encode("utf-8")


class FileTransport:
    """Writes each message as ``<id>.eml`` into a folder, atomically; rewriting one is harmless."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._ready = False

    def send(self, *, message_id: str, sender: str, to: str, subject: str, text: str, html: str,
             reply_to: str | None = None) -> None:  # fmt: skip
        if not to:
            raise DeliveryError("no recipient address")
        data = build_message(message_id=message_id, sender=sender, to=to, subject=subject, text=text, html=html,
                             reply_to=reply_to)  # fmt: skip
        try:
            if not self._ready:
                self.folder.mkdir(parents=True, exist_ok=True)
                self._ready = True
            # Unique per process, thread and message: two senders (or a crashed one's leftover) never share it.
            tmp = self.folder / f".{message_id}.{os.getpid()}.{threading.get_ident()}.tmp"
            with open(tmp, "wb") as fh:
                fh.write(data)
            os.replace(tmp, self.folder / f"{message_id}.eml")
        except OSError as exc:
            self._ready = False
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
        # Verifies certificate and host name; honours SSL_CERT_FILE / SSL_CERT_DIR (module docstring).
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

    def send(self, *, message_id: str, sender: str, to: str, subject: str, text: str, html: str,
             reply_to: str | None = None) -> None:  # fmt: skip
        if not to:
            raise DeliveryError("no recipient address")
        data = build_message(
            message_id=message_id, sender=sender, to=to, subject=subject, text=text, html=html, linesep="\r\n",
            reply_to=reply_to,
        )
        try:
            envelope_from, envelope_to = _parse_address(sender)[1] or sender, _parse_address(to)[1] or to
            refused = self._connect().sendmail(envelope_from, [envelope_to], data)
        except (smtplib.SMTPException, OSError, UnicodeError) as exc:
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
