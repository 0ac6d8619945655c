"""``settle run``: plan the dunning actions due by a date and deliver them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import Engine, select

from adapters.composer import JinjaComposer
from adapters.db import make_sessionmaker
from adapters.mail import transport_for
from adapters.settings import Settings
from domain.dunning import engine as dunning
from domain.models import Organisation, SchedulerRun, utcnow


def run(
    engine: Engine,
    settings: Settings,
    *,
    as_of: dt.date,
    org_slug: str | None = None,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> dunning.RunSummary:
    writer = make_sessionmaker(engine, writer=True)
    org_id = None
    if org_slug is not None:
        with writer() as session:
            org_id = session.scalar(select(Organisation.id).where(Organisation.slug == org_slug))
        if org_id is None:
            raise LookupError(f"no organisation with slug {org_slug!r}")
    composer = JinjaComposer(settings)
    started = utcnow()
    # A dry run prints its plan; a real run keeps only counts, so its memory does not grow with the plan.
    summary = dunning.plan(
        writer, as_of=as_of, composer=composer, org_id=org_id, dry_run=dry_run, progress=progress, keep_plan=dry_run
    )
    if dry_run:
        return summary
    transport = transport_for(settings.mail_url)
    try:
        dunning.deliver(writer, transport, default_sender=settings.mail_from, org_id=org_id, summary=summary)
    finally:
        transport.close()
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
                },
            )
        )
        session.commit()
    return summary
