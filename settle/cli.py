"""The ``settle`` command line: a thin click group that opens a session and calls the domain.

Exit codes: 0 success; 2 bad input or usage, with a message that names the
problem; 1 anything unexpected.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import click
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from adapters import migrate
from adapters.db import make_engine, make_sessionmaker
from adapters.settings import Settings, SettingsError
from domain import apikeys, organisations
from domain.errors import DomainError
from domain.models import Organisation


def fail(message: str, code: int = 2) -> NoReturn:
    click.echo(f"settle: {message}", err=True)
    sys.exit(code)


def load_settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        fail(str(exc))


def ready_engine(settings: Settings) -> Engine:
    """An engine on a database at the current schema; an empty database is created on the spot."""
    engine = make_engine(settings.database_url)
    try:
        current = migrate.current_revision(engine)
    except Exception as exc:  # cannot connect, bad URL …
        fail(f"cannot open the database at SETTLE_DATABASE_URL ({exc.__class__.__name__}: {exc})")
    head = migrate.head_revision(settings.database_url)
    if current is None:
        migrate.upgrade(settings.database_url)
    elif current != head:
        fail(f"the database is at revision {current} but this Settle expects {head}: run `settle db upgrade`")
    return engine


@contextmanager
def session_scope(settings: Settings) -> Iterator[Session]:
    engine = ready_engine(settings)
    session = make_sessionmaker(engine)()
    try:
        yield session
        session.commit()
    except DomainError as exc:
        session.rollback()
        fail(f"{exc.field}: {exc.message}" if exc.field else exc.message)
    finally:
        session.close()
        engine.dispose()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="settle")
def main() -> None:
    """Settle: dunning engine, debtor portal and back-office API."""


# --- database -----------------------------------------------------------------


@main.group()
def db() -> None:
    """Schema migrations (Alembic) on SETTLE_DATABASE_URL."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Upgrade the schema to REVISION (default: the newest)."""
    settings = load_settings()
    migrate.upgrade(settings.database_url, revision)
    click.echo(f"database at {migrate.current_revision(make_engine(settings.database_url))}")


