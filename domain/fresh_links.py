"""A fresh portal link by e-mail, for a debtor whose link expired or was revoked.

The link goes only to the address on file, never to one given in the request,
and at most once per customer in ``COOLDOWN`` (whoever asks, from wherever):
the button can never be used to flood a debtor's mailbox. The edge answers the
same words whatever happens here, so the page reveals nothing either.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from sqlalchemy.orm import Session

from domain import outbox
from domain.dunning.messages import Rendered
from domain.events import record
from domain.models import Customer, Organisation, OutboxMessage

COOLDOWN = dt.timedelta(minutes=10)


class LinkComposer(Protocol):
    def portal_url(self, session: Session, customer: Customer) -> str: ...

    def fresh_link(self, org: Organisation, customer: Customer, url: str) -> Rendered: ...


def send(session: Session, customer: Customer, composer: LinkComposer, now: dt.datetime) -> OutboxMessage | None:
    """Queue an e-mail with a new link to the customer's own address; ``None`` when nothing is sent."""
    if not customer.email:
        record(session, customer.org_id, "portal.link_requested", customer, sent=False, why="no e-mail address")
        return None
    if outbox.recent(session, customer.org_id, customer.id, "portal_link", now - COOLDOWN) is not None:
        record(session, customer.org_id, "portal.link_requested", customer, sent=False, why="sent recently")
        return None
    org = session.get_one(Organisation, customer.org_id)
    rendered = composer.fresh_link(org, customer, composer.portal_url(session, customer))
    message = outbox.add(
        session, org_id=org.id, customer_id=customer.id, kind="portal_link",
        key=outbox.portal_link_key(customer.id, now, COOLDOWN), to=customer.email, subject=rendered.subject,
        text=rendered.text, html=rendered.html, created_at=now,
    )  # fmt: skip
    record(session, org.id, "portal.link_requested", customer, sent=True, message_id=message.id)
    return message
