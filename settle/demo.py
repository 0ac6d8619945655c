"""``settle demo``: a creditor with customers and invoices at every stage, on SQLite."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import os
import secrets
import shlex
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from adapters import migrate
from adapters.db import make_engine, make_sessionmaker
from adapters.settings import Settings, normalize_database_url
from domain import apikeys, arrangements, customers, invoices, organisations, portal_links
from domain.models import ApiKey, Customer, Invoice, Organisation, UTCDateTime
from domain.payment_reference import normalize_reference

DEMO_SLUG = "demo"

# (name, kind, locale, email, [(days overdue today, amount in cents, paid how many days after due or None)])
CUSTOMERS: list[tuple[str, str, str, str, list[tuple[int, int, int | None]]]] = [
    ("Bakkerij Jansen B.V.", "business", "nl", "administratie@bakkerij-jansen.example",
     [(95, 73_200, 2), (65, 51_800, -1), (10, 121_000, None), (-14, 48_400, None)]),
    ("Kees de Vries", "consumer", "nl", "kees.devries@example.nl", [(3, 8_950, None)]),
    ("Harbour Logistics Ltd", "business", "en", "accounts@harbour-logistics.example",
     [(80, 640_000, 12), (45, 380_050, None), (20, 1_250_000, None)]),
    ("Fatima El Amrani", "consumer", "nl", "fatima.elamrani@example.nl", [(30, 24_999, None)]),
    ("Groenland Hoveniers V.O.F.", "business", "nl", "info@groenland.example",
     [(60, 210_000, None), (-3, 66_000, None)]),
    ("Sarah Whitfield", "consumer", "en", "sarah.whitfield@example.co.uk", [(90, 15_500, None)]),
    ("Autobedrijf Visser", "business", "nl", "boekhouding@visser-auto.example", [(120, 455_000, None)]),
    ("Studio Noord", "business", "en", "hello@studionoord.example", [(14, 42_350, None), (7, 99_500, None)]),
    ("Jan Bakker", "consumer", "nl", "jan.bakker@example.nl", [(35, 32_000, None)]),
    ("Café De Zwaan", "business", "nl", "eigenaar@cafedezwaan.example", [(100, 98_000, 20), (50, 187_500, None)]),
    ("Müller Maschinenbau GmbH", "business", "en", "buchhaltung@mueller-mb.example", [(0, 2_600_000, None)]),
    ("Lotte Smit", "consumer", "nl", "lotte.smit@example.nl", [(28, 6_050, None), (-10, 12_100, None)]),
]  # fmt: skip

# Part payments: (customer, days overdue of the invoice today, paid how many days after due, cents).
PART_PAYMENTS: list[tuple[str, int, int, int]] = [
    ("Harbour Logistics Ltd", 45, 12, 100_000),
    ("Jan Bakker", 35, 20, 7_000),
]
# Debtors' requests: (customer, days overdue of the invoice, made how many days ago, kind, reason / days ahead).
REQUESTS: list[tuple[str, int, int, str, str | int]] = [
    ("Fatima El Amrani", 30, 12, "dispute", "wrong_amount"),
    ("Autobedrijf Visser", 120, 4, "promise", 10),
]

# Payment plans (issue 17): (customer, days overdue of the invoices in it, made how many days ago,
# instalments, interval, first instalment how many days after it was made, origin). Bakkerij
# Jansen's was agreed by phone (the back office's plan, accepted at once) before its first
# reminder, and its first instalment is paid; Harbour Logistics proposed twelve months in the
# portal, outside the terms (at most six), so it waits for a decision and holds their dunning
# (the call task and the hand-over that would come meanwhile). Neither adds to today's run.
PLANS: list[tuple[str, tuple[int, ...], int, int, str, int, str]] = [
    ("Bakkerij Jansen B.V.", (10,), 8, 3, "weekly", 3, "api"),
    ("Harbour Logistics Ltd", (45, 20), 2, 12, "monthly", 14, "portal"),
]
# Instalments paid: (customer, days overdue of the invoice, paid how many days ago, cents).
PLAN_PAYMENTS: list[tuple[str, int, int, int]] = [("Bakkerij Jansen B.V.", 10, 5, 40_333)]

# What ``settle run`` does on the day of the demo, after the replay up to yesterday: the
# steps that fall due today. The README says the same; tests/integration/test_demo_issue15.py
# holds both to it.
TODAYS_RUN = [
    ("Studio Noord", "statement_reminder", "a statement reminder about two invoices, 7 and 14 days overdue"),
    ("Lotte Smit", "final_reminder", "a final reminder, 28 days overdue"),
    ("Jan Bakker", "formal_notice", "a formal notice, 35 days overdue (and its letter)"),
    ("Café De Zwaan", "collection_handover", "the collection hand-over, 50 days overdue (a letter and a task)"),
]
TODAYS_LINE = "examined 5 invoices, 4 messages, 1 tasks, 2 letters, 0 steps skipped, 4 delivered, 0 failed"

# The columns that say when something happened; the replay moves them to the day it happened.
# (Expiry, retry and revocation times keep their real values.)
_NOT_HISTORY = {"expires_at", "next_attempt_at", "revoked_at", "last_used_at"}


def _history_columns() -> list[tuple[Any, Any]]:
    from domain.models import Base

    return [
        (table, column)
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, UTCDateTime) and column.name not in _NOT_HISTORY
    ]


def _backdate(session: Session, at: dt.datetime) -> None:
    """Everything written since the last stamp (so: later than ``at``) happened at ``at``."""
    for table, column in _history_columns():
        session.execute(update(table).where(column > at).values({column.name: at}))


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=dt.UTC)


@dataclass
class _Planned:
    customer: str
    days_overdue: int
    new: invoices.NewInvoice


def _plan(org_id: str, session: Session, today: dt.date) -> list[_Planned]:
    by_name = {c.name: c for c in session.scalars(select(Customer).where(Customer.org_id == org_id))}
    number, out = 2026000, []
    for name, _kind, locale, _, lines in CUSTOMERS:
        customer = by_name[name]
        term = customer.payment_term_days or 30
        for days_overdue, cents, _paid in sorted(lines, key=lambda ln: -ln[0]):
            number += 1
            due = today - dt.timedelta(days=days_overdue)
            new = invoices.NewInvoice(
                number=f"F{number}", issue_date=min(due - dt.timedelta(days=term), today), due_date=due,
                amount_cents=cents, currency="EUR", customer_id=customer.id,
                description="Levering volgens order" if locale == "nl" else "Delivery as ordered",
            )  # fmt: skip
            out.append(_Planned(name, days_overdue, new))
    return out


def seed(session: Session, today: dt.date) -> tuple[Organisation, bool]:
    """The demo organisation and its customers, made once (and whether they were made now)."""
    org = session.scalar(select(Organisation).where(Organisation.slug == DEMO_SLUG))
    if org is not None:
        return org, False
    org, first = organisations.create(session, "Groothandel Demo B.V.", DEMO_SLUG)
    apikeys.revoke(session, first.record.prefix)  # nobody saw it: the demo prints its own key
    organisations.update(session, org, {
        "email": "debiteuren@groothandel-demo.example", "phone": "+31 20 123 4567",
        "address": "Keizersgracht 1\n1015 AA Amsterdam", "iban": "NL91ABNA0417164300",
        "kvk_number": "12345678", "vat_number": "NL004495445B01",
    })  # fmt: skip
    for i, (name, kind, locale, email, _) in enumerate(CUSTOMERS, start=1):
        customers.create(
            session, org.id, name=name, kind=kind, locale=locale, email=email, external_ref=f"DEB-{1000 + i}",
            payment_term_days=14 if kind == "consumer" else 30,
        )  # fmt: skip
    # A proposal outside the terms waits for a decision (instead of not being offered): see PLANS.
    arrangements.set_terms(session, org.id, None, dataclasses.replace(arrangements.DEFAULT_TERMS, outside="review"))
    return org, True


def replay_history(engine: Engine, settings: Settings, today: dt.date) -> None:
    """Live the demo's last months day by day up to yesterday, as if Settle had been in cron:
    each invoice is created on its issue date, payments and debtors' requests arrive on their
    days, the scheduler runs every morning, and every row keeps the date it happened on. What
    falls due today is left for ``settle run`` (see ``TODAYS_RUN``)."""
    from adapters.portal_mail import PortalMailer
    from settle import scheduler

    mailer = PortalMailer(settings)
    factory = make_sessionmaker(engine)
    with factory() as session:
        org = session.scalars(select(Organisation).where(Organisation.slug == DEMO_SLUG)).one()
        planned = _plan(org.id, session, today)
        start = min(p.new.issue_date for p in planned)
        _backdate(session, _at(start, 8))  # the organisation and its customers
        session.commit()
    paid = {(name, d): after for name, _, _, _, lines in CUSTOMERS for d, _, after in lines if after is not None}
    made: dict[tuple[str, int], str] = {}
    day = start
    while day < today:
        with factory() as session:
            org = session.get_one(Organisation, org.id)
            for p in planned:
                if p.new.issue_date == day:
                    made[(p.customer, p.days_overdue)] = invoices.create(session, org, p.new).id
            _backdate(session, _at(day, 8, 30))
            session.commit()
        scheduler.run(engine, settings, as_of=day, org_slug=DEMO_SLUG)
        with factory() as session:
            _backdate(session, _at(day, 9))
            _debtors_day(session, org.id, day, today, made, paid, mailer)
            _backdate(session, _at(day, 14))
            session.commit()
        day += dt.timedelta(days=1)
    with factory() as session:  # invoices issued today (not yet due) are simply new
        org = session.get_one(Organisation, org.id)
        for p in planned:
            if p.new.issue_date >= today:
                invoices.create(session, org, p.new)
        session.commit()


def _debtors_day(session: Session, org_id: str, day: dt.date, today: dt.date, made: dict[tuple[str, int], str],
                 paid: dict[tuple[str, int], int], mailer: Any) -> None:  # fmt: skip
    """The payments, requests and payment plans that arrive on ``day``."""
    from domain import debtor_requests, payments
    from domain.models import Invoice

    def due_of(days_overdue: int) -> dt.date:
        return today - dt.timedelta(days=days_overdue)

    def pay(key: tuple[str, int], cents: int | None) -> None:
        inv = session.get_one(Invoice, made[key])
        payments.register_manual(
            session, org_id, customer_id=inv.customer_id, amount_cents=cents or inv.open_cents, currency="EUR",
            received_on=day, reference=inv.payment_reference,
            allocations=[payments.AllocationRequest(inv.id, cents or inv.open_cents)],
        )  # fmt: skip

    for (name, overdue), after in paid.items():
        if due_of(overdue) + dt.timedelta(days=after) == day:
            pay((name, overdue), None)
    for name, overdue, after, cents in PART_PAYMENTS:
        if due_of(overdue) + dt.timedelta(days=after) == day:
            pay((name, overdue), cents)
    for name, overdue, ago, kind, detail in REQUESTS:
        if today - dt.timedelta(days=ago) == day:
            inv = session.get_one(Invoice, made[(name, overdue)])
            customer = session.get_one(Customer, inv.customer_id)
            debtor_requests.create(
                session, customer, kind=kind, invoice_ids=[inv.id],
                message="Het bedrag klopt niet met de offerte." if kind == "dispute" else None,
                reason=str(detail) if kind == "dispute" else None,
                date=day + dt.timedelta(days=int(detail)) if kind != "dispute" else None, as_of=day,
            )  # fmt: skip
    for name, overdue, ago, cents in PLAN_PAYMENTS:
        if today - dt.timedelta(days=ago) == day:
            pay((name, overdue), cents)
    for name, overdues, ago, count, interval, first, origin in PLANS:
        if today - dt.timedelta(days=ago) == day:
            ids = [made[(name, o)] for o in overdues]
            customer = session.get_one(Customer, session.get_one(Invoice, ids[0]).customer_id)
            plan = arrangements.propose(
                session, customer, invoice_ids=ids, instalments=count, first_due_date=day + dt.timedelta(days=first),
                interval=interval, as_of=day, origin=origin,
                actor="api_key:demo" if origin == "api" else f"customer:{customer.id}",
                note="Agreed by phone" if origin == "api" else None,
            )  # fmt: skip
            if plan.status == "accepted":
                arrangements.notify_decision(session, plan, mailer, day)  # as the API does: the debtor is told


def demo_secret(database: Path) -> str:
    path = database.with_suffix(".secret")
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(32)
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key


class DemoError(Exception):
    """The demo cannot start as asked (the CLI exits 2 with this message)."""


def base_url_for(host: str, port: int) -> str:
    """``SETTLE_BASE_URL`` if set, else the address the demo serves on."""
    given = os.environ.get("SETTLE_BASE_URL", "").strip().rstrip("/")
    if given:
        return given
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://{f'[{shown}]' if ':' in shown else shown}:{port}"


def claim_port(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything is written: a busy port fails first."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise DemoError(f"--port {port}: cannot listen on {host}:{port} ({exc.strerror}); "
                        f"choose another port, e.g. settle demo --port {port + 1}") from None  # fmt: skip
    sock.set_inheritable(True)
    return sock


def write_env(path: Path, settings: Settings) -> None:
    """The settings of this demo as ``export`` lines, for ``settle run`` in another terminal."""
    lines = [
        f"export SETTLE_DATABASE_URL={shlex.quote(settings.database_url)}",
        f"export SETTLE_SECRET_KEYS={shlex.quote(','.join(settings.secret_keys))}",
        f"export SETTLE_BASE_URL={shlex.quote(settings.base_url)}",
    ]
    if settings.mail_url.startswith("file:"):  # never a mail server's password in a file
        lines.append(f"export SETTLE_MAIL_URL={shlex.quote(settings.mail_url)}")
    if settings.sms_provider and settings.sms_api_base:  # the demo's fake Twilio, never real credentials
        lines += [f"export SETTLE_SMS_PROVIDER={settings.sms_provider}",
                  f"export SETTLE_SMS_ACCOUNT={shlex.quote(settings.sms_account or '')}",
                  f"export SETTLE_SMS_TOKEN={shlex.quote(settings.sms_token or '')}",
                  f"export SETTLE_SMS_FROM={shlex.quote(settings.sms_from or '')}",
                  f"export SETTLE_SMS_API_BASE={shlex.quote(settings.sms_api_base)}"]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)


def fresh_key(session: Session, org: Organisation) -> apikeys.IssuedKey:
    """A new demo key; the previous demo's key is revoked (only its hash was kept)."""
    for row in session.scalars(select(ApiKey).where(ApiKey.org_id == org.id, ApiKey.name == "demo",
                                                    ApiKey.revoked_at.is_(None))):  # fmt: skip
        apikeys.revoke(session, row.prefix)
    return apikeys.issue(session, org.id, ["*"], name="demo")