@db.command("current")
def db_current() -> None:
    """Print the schema revision of the database."""
    settings = load_settings()
    current = migrate.current_revision(make_engine(settings.database_url))
    head = migrate.head_revision(settings.database_url)
    click.echo(f"{current or 'empty'}{' (head)' if current == head else f' (head is {head})'}")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Downgrade the schema to REVISION (``base`` empties the database)."""
    settings = load_settings()
    migrate.downgrade(settings.database_url, revision)
    click.echo(f"database at {migrate.current_revision(make_engine(settings.database_url)) or 'base'}")


# --- organisations and keys -----------------------------------------------------


@main.group()
def org() -> None:
    """Organisations (the creditors)."""


@org.command("create")
@click.option("--name", required=True, help="The creditor's name as debtors know it.")
@click.option("--slug", default=None, help="Short lower-case name used in URLs (default: from the name).")
@click.option("--country", default="NL", show_default=True, type=click.Choice(["NL", "BE"], case_sensitive=False),
              help="The creditor's country; the law that applies follows it.")  # fmt: skip
def org_create(name: str, slug: str | None, country: str) -> None:
    """Create an organisation and print its slug and a first API key (shown once)."""
    with session_scope(load_settings()) as session:
        organisation, key = organisations.create(session, name, slug)
        organisations.update(session, organisation, {"country": country.upper()})
        click.echo(f"organisation: {organisation.slug}")
        click.echo(f"api key:      {key.key}")
        click.echo("Keep the API key now: only its hash is stored.", err=True)
        warn_missing(organisation)


_DETAIL_OPTIONS = {
    "name": "--name", "email": "--email", "phone": "--phone", "address": "--address", "iban": "--iban",
    "kvk_number": "--kvk", "vat_number": "--vat", "enterprise_number": "--enterprise-number", "country": "--country",
}  # fmt: skip


@org.command("update")
@click.argument("slug")
@click.option("--name", default=None, help="The creditor's name as debtors know it.")
@click.option("--email", default=None, help="Contact e-mail shown to debtors.")
@click.option("--phone", default=None, help="Contact phone number; stored as E.164 (+31201234567).")
@click.option("--address", default=None, help="Postal address; separate lines with a newline or '\\n'.")
@click.option("--iban", default=None, help="The account debtors pay into (checked).")
@click.option("--kvk", "kvk_number", default=None, help="Chamber of commerce (KvK) number, 8 digits.")
@click.option("--vat", "vat_number", default=None, help="VAT number with its country prefix, e.g. NL123456789B01.")
@click.option("--enterprise-number", "enterprise_number", default=None,
              help="Belgian enterprise (KBO/BCE) number, e.g. 0403.170.701.")  # fmt: skip
@click.option("--country", default=None, type=click.Choice(["NL", "BE"], case_sensitive=False),
              help="The creditor's country.")  # fmt: skip
def org_update(slug: str, **details: str | None) -> None:
    """Set an organisation's own details, shown in e-mail footers, letterheads and the portal.

    Only the options given change; an empty value ('') clears a detail. Everything is checked
    before anything is written: a bad IBAN, VAT, KvK or enterprise number exits 2 naming it."""
    changes = {k: v for k, v in details.items() if v is not None}
    if "address" in changes:
        changes["address"] = str(changes["address"]).replace("\\n", "\n")
    if not changes:
        fail("nothing to change: give at least one of " + ", ".join(_DETAIL_OPTIONS.values()))
    with session_scope(load_settings()) as session:
        organisation = organisations.by_slug(session, slug)
        try:
            organisations.update(session, organisation, changes)
        except DomainError as exc:
            session.rollback()
            fail(f"{_DETAIL_OPTIONS.get(exc.field or '', exc.field)}: {exc.message}")
        for field, option in _DETAIL_OPTIONS.items():
            value = getattr(organisation, field)
            shown = str(value).replace("\n", ", ") if value else "-"
            click.echo(f"{option[2:]:<18} {shown}")
        warn_missing(organisation)


def warn_missing(organisation: Organisation, missing: list[organisations.MissingDetail] | None = None) -> None:
    """Say on stderr what the organisation's reminders need and it has not set, with the option
    that sets it (``domain.organisations.missing_details``)."""
    for m in organisations.missing_details(organisation) if missing is None else missing:
        option = _DETAIL_OPTIONS.get(m.field, m.field)
        click.echo(f"settle: warning: {organisation.slug}: {m.message}; set it with "
                   f"settle org update {organisation.slug} {option} …", err=True)  # fmt: skip


@org.command("set-provider")
@click.argument("slug")
@click.argument("provider", type=click.Choice(["mollie", "stripe"]))
@click.option("--api-key", required=True, help="Mollie API key or Stripe secret key.")
@click.option("--webhook-secret", default=None, help="Stripe webhook signing secret (whsec_…).")
@click.option("--method", "methods", multiple=True,
              help="A payment method to offer (repeatable), e.g. ideal, bancontact, creditcard (Mollie) or card.")
@click.option("--disable", is_flag=True, help="Stop offering this provider (payments under way still complete).")
def org_set_provider(slug: str, provider: str, api_key: str, webhook_secret: str | None, methods: tuple[str, ...],
                     disable: bool) -> None:  # fmt: skip
    """Store an organisation's payment-provider credentials (never printed back)."""
    from domain import providers

    if provider == "stripe" and not webhook_secret:
        fail("--webhook-secret is required for stripe (the whsec_… secret of the webhook endpoint)")
    settings = load_settings()
    with session_scope(settings) as session:
        organisation = organisations.by_slug(session, slug)
        account = providers.set_credentials(session, organisation.id, provider, api_key, webhook_secret,
                                            methods=list(methods) or None, enabled=not disable)  # fmt: skip
        state = "enabled" if account.enabled else "set up but switched off"
        click.echo(f"{provider} {state} for {organisation.slug} ({', '.join(account.methods)})")
        click.echo(f"webhook URL: {settings.base_url}/webhooks/{provider}/{organisation.slug}")


