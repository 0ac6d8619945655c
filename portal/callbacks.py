"""The one path by which a provider's word about a payment enters Settle.

Webhooks, the return page and the sandbox all come through ``on_notice``: find
the payment by the provider's id (an unknown id changes nothing), take the
status from the notice or, when the provider only sent an id, fetch it, and
hand it to ``domain.checkout.apply_status``, which converges and never
registers a payment twice.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from domain import checkout
from domain.gateway import Gateway, WebhookNotice
from domain.models import Payment
from settle.portal_mail import PortalMailer
from settle.settings import Settings


def on_notice(
    session: Session, settings: Settings, gateway: Gateway, org_id: str, notice: WebhookNotice, as_of: dt.date
) -> tuple[Payment | None, bool]:
    """The payment the notice is about (``None`` if unknown) and whether it changed."""
    payment = checkout.find(session, org_id, gateway.name, notice.provider_payment_id)
    if payment is None:
        return None, False
    status = notice.status or gateway.fetch_status(notice.provider_payment_id)
    changed = checkout.apply_status(session, payment, status, as_of, composer=PortalMailer(settings))
    return payment, changed