def sms_fake(stack: contextlib.ExitStack) -> Any | None:
    """The fake Twilio of the tests (``tests/fakes/twilio_fake.py``), served on loopback for as
    long as the demo serves, so that texts of ``sms`` steps land somewhere you can see (the
    mailbox). Only from a source checkout, where ``tests/`` sits beside the code; None when it
    is not there or ``SETTLE_SMS_PROVIDER`` names a real provider."""
    root = Path(__file__).resolve().parent.parent
    if os.environ.get("SETTLE_SMS_PROVIDER") or not (root / "tests" / "fakes" / "twilio_fake.py").exists():
        return None
    if str(root) not in sys.path:
        sys.path.append(str(root))
    from tests.fakes.server import serve as serve_fake
    from tests.fakes.twilio_fake import FakeTwilio

    fake = FakeTwilio()
    fake.base_url = stack.enter_context(serve_fake(fake.app()))
    return fake


def run_demo(*, host: str, port: int, database: str, serve: bool, today: dt.date | None = None) -> None:
    with contextlib.ExitStack() as stack:
        _run_demo(stack, host=host, port=port, database=database, serve=serve, today=today)


def _run_demo(stack: contextlib.ExitStack, *, host: str, port: int, database: str, serve: bool,
              today: dt.date | None = None) -> None:  # fmt: skip
    sock = claim_port(host, port) if serve else None
    db_path = Path(database).resolve()
    base_url = base_url_for(host, port)
    settings = Settings(
        database_url=normalize_database_url(f"sqlite:///{db_path}"),
        secret_keys=(demo_secret(db_path),),
        base_url=base_url,
        mail_url=os.environ.get("SETTLE_MAIL_URL", f"file:{db_path.parent / 'outbox'}"),
        mail_from=os.environ.get("SETTLE_MAIL_FROM", "settle@localhost"),
        sandbox_payments=True,
    )
    twilio = sms_fake(stack) if serve else None
    if twilio is not None:
        settings = dataclasses.replace(settings, sms_provider="twilio", sms_account=twilio.account_sid,
                                       sms_token=twilio.auth_token, sms_from="+3197010000000",
                                       sms_api_base=twilio.base_url)  # fmt: skip
    env_file = db_path.with_suffix(".env")
    write_env(env_file, settings)
    migrate.upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    today = today or dt.date.today()
    with make_sessionmaker(engine)() as session:
        _, fresh = seed(session, today)
        session.commit()
    if fresh:
        replay_history(engine, settings, today)
    be_statement = db_path.with_name(f"{db_path.stem}-be-bank.xml")
    with make_sessionmaker(engine)() as session:
        org, _ = seed(session, today)
        key = fresh_key(session, org)
        be_org = seed_be(session, today)  # the Belgian creditor (issue 16), made once
        if fresh:
            write_be_statement(session, be_org, be_statement, today)
        now = dt.datetime.now(dt.UTC)
        links = [
            (c.name, portal_links.issue(session, c, secret_keys=settings.secret_keys, base_url=base_url, now=now))
            for c in session.scalars(
                select(Customer).where(Customer.org_id == org.id).order_by(Customer.external_ref).limit(4)
            )
        ]
        be_links = [
            (c.name, portal_links.issue(session, c, secret_keys=settings.secret_keys, base_url=base_url, now=now))
            for c in be_portal_customers(session, be_org)[:3]
        ]
        session.commit()
    engine.dispose()

    click.echo(f"Settle demo on {db_path}")
    click.echo(f"  organisation  {org.name} ({org.slug})")
    click.echo(f"  API key       {key.key}  (the previous demo key, if any, is revoked)")
    click.echo(f"  try           curl -H 'Authorization: Bearer {key.key}' {base_url}/api/v1/invoices?overdue=true")
    click.echo(f"  API docs      {base_url}/api/v1/docs")
    click.echo(f"  plans         {PLANS[0][0]}: a running payment plan, its first instalment paid;"
               f" {PLANS[1][0]}: a proposal waiting for a decision (GET /api/v1/arrangements?status=proposed,"
               " then /accept or /reject); both on their portal page")  # fmt: skip
    click.echo(f"  mailbox       {base_url}/demo/mailbox  (the outbox: open a reminder, click its link)")
    if twilio is not None:
        click.echo(f"  texts         a fake Twilio on {twilio.base_url} takes the texts of steps with channel sms or"
                   " email+sms (they show in the mailbox)")
    click.echo(f"  settings      . {env_file.name}   (SETTLE_BASE_URL={base_url}; then: settle run)")
    if fresh:
        click.echo(f"  today's run   `settle run` sends {len(TODAYS_RUN)} e-mails:")
        for name, _, what in TODAYS_RUN:
            click.echo(f"    {name:<28} {what}")
    click.echo("  portal links:")
    for name, link in links:
        click.echo(f"    {name:<28} {link.url}")
    click.echo(f"  Belgian demo  {be_org.name} ({be_org.slug}): invoices with a structured communication (OGM),")
    click.echo("                Bancontact first for its Belgian debtors; portal links:")
    for name, link in be_links:
        click.echo(f"    {name:<28} {link.url}")
    if be_statement.exists():
        click.echo(f"  bank day (BE) settle import bank {be_statement.name} --org {be_org.slug}"
                   "   (OGMs as Belgian banks write them)")
    if sock is None:
        return
    import uvicorn

    from settle.app import create_app

    class Server(uvicorn.Server):
        """Serves on the socket claimed before seeding, and says so as uvicorn does on its own."""

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                shown = f"[{host}]" if ":" in host else host
                logging.getLogger("uvicorn.error").info("Uvicorn running on http://%s:%d (Press CTRL+C to quit)",
                                                        shown, port)  # fmt: skip

    Server(uvicorn.Config(create_app(settings), host=host, port=port, log_level="info")).run(sockets=[sock])


