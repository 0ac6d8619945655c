"""Shared setup for the dunning tests: seed a creditor, its debtors and invoices,
run the scheduler for a day, read the delivered e-mail back, and drive the real
``settle`` command in a subprocess."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import os
import re
import socket
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from adapters.settings import Settings
from domain import customers, invoices, organisations
from domain.dunning.engine import RunSummary
from domain.models import Customer, DunningAction, Invoice, Organisation, OutboxMessage
from settle import scheduler

SECRET = "test-secret-key-1"
PORTAL_LINK = re.compile(r"https?://[^\s\"'<>]+/p/([A-Za-z0-9_.\-]+)")


# --- seeding --------------------------------------------------------------------


def org(session: Session, name: str = "Acme Groothandel") -> Organisation:
    created, _ = organisations.create(session, name)
    return created


def customer(
    session: Session,
    org_id: str,
    name: str = "Bakkerij Jansen",
    email_address: str | None = "ap@jansen.example",
    *,
    kind: str = "business",
    locale: str = "nl",
) -> Customer:
    return customers.create(session, org_id, name=name, email=email_address, kind=kind, locale=locale)


def invoice(
    session: Session, organisation: Organisation, owner: Customer, number: str, due: dt.date, cents: int = 10_000
) -> Invoice:
    return invoices.create(
        session,
        organisation,
        invoices.NewInvoice(
            number=number,
            issue_date=due - dt.timedelta(days=30),
            due_date=due,
            amount_cents=cents,
            currency="EUR",
            customer_id=owner.id,
        ),
    )


# --- running ---------------------------------------------------------------------


def run(engine: Engine, settings: Settings, session: Session, as_of: dt.date, **kw: Any) -> RunSummary:
    """One ``settle run`` for ``as_of`` in-process; the test's session sees its effects afterwards."""
    session.commit()
    summary = scheduler.run(engine, settings, as_of=as_of, **kw)
    session.expire_all()
    return summary


def count(session: Session, model: Any, *where: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def actions(session: Session, invoice_id: str) -> list[tuple[str, str]]:
    """(step kind, status) of every dunning action of an invoice, in policy order."""
    rows = session.execute(
        select(DunningAction.step_kind, DunningAction.status, DunningAction.step_key).where(
            DunningAction.invoice_id == invoice_id
        )
    ).all()
    return [(k, s) for k, s, _ in sorted(rows, key=lambda r: int(r[2].split(":", 1)[0]))]


def outbox(session: Session, *where: Any) -> list[OutboxMessage]:
    return list(session.scalars(select(OutboxMessage).where(*where).order_by(OutboxMessage.created_at)))


# --- reading mail ------------------------------------------------------------------


def parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def text_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None, "no text/plain part"
    return str(part.get_content())


def words_of(msg: EmailMessage) -> str:
    """The plain text without its links: a link's random token may spell an invoice number."""
    return re.sub(r"https?://\S+", "", text_of(msg))


def html_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("html",))
    assert part is not None, "no text/html part"
    return str(part.get_content())


class Mailbox:
    """The ``file:`` outbox of a run: every ``.eml`` written, read back as e-mail."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def files(self) -> list[Path]:
        return sorted(self.folder.glob("*.eml")) if self.folder.exists() else []

    def messages(self) -> list[EmailMessage]:
        return [parse(p.read_bytes()) for p in self.files()]

    def ids(self) -> set[str]:
        return {p.stem for p in self.files()}

    def new_since(self, seen: set[str]) -> list[EmailMessage]:
        return [parse(p.read_bytes()) for p in self.files() if p.stem not in seen]


def mailbox(settings: Settings) -> Mailbox:
    assert settings.mail_url.startswith("file:")
    return Mailbox(Path(settings.mail_url[len("file:") :]))


def portal_token(text: str) -> str:
    found = PORTAL_LINK.search(text)
    assert found, f"no portal link in:\n{text}"
    return found.group(1)


# --- the real command line ----------------------------------------------------------


def settle_command() -> list[str]:
    exe = Path(sys.executable).with_name("settle")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "settle.cli"]


def cli_env(database_url: str, mail_url: str, base_url: str = "http://settle.test") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SETTLE_")}
    env.update(
        SETTLE_DATABASE_URL=database_url,
        SETTLE_SECRET_KEYS=SECRET,
        SETTLE_MAIL_URL=mail_url,
        SETTLE_BASE_URL=base_url,
        SETTLE_MAIL_FROM="settle@settle.test",
    )
    return env


def settle_run(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*settle_command(), "run", *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def start_settle_run(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*settle_command(), "run", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def free_port() -> int:
    """A loopback port nobody listens on (bound and released: connecting to it is refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Seeded:
    org_id: str
    slug: str
    customer_ids: list[str]
    invoice_ids: list[str]


def seed_due(
    session: Session, n_customers: int, as_of: dt.date, *, invoices_each: int = 1, overdue_days: Sequence[int] = (7,)
) -> Seeded:
    """A creditor with ``n_customers`` debtors, each with invoices due so that on
    ``as_of`` they have reached a step (``overdue_days`` cycles over the invoices)."""
    organisation = org(session, "Bulk Creditor")
    cids: list[str] = []
    iids: list[str] = []
    k = 0
    for c in range(n_customers):
        owner = customer(
            session, organisation.id, f"Debtor {c:04d}", f"debtor{c:04d}@example.com", locale=("nl", "en")[c % 2]
        )
        cids.append(owner.id)
        for j in range(invoices_each):
            days = overdue_days[k % len(overdue_days)]
            k += 1
            inv = invoice(session, organisation, owner, f"B-{c:04d}-{j}", as_of - dt.timedelta(days=days))
            iids.append(inv.id)
    session.commit()
    return Seeded(organisation.id, organisation.slug, cids, iids)


# --- a real SMTP server on loopback ------------------------------------------------------


class SmtpRecorder:
    """An aiosmtpd handler that keeps every message it accepts.

    ``refuse`` (e.g. ``"451 4.3.0 try again later"``) answers DATA with that
    reply instead; ``on_data`` is called with the 1-based number of each DATA
    before it is answered (the crash tests kill the sender there).
    """

    def __init__(self) -> None:
        self.received: list[tuple[list[str], EmailMessage]] = []
        self.refuse: str | None = None
        self.data_commands = 0
        self.on_data: Any = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.data_commands += 1
        if self.on_data is not None:
            reply = self.on_data(self.data_commands)
            if reply is not None:
                return str(reply)
        if self.refuse is not None:
            return self.refuse
        self.received.append((list(envelope.rcpt_tos), parse(envelope.original_content or envelope.content)))
        return "250 2.0.0 OK"

    def settle_ids(self) -> list[str]:
        return [str(msg["X-Settle-Message"]) for _, msg in self.received]


class SmtpServer:
    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.handler = SmtpRecorder()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