@main.group()
def apikey() -> None:
    """Back-office API keys."""


@apikey.command("create")
@click.option("--org", "slug", required=True, help="Organisation slug.")
@click.option("--scope", "scopes", multiple=True, help="Repeatable: *, read, write or RESOURCE:read|write.")
@click.option("--name", default="", help="A label to recognise the key by.")
def apikey_create(slug: str, scopes: tuple[str, ...], name: str) -> None:
    """Create an API key; the full key is printed once and only its hash is stored."""
    with session_scope(load_settings()) as session:
        organisation = organisations.by_slug(session, slug)
        issued = apikeys.issue(session, organisation.id, list(scopes), name=name)
        click.echo(issued.key)
        click.echo(f"prefix {issued.record.prefix}, scopes {' '.join(issued.record.scopes)}", err=True)


@apikey.command("revoke")
@click.argument("prefix")
def apikey_revoke(prefix: str) -> None:
    """Revoke the key with PREFIX (the part after ``sk_``), at once and for good."""
    with session_scope(load_settings()) as session:
        row = apikeys.revoke(session, prefix)
        click.echo(f"revoked key {row.prefix}")


# --- imports -------------------------------------------------------------------


@main.group("import")
def import_group() -> None:
    """Import invoices and bank statements."""


@import_group.command("invoices")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--org", "slug", required=True, help="Organisation slug.")
def import_invoices(file: Path, slug: str) -> None:
    """Import invoices from CSV (header row; see the README) or a UBL 2.1 invoice. All or nothing."""
    from domain.imports import ImportFailed, apply, parse_file

    try:
        data = file.read_bytes()
    except OSError as exc:
        fail(f"{file}: {exc.strerror}")
    try:
        rows = parse_file(data, str(file))
    except ImportFailed as exc:
        fail("\n  ".join([f"{file}: nothing imported", *exc.problems]))
    with session_scope(load_settings()) as session:
        org = organisations.by_slug(session, slug)
        try:
            result = apply(session, org, rows, str(file))
        except ImportFailed as exc:
            session.rollback()
            fail("\n  ".join([f"{file}: nothing imported", *exc.problems]))
        click.echo(f"{file}: {result.summary()}")


@import_group.command("bank")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--org", "slug", required=True, help="Organisation slug.")
@click.option(
    "--strict",
    is_flag=True,
    help="Refuse a file with a statement that does not add up or does not follow the previous one (exit 2).",
)
def import_bank(file: Path, slug: str, strict: bool) -> None:
    """Import a CAMT.053 or MT940 statement and reconcile its credits with open invoices.

    A statement whose balances do not add up, or that does not open at the previous statement's
    closing balance, is imported with a warning; --strict refuses the file instead."""
    from domain.bank import StatementError
    from domain.reconcile import import_statement

    try:
        data = file.read_bytes()
    except OSError as exc:
        fail(f"{file}: {exc.strerror}")
    with session_scope(load_settings()) as session:
        org = organisations.by_slug(session, slug)
        try:
            s = import_statement(session, org, data, str(file), strict=strict)
        except StatementError as exc:
            session.rollback()
            fail(f"nothing imported: {exc}")
        click.echo(
            f"{file}: {s.lines} lines, {s.new} new, {s.duplicates} already imported; "
            f"{s.credits} incoming, {s.matched} matched, {s.unmatched} left for a person"
        )
        for w in s.warnings:
            click.echo(f"settle: warning: {file}: {w.message}", err=True)
        for p in s.problems:
            click.echo(f"settle: note: {file}: {p.message}", err=True)


# --- dunning -------------------------------------------------------------------