# --- the Belgian creditor (issue 16) ------------------------------------------------------------
#
# The demo's Belgian creditor (issue 16): a brewery in Ghent whose invoices carry a structured
# communication (OGM), Belgian customers in Dutch, French and English, and a Dutch one.
#
# Its invoices are recent (due in the coming weeks, or a few days overdue, before the first
# reminder): they show the OGM on the portal and in the statement, Bancontact first for its
# Belgian debtors, and leave today's ``settle run`` of the Dutch demo as the README says. Beside
# the demo database it writes a CAMT.053 day of its bank account in which three of those
# invoices are paid, each OGM written as a Belgian bank writes it (``+++…+++`` in the free text, a
# structured ``BBA`` reference, twelve bare digits) and one with wrong check digits, to try
# ``settle import bank FILE --org demo-be``.

BE_SLUG = "demo-be"

# (name, kind, locale, country or None for the creditor's, email, [(days until due (negative: overdue), cents)])
BE_CUSTOMERS: list[tuple[str, str, str, str | None, str, list[tuple[int, int]]]] = [
    ("Café Den Hoek", "business", "nl", None, "boekhouding@denhoek.example", [(-3, 48_400), (12, 96_800)]),
    ("Brasserie Le Coin SRL", "business", "fr", None, "compta@lecoin.example", [(-5, 121_000), (20, 30_250)]),
    ("Marie Dubois", "consumer", "fr", None, "marie.dubois@example.be", [(-2, 7_260)]),
    ("Harbour Pub Antwerp", "business", "en", None, "accounts@harbourpub.example", [(9, 60_500)]),
    ("Bakkerij Jansen B.V.", "business", "nl", "NL", "administratie@bakkerij-jansen.example", [(-4, 24_200)]),
]  # fmt: skip


