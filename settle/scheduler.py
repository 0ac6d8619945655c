"""``settle run``: plan the dunning actions due by a date, render them, deliver them.

The composition root of a run: the Jinja composer (one environment, templates
compiled once per process), the mail transport, and the run's *claimant*, the
token it claims outbox rows with and the way to tell whether another run that
claimed rows is still alive (``domain.outbox``):

* PostgreSQL: the run holds a session advisory lock for as long as it lives, on
  a connection of its own that is never inside a transaction (it blocks
  nobody); a claim is alive while its lock is held (``pg_locks``).
* SQLite: the run holds an ``flock`` on a file of its own next to the database
  (``<database>-runs/<token>``); the kernel drops it when the process dies,
  kill -9 included.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import fcntl
import os
import secrets
from collections.abc import Callable, Collection
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, Engine, select, text

from adapters.composer import JinjaComposer
from adapters.db import make_sessionmaker
from adapters.mail import transport_for
from adapters.portal_mail import PortalMailer
from adapters.settings import Settings
from adapters.sms import provider_for
from domain import arrangements, outbox
from domain.dunning import engine as dunning
from domain.models import Organisation, SchedulerRun, utcnow
from domain.sms_delivery import deliver_texts

LOCK_CLASS = 0x5E77  # the first key of a run's advisory lock: "a dunning run"
DELIVERY_BATCH = 500


class PgClaimant:
    """A run on PostgreSQL: alive while its advisory lock is held."""

    def __init__(self, engine: Engine) -> None:
        self.key = secrets.randbelow(2**31 - 2) + 1
        self.token = f"pg:{self.key}"
        self._conn: Connection | None = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        self._conn.execute(
            text("SELECT pg_advisory_lock(CAST(:c AS integer), CAST(:k AS integer))"), {"c": LOCK_CLASS, "k": self.key}
        )

    def alive(self, tokens: Collection[str]) -> set[str]:
        assert self._conn is not None
        held = {
            f"pg:{k}"
            for (k,) in self._conn.execute(
                text(
                    "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND classid::bigint = :c AND objsubid = 2"
                    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                ),
                {"c": LOCK_CLASS},
            )
        }
        return {t for t in tokens if t in held}

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()  # the lock goes with the session
            self._conn = None


class FileClaimant:
    """A run on SQLite: alive while it holds the ``flock`` on its file."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        name = f"{os.getpid()}-{secrets.token_hex(6)}"
        self.token = f"file:{name}"
        self._fh: IO[bytes] | None = open(folder / name, "wb")  # noqa: SIM115 - held for the run's life
        fcntl.flock(self._fh, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def alive(self, tokens: Collection[str]) -> set[str]:
        live = set()
        for token in tokens:
            if token == self.token:
                live.add(token)
                continue
            if not token.startswith("file:"):
                continue
            path = self.folder / token[len("file:") :]
            try:
                fh = open(path, "rb")  # noqa: SIM115
            except FileNotFoundError:
                continue
            with fh:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    live.add(token)
                    continue
                fcntl.flock(fh, fcntl.LOCK_UN)
            with contextlib.suppress(OSError):
                path.unlink()  # its run is gone
        return live

    def close(self) -> None:
        if self._fh is not None:
            with contextlib.suppress(OSError):
                (self.folder / self.token[len("file:") :]).unlink()
            self._fh.close()
            self._fh = None


def claimant_for(engine: Engine) -> Any:
    """The claimant of a run on ``engine`` (see the module docstring)."""
    if engine.dialect.name == "postgresql":
        return PgClaimant(engine)
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        path = Path(database)
        return FileClaimant(path.with_name(path.name + "-runs"))
    return outbox.LocalClaimant()


def _org_id(factory: Any, org_slug: str | None) -> str | None:
    if org_slug is None:
        return None
    with factory() as session:
        org_id = session.scalar(select(Organisation.id).where(Organisation.slug == org_slug))
    if org_id is None:
        raise LookupError(f"no organisation with slug {org_slug!r}")
    return org_id


def preview_plans(engine: Engine, *, as_of: dt.date, org_slug: str | None = None) -> list[arrangements.PlanNotice]:
    """What a run's payment-plan stage would do on ``as_of`` (``domain.arrangements.preview_day``),
    for ``settle run --dry-run``: reading only, like the dunning dry run beside it."""
    reader = make_sessionmaker(engine, writer=True)
    org_id = _org_id(reader, org_slug)
    with reader() as session:
        notices = arrangements.preview_day(session, as_of, org_id)
        session.rollback()
    return notices


def run(
    engine: Engine,
    settings: Settings,
    *,
    as_of: dt.date,
    org_slug: str | None = None,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
    composer: JinjaComposer | None = None,
    now: Callable[[], dt.datetime] = utcnow,
) -> dunning.RunSummary:
    writer = make_sessionmaker(engine, writer=True)
    org_id = _org_id(writer, org_slug)
    composer = composer or JinjaComposer(settings)
    started = utcnow()
    if dry_run:
        # A dry run prints its plan; it claims and plans, and writes, renders and sends nothing.
        return dunning.plan(writer, as_of=as_of, composer=composer, org_id=org_id, dry_run=True, progress=progress)
    claimant = claimant_for(engine)
    try:
        # Payment plans first: a plan broken today releases its invoices to tomorrow's dunning,
        # and a plan's reminders go out with this run's delivery.
        plans = arrangements.run_day(writer, as_of=as_of, composer=PortalMailer(settings), org_id=org_id)
        # A real run keeps only counts, so its memory does not grow with the plan.
        summary = dunning.plan(
            writer, as_of=as_of, composer=composer, org_id=org_id, progress=progress, keep_plan=False,
            claimant=claimant,
        )  # fmt: skip
        transport = transport_for(settings.mail_url)
        try:
            batch = int(os.environ.get("SETTLE_DELIVERY_BATCH", DELIVERY_BATCH))
            dunning.deliver(writer, transport, default_sender=settings.mail_from, org_id=org_id, summary=summary,
                            batch_size=batch, claimant=claimant)  # fmt: skip
        finally:
            transport.close()
        provider = provider_for(settings)
        if provider is not None:
            # Texts after e-mail: each waits for its debtor's daytime window (``now`` decides).
            try:
                texts = deliver_texts(writer, provider, now=now, org_id=org_id, claimant=claimant)
            finally:
                provider.close()
            summary.texts_sent += texts.delivered + texts.recovered
            summary.texts_waiting += texts.deferred
            summary.failed += texts.failed + texts.refused
    finally:
        claimant.close()
    with writer() as session:
        session.add(
            SchedulerRun(
                org_id=org_id,
                as_of=as_of,
                dry_run=False,
                started_at=started,
                finished_at=utcnow(),
                summary={
                    "line": summary.line(),
                    "messages": summary.messages,
                    "tasks": summary.tasks,
                    "skipped": summary.skipped,
                    "failed": summary.failed,
                    "delivered": summary.delivered,
                    "examined": summary.examined,
                    "planned": summary.planned,
                    "arrangements": dataclasses.asdict(plans),
                },
            )
        )
        session.commit()
    return summary