@main.command("run")
@click.option(
    "--as-of", "as_of", default=None, help="Plan what is due on or before this day (YYYY-MM-DD; default today)."
)
@click.option("--org", "slug", default=None, help="Only this organisation.")
@click.option("--dry-run", is_flag=True, help="Print the plan and change nothing.")
def run_command(as_of: str | None, slug: str | None, dry_run: bool) -> None:
    """The dunning scheduler: plan every action due by AS_OF, then deliver it.

    Safe to run every few minutes, after a crash, twice at once, or after days
    of not running.
    """
    import datetime as dt

    from domain.invoices import check_day
    from domain.money import format_amount
    from settle import scheduler

    try:
        day = dt.date.fromisoformat(as_of) if as_of else dt.date.today()
    except ValueError:
        fail(f"--as-of {as_of!r} is not a date of the form YYYY-MM-DD")
    try:
        check_day(day, "--as-of")
    except DomainError as exc:
        fail(exc.message)
    settings = load_settings()
    try:
        settings.require_secret()
    except SettingsError as exc:
        fail(f"{exc} (reminders carry signed portal links)")
    engine = ready_engine(settings)
    with make_sessionmaker(engine)() as session:
        for organisation, missing in organisations.lacking(session):
            if slug is None or organisation.slug == slug:
                warn_missing(organisation, missing)
    bar = None
    if sys.stdout.isatty() and not dry_run:
        bar = click.progressbar(length=0, label="planning", show_pos=True)
        bar.__enter__()

    def progress(n: int) -> None:
        if bar is not None:
            bar.length = (bar.length or 0) + n
            bar.update(n)

    try:
        summary = scheduler.run(engine, settings, as_of=day, org_slug=slug, dry_run=dry_run, progress=progress)
        notices = scheduler.preview_plans(engine, as_of=day, org_slug=slug) if dry_run else []
    except LookupError as exc:
        fail(str(exc))
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
        engine.dispose()
    if dry_run:
        for item in summary.plan:
            skipped = f" (skipping {', '.join(f'{n} {k}' for n, k in item.skipped)})" if item.skipped else ""
            click.echo(
                f"{item.kind:<20} {item.channel:<6} {item.customer_name} <{item.to or '-'}>: "
                f"{', '.join(item.invoices)}{skipped}"
            )
        for n in notices:  # the payment plans' part of the run (domain.arrangements.preview_day)
            channel = "-" if n.kind in PLAN_EVENTS_ONLY else "email"
            which = f"instalment {n.instalment}" if n.instalment is not None else "plan"
            click.echo(f"{n.kind:<20} {channel:<6} {n.customer_name} <{n.to or '-'}>: {n.arrangement_id} {which}, "
                       f"{n.currency} {format_amount(n.amount_cents)}")  # fmt: skip
        plans = f"; payment plans: {_plan_counts(notices)}" if notices else ""
        click.echo(f"dry run, nothing changed: {summary.line()}{plans}")
    else:
        click.echo(f"{day.isoformat()}: {summary.line()}")


PLAN_EVENTS_ONLY = ("instalment_paid", "arrangement_completed", "hold_lapsed")  # no message of their own


def _plan_counts(notices: list[Any]) -> str:
    counts: dict[str, int] = {}
    for n in notices:
        counts[n.kind] = counts.get(n.kind, 0) + 1
    return ", ".join(f"{n} {kind}" for kind, n in counts.items())


# --- letters --------------------------------------------------------------------


@main.command("letters")
@click.option("--date", "day", default=None, help="Print the letters of this day (YYYY-MM-DD).")
@click.option("--mark-posted", "posted", default=None, help="Mark the letters of this day (YYYY-MM-DD) posted.")
@click.option("--posted-on", "posted_on", default=None,
              help="With --mark-posted: the day the batch went to the post (default today).")  # fmt: skip
