"""``settle demo``: a creditor with customers and invoices at every stage, on SQLite."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path

import click
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from adapters import migrate
from adapters.db import make_engine, make_sessionmaker
from adapters.settings import Settings, normalize_database_url
from domain import apikeys, customers, invoices, organisations, portal_links
from domain.models import Customer, Organisation

DEMO_SLUG = "demo"

# (name, kind, locale, email, [(days overdue, amount in cents)])
CUSTOMERS = [
    ("Bakkerij Jansen B.V.", "business", "nl", "administratie@bakkerij-jansen.example", [(-14, 48_400), (10, 121_000)]),
    ("Kees de Vries", "consumer", "nl", "kees.devries@example.nl", [(3, 8_950)]),
    ("Harbour Logistics Ltd", "business", "en", "accounts@harbour-logistics.example", [(20, 1_250_000), (45, 380_050)]),
    ("Fatima El Amrani", "consumer", "nl", "fatima.elamrani@example.nl", [(30, 24_999)]),
    ("Groenland Hoveniers V.O.F.", "business", "nl", "info@groenland.example", [(-3, 66_000), (60, 210_000)]),
    ("Sarah Whitfield", "consumer", "en", "sarah.whitfield@example.co.uk", [(90, 15_500)]),
    ("Autobedrijf Visser", "business", "nl", "boekhouding@visser-auto.example", [(120, 455_000)]),
    ("Studio Noord", "business", "en", "hello@studionoord.example", [(7, 99_500), (14, 42_350)]),
    ("Jan Bakker", "consumer", "nl", "jan.bakker@example.nl", [(35, 32_000)]),
    ("Café De Zwaan", "business", "nl", "eigenaar@cafedezwaan.example", [(50, 187_500)]),
    ("Müller Maschinenbau GmbH", "business", "en", "buchhaltung@mueller-mb.example", [(0, 2_600_000)]),
    ("Lotte Smit", "consumer", "nl", "lotte.smit@example.nl", [(-30, 12_100), (28, 6_050)]),
]


def seed(session: Session, today: dt.date) -> Organisation:
    """Create the demo organisation once; reopening the demo keeps what is there."""
    org = session.scalar(select(Organisation).where(Organisation.slug == DEMO_SLUG))
    if org is not None:
        return org
    org, _ = organisations.create(session, "Groothandel Demo B.V.", DEMO_SLUG)
    org.email = "debiteuren@groothandel-demo.example"
    org.phone = "+31 20 123 4567"
    org.address = "Keizersgracht 1\n1015 AA Amsterdam"
    org.iban = "NL91ABNA0417164300"
    number = 2026000
    for i, (name, kind, locale, email, lines) in enumerate(CUSTOMERS, start=1):
        customer = customers.create(
            session,
            org.id,
            name=name,
            kind=kind,
            locale=locale,
            email=email,
            external_ref=f"DEB-{1000 + i}",
            payment_term_days=14 if kind == "consumer" else 30,
        )
        for days_overdue, cents in lines:
            number += 1
            due = today - dt.timedelta(days=days_overdue)
            term = customer.payment_term_days or 30
            invoices.create(
                session,
                org,
                invoices.NewInvoice(
                    number=f"F{number}",
                    issue_date=due - dt.timedelta(days=term),
                    due_date=due,
                    amount_cents=cents,
                    currency="EUR",
                    customer_id=customer.id,
                    description="Levering volgens order" if locale == "nl" else "Delivery as ordered",
                ),
            )
    return org


def replay_history(engine: Engine, settings: Settings, today: dt.date) -> None:
    """Run the scheduler weekly over the last months, so the demo has invoices at every
    dunning stage, letters, call tasks and a mailbox of reminders, as if it had been in cron."""
    from settle import scheduler

    day = today - dt.timedelta(days=126)
    while day <= today:
        scheduler.run(engine, settings, as_of=day, org_slug=DEMO_SLUG)
        day += dt.timedelta(days=7)
    scheduler.run(engine, settings, as_of=today, org_slug=DEMO_SLUG)


def demo_secret(database: Path) -> str:
    path = database.with_suffix(".secret")
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(32)
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key


def run_demo(*, host: str, port: int, database: str, serve: bool) -> None:
    db_path = Path(database).resolve()
    base_url = f"http://{host}:{port}"
    settings = Settings(
        database_url=normalize_database_url(f"sqlite:///{db_path}"),
        secret_keys=(demo_secret(db_path),),
        base_url=base_url,
        mail_url=os.environ.get("SETTLE_MAIL_URL", f"file:{db_path.parent / 'outbox'}"),
        mail_from=os.environ.get("SETTLE_MAIL_FROM", "settle@localhost"),
        sandbox_payments=True,
    )
    migrate.upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    today = dt.date.today()
    with make_sessionmaker(engine)() as session:
        fresh = session.scalar(select(Organisation.id).where(Organisation.slug == DEMO_SLUG)) is None
        seed(session, today)
        session.commit()
    if fresh:
        replay_history(engine, settings, today)
    with make_sessionmaker(engine)() as session:
        org = seed(session, today)
        key = apikeys.issue(session, org.id, ["*"], name="demo")
        now = dt.datetime.now(dt.UTC)
        links = [
            (c.name, portal_links.issue(session, c, secret_keys=settings.secret_keys, base_url=base_url, now=now))
            for c in session.scalars(
                select(Customer).where(Customer.org_id == org.id).order_by(Customer.external_ref).limit(4)
            )
        ]
        session.commit()
    engine.dispose()

    click.echo(f"Settle demo on {db_path}")
    click.echo(f"  organisation  {org.name} ({org.slug})")
    click.echo(f"  API key       {key.key}")
    click.echo(f"  try           curl -H 'Authorization: Bearer {key.key}' {base_url}/api/v1/invoices?overdue=true")
    click.echo(f"  API docs      {base_url}/api/v1/docs")
    click.echo(f"  mailbox       {base_url}/demo/mailbox  (the outbox: open a reminder, click its link)")
    click.echo("  portal links:")
    for name, link in links:
        click.echo(f"    {name:<28} {link.url}")
    if not serve:
        return
    import uvicorn

    from settle.app import create_app

    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
