"""Deliver an organisation's pending e-mail right after a request, in a background task,
so a thank-you or a fresh link arrives at once. ``settle run`` delivers whatever this misses."""

from __future__ import annotations

import logging

from litestar.background_tasks import BackgroundTask
from sqlalchemy import Engine

from adapters.db import make_sessionmaker
from adapters.mail import transport_for
from adapters.settings import Settings
from domain.dunning import engine as dunning

log = logging.getLogger("settle.portal")


def deliver_now(engine: Engine, settings: Settings, org_id: str) -> None:
    transport = transport_for(settings.mail_url)
    try:
        dunning.deliver(make_sessionmaker(engine, writer=True), transport, default_sender=settings.mail_from,
                        org_id=org_id)  # fmt: skip
    except Exception:  # the outbox keeps the message; the next run retries it
        log.exception("delivering the outbox of %s after a portal request failed", org_id)
    finally:
        transport.close()


def deliver_soon(engine: Engine, settings: Settings, org_id: str) -> BackgroundTask:
    return BackgroundTask(deliver_now, engine, settings, org_id)