@click.option("--org", "slug", required=True, help="The organisation's slug.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The PDF to write (default letters-SLUG-DATE.pdf); the CSV manifest goes beside it.")  # fmt: skip
def letters_command(day: str | None, posted: str | None, posted_on: str | None, slug: str,
                    output: Path | None) -> None:  # fmt: skip
    """The day's print batch: one PDF of all letters of --date, each starting on an odd page (for
    duplex), and a CSV manifest beside it; or --mark-posted: the batch went to the post that day,
    which is when the waiting periods that count from posting start."""
    import datetime as dt

    from domain import letters

    if (day is None) == (posted is None):
        fail("give --date YYYY-MM-DD (print) or --mark-posted YYYY-MM-DD (posted), one of the two")
    with session_scope(load_settings()) as session:
        org = organisations.by_slug(session, slug)
        if posted is not None:
            when = letters.parse_day(posted, "--mark-posted")
            today = dt.date.today()
            sent = letters.parse_day(posted_on, "--posted-on") if posted_on else today
            done = letters.mark_posted(session, org.id, when, posted_on=sent, today=today, actor="cli")
            click.echo(f"{when.isoformat()}: {done.posted} letters marked posted on {sent.isoformat()} "
                       f"({done.already} posted before); {done.terms_moved} waiting periods now count from "
                       f"{sent.isoformat()}")  # fmt: skip
            return
        if posted_on is not None:
            fail("--posted-on goes with --mark-posted")
        assert day is not None
        when = letters.parse_day(day, "--date")
        from adapters import print_batch

        target = output or Path(f"letters-{org.slug}-{when.isoformat()}.pdf")
        try:
            result = print_batch.write(session, org.id, when, target)
        except print_batch.PdfUnavailable as exc:
            fail(exc.message, code=1)
        if result is None:
            click.echo(f"{when.isoformat()}: no letters to print")
            return
        click.echo(f"{target}: {result.letters} letters, {result.pages} pages; manifest {result.manifest}")
        if result.no_address:
            click.echo(f"settle: warning: {len(result.no_address)} letters have no postal address "
                       f"(marked in the manifest): {', '.join(result.no_address)}", err=True)  # fmt: skip


# --- serving --------------------------------------------------------------------


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
@click.option("--proxy-headers/--no-proxy-headers", default=False, show_default=True,
              help="Take the client address from X-Forwarded-For (behind a load balancer).")  # fmt: skip
@click.option("--forwarded-allow-ips", default="127.0.0.1", show_default=True,
              help="Comma-separated addresses (or *) of the proxies whose forwarded headers are trusted.")  # fmt: skip
@click.option("--access-log/--no-access-log", default=False, show_default=True,
              help="Log every request (a load balancer in front usually does).")  # fmt: skip
def serve(host: str, port: int, workers: int, proxy_headers: bool, forwarded_allow_ips: str,
          access_log: bool) -> None:  # fmt: skip
    """Serve portal, API and webhooks with uvicorn."""
    import uvicorn

    from adapters.stores import unreachable

    settings = load_settings()
    try:
        settings.require_secret()
    except SettingsError as exc:
        fail(str(exc))
    if problem := unreachable(settings):
        fail(problem)
    ready_engine(settings).dispose()
    uvicorn.run(
        "settle.app:asgi_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=access_log,
        proxy_headers=proxy_headers,
        forwarded_allow_ips=forwarded_allow_ips,
    )


@main.command()
@click.option("--port", default=8000, show_default=True, type=int,
              help="Serve here; the e-mails' links point here too, unless SETTLE_BASE_URL is set.")  # fmt: skip
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--database", default="settle-demo.db", show_default=True, help="SQLite file to create or reopen.")
@click.option("--no-serve", is_flag=True, help="Seed and print the links, then exit.")
@click.option("--today", default=None, hidden=True, help="Pretend today is this day (YYYY-MM-DD; for tests).")
def demo(port: int, host: str, database: str, no_serve: bool, today: str | None) -> None:
    """Create (or reopen) a demo database, seed it, print a key and links, and serve.

    A port that is taken fails at once (exit 2), before anything is written. The settings
    of the demo (database, signing key, base URL) are written to FILE.env beside the database
    (settle-demo.env) for `settle run` in another terminal; a new demo key revokes the last one."""
    import datetime as dt

    from settle.demo import DemoError, run_demo

    try:
        day = dt.date.fromisoformat(today) if today else None
    except ValueError:
        fail(f"--today {today!r} is not a date of the form YYYY-MM-DD")
    try:
        run_demo(host=host, port=port, database=database, serve=not no_serve, today=day)
    except DemoError as exc:
        fail(str(exc))


if __name__ == "__main__":  # pragma: no cover
    main()