def seed_be(session: Session, today: dt.date) -> Organisation:
    """The Belgian creditor, its customers and invoices, made once (the invoices of ``today``)."""
    org = session.scalar(select(Organisation).where(Organisation.slug == BE_SLUG))
    if org is not None:
        return org
    org, first = organisations.create(session, "Brouwerij De Kroon BV", BE_SLUG)
    apikeys.revoke(session, first.record.prefix)  # nobody saw it
    organisations.update(session, org, {
        "country": "BE", "email": "boekhouding@dekroon.example", "phone": "+32 9 225 40 00",
        "address": "Kerkstraat 1\n9000 Gent", "iban": "BE71096123456769", "vat_number": "BE0403170701",
        "enterprise_number": "0403170701",
    })  # fmt: skip
    number = 0
    for i, (name, kind, locale, country, email, lines) in enumerate(BE_CUSTOMERS, start=1):
        customer = customers.create(
            session, org.id, name=name, kind=kind, locale=locale, email=email, external_ref=f"KL-{100 + i}",
            country=country, payment_term_days=14 if kind == "consumer" else 30,
        )  # fmt: skip
        for until_due, cents in lines:
            number += 1
            due = today + dt.timedelta(days=until_due)
            issued = min(due - dt.timedelta(days=30), today)
            inv = invoices.create(session, org, invoices.NewInvoice(
                number=f"VF{today.year % 100:02d}/{number:05d}", issue_date=issued, due_date=due,
                amount_cents=cents, currency="EUR", customer_id=customer.id, description="Levering bier en fusten",
            ))  # fmt: skip
            # Sent on its issue date, as the Dutch demo's invoices are (the history keeps its dates).
            inv.created_at = dt.datetime.combine(issued, dt.time(8, 30), tzinfo=dt.UTC)
    return org


