"""The one path by which a provider's word about a payment enters Settle.

Webhooks, the return page and the sandbox all take the same three steps: find
the payment by the provider's id (an unknown id changes nothing, and nothing
is asked of the provider for it); learn its state from the notice or, when the
notice does not say, from the provider (``state_of``); and ``register`` that
state through ``domain.checkout.apply_status``, which converges and never
registers a payment twice, and ``domain.checkout.apply_reversals`` for refunds
and charge-backs. ``on_notice`` does all three in one session; the webhook
endpoint asks the provider before it opens its write transaction.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from adapters.portal_mail import PortalMailer
from domain import checkout
from domain.gateway import Gateway, ProviderState, WebhookNotice
from domain.models import Payment


def state_of(gateway: Gateway, notice: WebhookNotice) -> ProviderState:
    """What the provider says of the payment now: the notice's own word when it has one, else
    the provider's answer when asked; with every refund or dispute either of them reported."""
    state = ProviderState(notice.status) if notice.status else gateway.fetch(notice.provider_payment_id)
    reversals = dict(state.reversals)
    for ref, cents in notice.reversals.items():
        reversals[ref] = max(cents, reversals.get(ref, 0))
    return ProviderState(state.status, reversals)


def register(session: Session, mailer: PortalMailer, payment: Payment, state: ProviderState, as_of: dt.date) -> bool:
    """Apply what the provider says to ``payment``; ``True`` if anything changed."""
    changed = checkout.apply_status(session, payment, state.status, as_of, composer=mailer)
    if state.reversals and checkout.apply_reversals(session, payment, state.reversals, as_of):
        changed = True
    return changed


def on_notice(
    session: Session, mailer: PortalMailer, gateway: Gateway, org_id: str, notice: WebhookNotice, as_of: dt.date
) -> tuple[Payment | None, bool]:
    """The payment the notice is about (``None`` if unknown) and whether it changed, in one session."""
    if not notice.provider_payment_id:
        return None, False
    payment = checkout.find(session, org_id, gateway.name, notice.provider_payment_id)
    if payment is None:
        return None, False
    return payment, register(session, mailer, payment, state_of(gateway, notice), as_of)
