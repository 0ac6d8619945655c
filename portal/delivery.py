"""Deliver an organisation's pending e-mail right after a request, in a background task,
so a thank-you or a fresh link arrives at once. ``settle run`` delivers whatever this misses."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from litestar.background_tasks import BackgroundTask
from sqlalchemy.orm import Session, sessionmaker

from adapters.mail import transport_for
from domain.dunning import engine as dunning

log = logging.getLogger("settle.portal")


@dataclass(frozen=True)
class Courier:
    """Built once by the app: the writer sessions and the mail setting the outbox is sent with."""

    writer: sessionmaker[Session]
    mail_url: str
    sender: str

    def deliver_now(self, org_id: str) -> None:
        transport = transport_for(self.mail_url)  # one SMTP conversation per delivery
        try:
            dunning.deliver(self.writer, transport, default_sender=self.sender, org_id=org_id)
        except Exception:  # the outbox keeps the message; the next run retries it
            log.exception("delivering the outbox of %s after a portal request failed", org_id)
        finally:
            transport.close()


def deliver_soon(courier: Courier, org_id: str) -> BackgroundTask:
    return BackgroundTask(courier.deliver_now, org_id)