def be_portal_customers(session: Session, org: Organisation) -> list[Customer]:
    return list(session.scalars(select(Customer).where(Customer.org_id == org.id).order_by(Customer.external_ref)))


def write_be_statement(session: Session, org: Organisation, path: Path, today: dt.date) -> Path:
    """A CAMT.053 day of the creditor's account paying three of its open invoices by their OGMs, in
    three written forms, and one transfer whose OGM has a wrong check digit (left for a person)."""
    open_ = list(session.scalars(
        select(Invoice).where(Invoice.org_id == org.id, Invoice.status == "open").order_by(Invoice.number)
    ))[:4]  # fmt: skip
    forms = ["ustrd", "bba", "bare", "wrong"]
    entries = []
    total = 0
    for i, (inv, form) in enumerate(zip(open_, forms, strict=False)):
        digits = normalize_reference(inv.payment_reference or "")
        amount = f"{inv.open_cents // 100}.{inv.open_cents % 100:02d}"
        total += inv.open_cents
        if form == "ustrd":
            rmt = f"<Ustrd>Betaling {inv.payment_reference}</Ustrd>"
        elif form == "bba":
            rmt = ("<Strd><CdtrRefInf><Tp><CdOrPrtry><Prtry>BBA</Prtry></CdOrPrtry></Tp>"
                   f"<Ref>{digits}</Ref></CdtrRefInf></Strd>")  # fmt: skip
        elif form == "bare":
            rmt = f"<Ustrd>FACTUUR {digits} DANK U</Ustrd>"
        else:
            wrong = digits[:10] + f"{(int(digits[10:]) % 97) + 1:02d}"
            rmt = f"<Ustrd>+++{wrong[:3]}/{wrong[3:7]}/{wrong[7:]}+++</Ustrd>"
        entries.append(
            f"<Ntry><NtryRef>DEMO-BE-{i + 1}</NtryRef><Amt Ccy=\"EUR\">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd>"
            f"<Sts>BOOK</Sts><BookgDt><Dt>{today.isoformat()}</Dt></BookgDt><ValDt><Dt>{today.isoformat()}</Dt>"
            "</ValDt><NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs><RltdPties><Dbtr><Nm>"
            f"{_xml(_customer_name(session, inv))}</Nm></Dbtr></RltdPties><RmtInf>{rmt}</RmtInf></TxDtls></NtryDtls>"
            "</Ntry>"
        )
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
        f"<GrpHdr><MsgId>DEMO-BE-{today.isoformat()}</MsgId><CreDtTm>{today.isoformat()}T18:00:00</CreDtTm></GrpHdr>"
        f"<Stmt><Id>DEMO-BE-{today.isoformat()}</Id><CreDtTm>{today.isoformat()}T18:00:00</CreDtTm>"
        f"<Acct><Id><IBAN>{org.iban}</IBAN></Id><Ccy>EUR</Ccy></Acct>{''.join(entries)}</Stmt>"
        "</BkToCstmrStmt></Document>\n"
    )
    path.write_text(body, encoding="utf-8")
    return path


def _customer_name(session: Session, inv: Invoice) -> str:
    return session.get_one(Customer, inv.customer_id).name


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
