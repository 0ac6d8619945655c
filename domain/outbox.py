"""The outbox: every message Settle sends is a row here first, written in the same
transaction as the change that calls for it, and delivered after commit.

One module owns the rows, whoever queues them (dunning, thank-you e-mails, fresh
portal links):

* ``row`` builds one, with a ``dedupe_key`` that is unique in the table: one
  message per customer and step (``dunning:<customer>:<day>``,
  ``thank_you:<payment>``, ``portal_link:<customer>:<window>``), so the same
  message can never be queued twice, whatever the code above does;
* ``add`` queues one as an ORM object, ``insert`` queues many in one statement;
* a row is ``draft`` (its words still to be rendered from ``render``),
  ``pending`` (ready), ``sent`` or ``failed``;
* ``claim`` takes a batch of pending e-mail for one delivering run in a short
  transaction (``claimed_by``), ``mark_sent`` records one accepted message in a
  tiny transaction of its own, ``settle_batch`` records the rest of a batch in
  one statement. No lock is held while the mail server talks.

A claim is only as good as its holder's life: ``Claimant.alive`` tells which of
the runs that claimed rows still run (PostgreSQL: an advisory lock per run;
SQLite: a lock file per run; see ``settle.scheduler``). Rows claimed by a dead
run are pending again for everyone.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

from sqlalchemy import Connection, Table, and_, bindparam, func, or_, select, update
from sqlalchemy import insert as sa_insert
from sqlalchemy.orm import Session

from domain import bulk
from domain.ids import new_id
from domain.models import Customer, Organisation, OutboxMessage, utcnow
from domain.sms import NO_PHONE, SMS

DRAFT, PENDING, SENT, FAILED = "draft", "pending", "sent", "failed"
MAX_ATTEMPTS = 8
NO_ADDRESS = "the customer has no e-mail address"


def dunning_key(customer_id: str, as_of: dt.date) -> str:
    """One dunning message per customer and day: a debtor never gets two reminders from one morning."""
    return f"dunning:{customer_id}:{as_of.isoformat()}"


def thank_you_key(payment_id: str) -> str:
    return f"thank_you:{payment_id}"


def portal_link_key(customer_id: str, now: dt.datetime, window: dt.timedelta) -> str:
    """One fresh link per customer per ``window`` (the cooldown), even for requests that race."""
    return f"portal_link:{customer_id}:{int(now.timestamp() // window.total_seconds())}"


def row(
    *,
    org_id: str,
    customer_id: str,
    kind: str,
    key: str,
    channel: str = "email",
    to: str | None = None,
    subject: str | None = None,
    text: str | None = None,
    html: str | None = None,
    status: str | None = None,
    render: dict[str, Any] | None = None,
    created_at: dt.datetime | None = None,
    refused: str | None = None,
    id: str | None = None,
) -> dict[str, Any]:
    """One outbox row. One with ``render`` data and no words yet is a ``draft``; an e-mail
    without an address, or a text without a number (``refused`` says why), is ``failed``
    (once rendered, if a draft). ``id``: one made beforehand (a run makes a batch's at once)."""
    last_error = NO_ADDRESS if channel == "email" and not to else None
    if channel == SMS and not to:
        last_error = refused or NO_PHONE
    if status is None:
        if render is not None and subject is None:
            status = DRAFT  # rendered after commit; an e-mail without an address then fails
        elif last_error:
            status = FAILED
        else:
            status = PENDING
    created = created_at or utcnow()
    return {
        "id": id or new_id("msg"),
        "org_id": org_id,
        "customer_id": customer_id,
        "channel": channel,
        "kind": kind,
        "status": status,
        "to_address": to if channel in ("email", SMS) else None,
        "subject": subject,
        "body_text": text,
        "body_html": html,
        "attempts": 0,
        "next_attempt_at": None,
        "last_error": last_error,
        "created_at": created,
        "sent_at": created if status == SENT else None,
        "dedupe_key": key,
        "claimed_by": None,
        "render": render,
        "provider_ref": None,
        "delivery_status": None,
    }


def add(session: Session, **fields: Any) -> OutboxMessage:
    """Queue one message (``row``'s arguments) as an ORM object in the caller's transaction."""
    message = OutboxMessage(**row(**fields))
    session.add(message)
    session.flush()
    return message


def insert(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Queue many messages in one multi-row statement. A key queued before breaks the unique
    index and rolls the caller's transaction back."""
    if rows:
        session.execute(sa_insert(OutboxMessage).execution_options(render_nulls=True), list(rows))


_INSERT_ROWS = bulk.Insert(cast(Table, OutboxMessage.__table__), tuple(row(org_id="", customer_id="", kind="", key="")))


def insert_rows(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """``insert`` on a connection for rows made by ``row``: a run's batch, in a few statements
    with no per-row work of SQLAlchemy's (``domain.bulk``)."""
    _INSERT_ROWS(conn, rows)


def existing_keys(session: Session, keys: Collection[str]) -> set[str]:
    """Which of ``keys`` are queued already (one query, the keys as one parameter: ``bulk.among``)."""
    if not keys:
        return set()
    return set(
        session.scalars(
            select(OutboxMessage.dedupe_key).where(bulk.among(session, OutboxMessage.dedupe_key, sorted(keys)))
        )
    )


def recent(session: Session, org_id: str, customer_id: str, kind: str, since: dt.datetime) -> str | None:
    """The id of a message of ``kind`` queued for the customer since ``since``, if any."""
    return session.scalar(
        select(OutboxMessage.id).where(
            OutboxMessage.org_id == org_id,
            OutboxMessage.customer_id == customer_id,
            OutboxMessage.kind == kind,
            OutboxMessage.created_at >= since,
        )
    )


# --- drafts: planned in the write transaction, rendered after it --------------------------


_RENDERED = (
    update(OutboxMessage)
    .where(OutboxMessage.id == bindparam("b_id"), OutboxMessage.status == DRAFT)
    .values(
        status=bindparam("b_status"),
        subject=bindparam("b_subject"),
        body_text=bindparam("b_text"),
        body_html=bindparam("b_html"),
        sent_at=bindparam("b_sent_at"),
        render=None,
        claimed_by=None,
    )
)


def rendered(conn: Connection, results: Sequence[dict[str, Any]]) -> None:
    """Store the words of rendered drafts, in one statement (``b_id``, ``b_status``, ``b_subject``,
    ``b_text``, ``b_html``, ``b_sent_at``). A draft another run rendered first is left as it is."""
    if results:
        conn.execute(_RENDERED, list(results))


def _holders(conn: Connection, stmt: Any) -> set[str]:
    return {str(t) for t in conn.scalars(stmt) if t is not None}


@dataclass(frozen=True)
class Draft:
    id: str
    org_id: str
    customer_id: str
    channel: str
    to_address: str | None
    render: dict[str, Any] | None


def claim_drafts(conn: Connection, claimant: Claimant, *, org_id: str | None, limit: int) -> list[Draft]:
    """Take up to ``limit`` drafts that a run which died left unrendered (or nobody claimed)."""
    msg = OutboxMessage
    where: list[Any] = [msg.status == DRAFT]
    if org_id is not None:
        where.append(msg.org_id == org_id)
    holders = _holders(conn, select(msg.claimed_by).where(*where, msg.claimed_by.is_not(None)).distinct())
    holders.discard(claimant.token)
    dead = sorted(holders - (claimant.alive(holders) if holders else set()))
    where.append(or_(msg.claimed_by.is_(None), msg.claimed_by.in_(dead)) if dead else msg.claimed_by.is_(None))
    ids = list(
        conn.scalars(select(msg.id).where(*where).order_by(msg.id).limit(limit).with_for_update(skip_locked=True))
    )
    if not ids:
        return []
    conn.execute(update(msg).where(msg.id.in_(ids), *where).values(claimed_by=claimant.token))
    rows = conn.execute(
        select(msg.id, msg.org_id, msg.customer_id, msg.channel, msg.to_address, msg.render)
        .where(msg.id.in_(ids), msg.claimed_by == claimant.token, msg.status == DRAFT)
        .order_by(msg.id)
    ).all()
    return [Draft(*r) for r in rows]


# --- delivery ------------------------------------------------------------------------------


class Claimant(Protocol):
    """A delivering run: the token it claims rows with, and which claimants still live."""

    token: str

    def alive(self, tokens: Collection[str]) -> set[str]: ...


_LOCAL: set[str] = set()


class LocalClaimant:
    """A claimant that knows only the runs of this process (tests and embedded use): a row
    claimed by any other token counts as left behind."""

    def __init__(self) -> None:
        self.token = "local:" + secrets.token_hex(8)
        _LOCAL.add(self.token)

    def alive(self, tokens: Collection[str]) -> set[str]:
        return {t for t in tokens if t in _LOCAL}

    def close(self) -> None:
        _LOCAL.discard(self.token)


@dataclass(frozen=True)
class Claimed:
    id: str
    org_id: str
    to_address: str | None
    subject: str | None
    body_text: str | None
    body_html: str | None
    attempts: int
    sender: str | None  # the organisation's own From, if it has one
    reply_to: str | None  # the organisation's contact address: a debtor who answers reaches a person


def _deliverable(now: dt.datetime, org_id: str | None, channel: str = "email") -> list[Any]:
    msg = OutboxMessage
    due: list[Any] = [
        msg.status == PENDING,
        msg.channel == channel,
        or_(msg.next_attempt_at.is_(None), msg.next_attempt_at <= now),
    ]
    if org_id is not None:
        due.append(msg.org_id == org_id)
    return due


def claim(
    conn: Connection,
    claimant: Claimant,
    *,
    now: dt.datetime,
    org_id: str | None,
    limit: int,
    passed: Collection[str] = (),
) -> list[Claimed]:
    """Take up to ``limit`` pending e-mails for ``claimant``; the caller commits at once.

    Free rows and rows whose claimant died are taken, oldest first, at most half of what
    is free (at least one): a run that starts while another delivers finds work too, and
    the tail of a big outbox spreads over the runs. ``passed``: ids not to take again.
    """
    ids = _claim_ids(conn, claimant, now=now, org_id=org_id, limit=limit, passed=passed, channel="email")
    if not ids:
        return []
    msg = OutboxMessage
    rows = conn.execute(
        select(
            msg.id, msg.org_id, msg.to_address, msg.subject, msg.body_text, msg.body_html, msg.attempts,
            Organisation.mail_from, Organisation.email,
        )
        .join(Organisation, Organisation.id == msg.org_id)
        .where(msg.id.in_(ids), msg.claimed_by == claimant.token, msg.status == PENDING)
        .order_by(msg.created_at, msg.id)
    ).all()  # fmt: skip
    return [Claimed(*r) for r in rows]


@dataclass(frozen=True)
class ClaimedText:
    """A pending text message claimed for delivery, with what the rules ask at the last moment:
    the debtor's country (quiet hours) and whether they opted out meanwhile."""

    id: str
    org_id: str
    customer_id: str
    to_address: str | None
    body_text: str | None
    attempts: int
    delivery_status: str | None  # ``sending``: an earlier attempt's answer was lost
    created_at: dt.datetime
    country: str  # the customer's, else the organisation's
    opted_out: bool


def claim_texts(
    conn: Connection,
    claimant: Claimant,
    *,
    now: dt.datetime,
    org_id: str | None,
    limit: int,
    passed: Collection[str] = (),
) -> list[ClaimedText]:
    """``claim`` for text messages (channel ``sms``): the same rule, other columns."""
    ids = _claim_ids(conn, claimant, now=now, org_id=org_id, limit=limit, passed=passed, channel=SMS)
    if not ids:
        return []
    msg = OutboxMessage
    rows = conn.execute(
        select(
            msg.id, msg.org_id, msg.customer_id, msg.to_address, msg.body_text, msg.attempts, msg.delivery_status,
            msg.created_at, func.coalesce(Customer.country, Organisation.country), Customer.sms_opt_out,
        )
        .join(Organisation, Organisation.id == msg.org_id)
        .join(Customer, Customer.id == msg.customer_id)
        .where(msg.id.in_(ids), msg.claimed_by == claimant.token, msg.status == PENDING)
        .order_by(msg.created_at, msg.id)
    ).all()  # fmt: skip
    return [ClaimedText(*r[:8], str(r[8] or "NL"), bool(r[9])) for r in rows]


def _claim_ids(
    conn: Connection,
    claimant: Claimant,
    *,
    now: dt.datetime,
    org_id: str | None,
    limit: int,
    passed: Collection[str],
    channel: str,
) -> list[str]:
    """``claim``'s rule for any channel: the ids this claimant took (see ``claim``)."""
    msg = OutboxMessage
    due = _deliverable(now, org_id, channel)
    holders = _holders(conn, select(msg.claimed_by).where(*due, msg.claimed_by.is_not(None)).distinct())
    holders.discard(claimant.token)
    live = claimant.alive(holders) if holders else set()
    dead = sorted(holders - live)
    free = or_(msg.claimed_by.is_(None), msg.claimed_by.in_(dead)) if dead else msg.claimed_by.is_(None)
    where = [*due, free]
    if passed:
        where.append(msg.id.not_in(sorted(passed)))
    available = int(conn.scalar(select(func.count()).select_from(msg).where(*where)) or 0)
    if not available:
        return []
    take = min(limit, max(1, (available + 1) // 2))
    ids = list(
        conn.scalars(
            select(msg.id).where(*where).order_by(msg.created_at, msg.id).limit(take).with_for_update(skip_locked=True)
        )
    )
    if not ids:
        return []
    conn.execute(update(msg).where(msg.id.in_(ids), *where).values(claimed_by=claimant.token))
    return ids


_SENT = (
    update(OutboxMessage)
    .where(OutboxMessage.id == bindparam("b_id"), OutboxMessage.status == PENDING)
    .values(status=SENT, sent_at=bindparam("b_at"), attempts=bindparam("b_attempts"))
)


def mark_sent(conn: Connection, message_id: str, *, at: dt.datetime, attempts: int) -> None:
    """Record that the mail server accepted one message: the caller's tiny transaction."""
    conn.execute(_SENT, {"b_id": message_id, "b_at": at, "b_attempts": attempts})


class SentRecorder:
    """Records accepted messages one at a time, each committed before the next is sent, as
    cheaply as the database allows: one prepared UPDATE on the connection's driver, no
    SQLAlchemy statement machinery per message (``mark_sent``'s ``begin``/``execute``/``commit``
    cost more than the UPDATE itself).

    * SQLite (WAL, ``synchronous=NORMAL``): the UPDATE alone, in autocommit, is its own
      transaction. A commit reaches the WAL before the next message is sent, so a crash of the
      process (kill -9 included) loses no record; there is no disk flush per message.
    * PostgreSQL: the UPDATE alone in autocommit (one round trip) on a session with
      ``synchronous_commit = off`` (``start``/``stop``: the delivering connection only, reset
      before it goes back to the pool), so the commit does not wait for the WAL flush (6 ms a
      message on this machine). A crash of the *process* still loses nothing: the commit is
      in the server before ``record`` returns. Only a crash of the *database server* within its WAL writer delay (about
      200 ms) can forget the last records; those messages are then sent again, with the
      same Message-ID (``<outbox id@domain>``), so a receiving system can tell the duplicate.

    Other databases get ``mark_sent`` in a transaction of its own. Use between the caller's
    own transactions (the connection holds none when ``record`` is called).
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        dialect = conn.dialect
        self.kind = dialect.name if dialect.name in ("sqlite", "postgresql") else "other"
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        self._sql = (
            f"UPDATE outbox_messages SET status = '{SENT}', sent_at = {mark}, attempts = {mark}"
            f" WHERE id = {mark} AND status = '{PENDING}'"
        )
        processor = OutboxMessage.__table__.c.sent_at.type.bind_processor(dialect)
        self._at = processor or (lambda v: v)
        self._autocheckpoint: int | None = None

    def record(self, message_id: str, *, at: dt.datetime, attempts: int) -> None:
        if self.kind == "other" or self.conn.in_transaction():
            with self.conn.begin():
                mark_sent(self.conn, message_id, at=at, attempts=attempts)
            return
        driver: Any = self.conn.connection.driver_connection
        params = (self._at(at), attempts, message_id)
        if self.kind == "sqlite":
            try:
                driver.execute(self._sql, params)  # in autocommit the statement is its own transaction
                if driver.in_transaction:  # the driver's legacy mode began one (isolation_level reset)
                    driver.commit()
            except BaseException:
                if driver.in_transaction:
                    driver.rollback()
                raise
            return
        # One round trip: the UPDATE alone in autocommit is its own transaction, committed
        # without waiting for the WAL flush (``start`` set synchronous_commit off for the session).
        driver.autocommit = True
        try:
            driver.execute(self._sql, params)
        finally:
            driver.autocommit = False

    def start(self) -> None:
        """PostgreSQL: the delivering connection's commits stop waiting for the WAL flush
        (``SET synchronous_commit = off`` for the session, undone by ``stop``).

        SQLite: the delivering connection checkpoints the WAL every ``WAL_PAGES`` pages
        instead of every 1,000 (each record writes three or so). A checkpoint ends in an
        fsync, and on a journalling file system that fsync also writes out everything else
        dirty, the .eml files or mail-server spool just written: with the default, a run of
        10,000 messages spent more time waiting on those flushes than sending. The WAL grows
        to about ``WAL_PAGES`` pages meanwhile; ``stop`` restores the setting and checkpoints
        passively. A record's durability against a process crash does not change (a commit
        is in the WAL either way)."""
        if self.kind == "postgresql":
            with self.conn.begin():
                self.conn.exec_driver_sql("SET synchronous_commit = off")
        elif self.kind == "sqlite" and not self.conn.in_transaction():
            driver: Any = self.conn.connection.driver_connection
            self._autocheckpoint = driver.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
            driver.execute(f"PRAGMA wal_autocheckpoint={self.WAL_PAGES}")

    WAL_PAGES = 20_000  # 80 MB of 4 KiB pages

    def stop(self) -> None:
        if self.kind == "sqlite" and self._autocheckpoint is not None and not self.conn.invalidated:
            driver: Any = self.conn.connection.driver_connection
            driver.execute(f"PRAGMA wal_autocheckpoint={int(self._autocheckpoint)}")
            driver.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            self._autocheckpoint = None
        if self.kind == "postgresql" and not self.conn.invalidated:
            if self.conn.in_transaction():
                self.conn.rollback()
            with self.conn.begin():
                self.conn.exec_driver_sql("RESET synchronous_commit")


@dataclass(frozen=True)
class Failure:
    id: str
    attempts: int
    error: str


def backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(minutes=min(2**attempts, 360))


_FAILED = (
    update(OutboxMessage)
    .where(OutboxMessage.id == bindparam("b_id"), OutboxMessage.status == PENDING)
    .values(
        status=bindparam("b_status"),
        attempts=bindparam("b_attempts"),
        last_error=bindparam("b_error"),
        next_attempt_at=bindparam("b_next"),
        claimed_by=None,
    )
)


def settle_batch(conn: Connection, claimant: Claimant, failures: Iterable[Failure], *, now: dt.datetime) -> None:
    """The rest of a batch in one statement each: the refusals (with a back-off, or ``failed``
    after ``MAX_ATTEMPTS``), and the release of what this run claimed and did not try."""
    rows = [
        {
            "b_id": f.id,
            "b_status": FAILED if f.attempts >= MAX_ATTEMPTS else PENDING,
            "b_attempts": f.attempts,
            "b_error": f.error[:2000],
            "b_next": None if f.attempts >= MAX_ATTEMPTS else now + backoff(f.attempts),
        }
        for f in failures
    ]
    if rows:
        conn.execute(_FAILED, rows)
    conn.execute(
        update(OutboxMessage)
        .where(and_(OutboxMessage.claimed_by == claimant.token, OutboxMessage.status == PENDING))
        .values(claimed_by=None)
    )


def pending(
    session: Session, *, org_id: str | None = None, now: dt.datetime | None = None, channel: str = "email"
) -> int:
    """How many e-mails (or texts) wait to be delivered (due now)."""
    due = _deliverable(now or utcnow(), org_id, channel)
    return int(session.scalar(select(func.count()).select_from(OutboxMessage).where(*due)) or 0)
