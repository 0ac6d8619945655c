"""Delivering text messages from the outbox, exactly once, and what the provider reports back.

``deliver_texts`` is the SMS half of a run's stage 5 (``domain.dunning.engine.deliver`` is the
e-mail half), with the same claims (``domain.outbox.claim_texts``) and no lock held while the
provider is on the line. Per message, at the last moment:

1. **quiet hours**: outside 08:00-21:00 in the debtor's time zone the message waits for the
   next window (``next_attempt_at``), without counting as an attempt;
2. **opt-out**: a customer who opted out (the API, or a STOP reply) since it was queued gets
   nothing: the message fails with that reason;
3. **lost answers**: an attempt is marked ``sending`` (committed) before the provider is
   asked. A message still ``sending`` when it is claimed again belonged to a run that died
   (or timed out) between asking and recording: the provider is asked whether it took it
   (``SmsProvider.find``) and, if so, it is recorded as sent and not sent again;
4. **accepted**: the provider's id (``provider_ref``) and status are recorded in a tiny
   transaction of its own before the next message is sent.

So a message the provider accepted is never sent a second time, also across a kill -9 in the
middle of the request; the price is one extra UPDATE per text.

``record_status`` and ``record_reply`` apply the provider's webhooks once they are verified.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from domain import outbox, sms
from domain.events import record
from domain.models import Customer, Event, OutboxMessage, utcnow


@dataclass
class TextSummary:
    delivered: int = 0
    recovered: int = 0  # found accepted at the provider after a lost answer; not sent again
    deferred: int = 0  # outside quiet hours: waiting for the next window
    refused: int = 0  # opted out, or refused for good by the provider
    failed: int = 0  # refused for now: retried with back-off
    deferred_until: list[dt.datetime] = field(default_factory=list)


def _mark(conn: Connection, message_id: str, **values: object) -> None:
    """One UPDATE of a pending message in a transaction of its own."""
    with conn.begin():
        conn.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.status == outbox.PENDING)
            .values(**values)
        )


def deliver_texts(
    factory: sessionmaker[Session],
    provider: sms.SmsProvider,
    *,
    now: Callable[[], dt.datetime] = utcnow,
    org_id: str | None = None,
    claimant: outbox.Claimant | None = None,
    batch_size: int = 200,
) -> TextSummary:
    """Send the pending text messages that may go now (module docstring). ``factory``: the
    run's writer sessions (on SQLite each claim and record then takes the write lock at BEGIN,
    so two runs queue for it instead of one failing as it upgrades a read lock)."""
    with factory() as session:
        engine = session.get_bind()
    if not isinstance(engine, Engine):
        raise TypeError("delivering texts needs a sessionmaker bound to an Engine")
    summary = TextSummary()
    own = claimant or outbox.LocalClaimant()
    passed: set[str] = set()
    try:
        with engine.connect() as conn:
            while True:
                with conn.begin():
                    batch = outbox.claim_texts(conn, own, now=now(), org_id=org_id, limit=batch_size, passed=passed)
                if not batch:
                    break
                failures: list[outbox.Failure] = []
                try:
                    for m in batch:
                        passed.add(m.id)
                        _deliver_one(conn, provider, m, now, summary, failures)
                finally:
                    with conn.begin():
                        outbox.settle_batch(conn, own, failures, now=now())
    finally:
        if claimant is None and isinstance(own, outbox.LocalClaimant):
            own.close()
    return summary


def _deliver_one(
    conn: Connection,
    provider: sms.SmsProvider,
    m: outbox.ClaimedText,
    now: Callable[[], dt.datetime],
    summary: TextSummary,
    failures: list[outbox.Failure],
) -> None:
    at = now()
    window = sms.next_window(at, m.country)
    if window is not None:
        _mark(conn, m.id, next_attempt_at=window, claimed_by=None)
        summary.deferred += 1
        summary.deferred_until.append(window)
        return
    if m.opted_out or not m.to_address:
        _mark(conn, m.id, status=outbox.FAILED, last_error=sms.OPTED_OUT if m.opted_out else sms.NO_PHONE,
              claimed_by=None)  # fmt: skip
        summary.refused += 1
        return
    attempts = m.attempts + 1
    body = m.body_text or ""
    try:
        if m.delivery_status == "sending":
            found = provider.find(to=m.to_address, body=body, reference=m.id, since=m.created_at)
            if found is not None:
                _sent(conn, m.id, found, at=now(), attempts=m.attempts or 1)
                summary.recovered += 1
                return
        else:
            _mark(conn, m.id, delivery_status="sending")
        accepted = provider.send(to=m.to_address, body=body, reference=m.id)
    except sms.SmsRejected as exc:
        failures.append(outbox.Failure(m.id, outbox.MAX_ATTEMPTS, str(exc)))
        summary.refused += 1
        if exc.opted_out:  # the provider knows of a STOP that never reached Settle: honour it here too
            _opt_out(conn, m.customer_id)
        return
    except sms.SmsError as exc:
        failures.append(outbox.Failure(m.id, attempts, str(exc)))
        summary.failed += 1
        return
    _sent(conn, m.id, accepted, at=now(), attempts=attempts)
    summary.delivered += 1


def _sent(conn: Connection, message_id: str, accepted: sms.Accepted, *, at: dt.datetime, attempts: int) -> None:
    _mark(conn, message_id, status=outbox.SENT, sent_at=at, attempts=attempts, provider_ref=accepted.provider_ref,
          delivery_status=accepted.status, claimed_by=None)  # fmt: skip


def _opt_out(conn: Connection, customer_id: str) -> None:
    with conn.begin():
        row = conn.execute(
            update(Customer).where(Customer.id == customer_id, Customer.sms_opt_out.is_(False))
            .values(sms_opt_out=True).returning(Customer.org_id)
        ).first()  # fmt: skip
        if row is not None:
            conn.execute(insert(Event).values(org_id=row[0], kind="customer.sms_opted_out", subject_type="customer",
                                              subject_id=customer_id, data={"via": "provider"},
                                              occurred_at=utcnow()))  # fmt: skip


# --- what the provider reports ------------------------------------------------------------------


@dataclass(frozen=True)
class StatusReport:
    reference: str | None  # Settle's message id, as given to the provider
    provider_ref: str | None
    status: str
    error_code: str | None = None


def record_status(session: Session, report: StatusReport) -> bool:
    """Move a text message's ``delivery_status`` on (never back; see ``sms.advances``) and record
    an ``sms.<status>`` event; the caller commits. False when the report is about nothing of
    ours or changes nothing (a duplicate, a late one)."""
    msg = None
    if report.reference:
        msg = session.get(OutboxMessage, report.reference, with_for_update=True)
    if msg is None and report.provider_ref:
        msg = session.scalar(
            select(OutboxMessage).where(OutboxMessage.provider_ref == report.provider_ref).with_for_update()
        )
    if msg is None or msg.channel != sms.SMS:
        return False
    if report.provider_ref and msg.provider_ref not in (None, report.provider_ref):
        return False  # a report about another message than the one this id names
    if not sms.advances(msg.delivery_status if msg.delivery_status != "sending" else None, report.status):
        return False
    msg.delivery_status = report.status
    if report.provider_ref and msg.provider_ref is None:
        msg.provider_ref = report.provider_ref
    session.flush()
    record(session, msg.org_id, f"sms.{report.status}", msg, customer_id=msg.customer_id,
           provider_ref=msg.provider_ref, error_code=report.error_code)  # fmt: skip
    return True


def record_reply(session: Session, from_number: str, body: str) -> int:
    """A reply from a phone: STOP opts every customer with that number out of texts, START
    back in (the caller commits). Customers of every organisation, since all send from the same
    sender. The number of customers changed."""
    wish = sms.opt_out_word(body)
    if wish is None:
        return 0
    customers = list(
        session.scalars(
            select(Customer).where(Customer.phone == from_number, Customer.sms_opt_out.is_not(wish)).with_for_update()
        )
    )
    for c in customers:
        c.sms_opt_out = wish
        record(session, c.org_id, "customer.sms_opted_out" if wish else "customer.sms_opted_in", c, via="reply")
    session.flush()
    return len(customers)
