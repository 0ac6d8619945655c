"""The persistent shape of the business, as SQLAlchemy 2 typed mappings.

Every row belongs to an organisation (the creditor) and carries its ``org_id``,
so isolation is a ``WHERE org_id = …`` that no query can forget to need. Money
is integer cents next to an ISO currency. Dates that mean a calendar day (due
dates, the day a payment was received) are ``date``; moments are UTC
timestamps.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from domain.ids import new_id


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timestamps stored as UTC and always read back timezone-aware.

    SQLite keeps no offset; PostgreSQL keeps ``timestamptz``. Either way the
    application only ever sees aware UTC datetimes.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a UTC timestamp is stored")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# A 64-bit autoincrementing key; SQLite only autoincrements INTEGER PRIMARY KEY.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map = {
        dt.datetime: UTCDateTime(),
        dt.date: Date(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
        list[str]: JSON(),
    }


def _id(prefix: str) -> Any:
    return mapped_column(String(40), primary_key=True, default=lambda: new_id(prefix))


def _org() -> Any:
    return mapped_column(String(40), ForeignKey("organisations.id"), nullable=False, index=True)


def _created() -> Any:
    return mapped_column(default=utcnow, nullable=False)


class Organisation(Base):
    """The creditor: a business that uses Settle to collect what it is owed."""

    __tablename__ = "organisations"

    id: Mapped[str] = _id("org")
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    website: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(Text)
    iban: Mapped[str | None] = mapped_column(String(34))
    kvk_number: Mapped[str | None] = mapped_column(String(8))  # Dutch chamber of commerce (KvK), 8 digits
    vat_number: Mapped[str | None] = mapped_column(String(20))  # e.g. NL123456789B01, BE0123456789
    enterprise_number: Mapped[str | None] = mapped_column(String(12))  # Belgian KBO number, 0123.456.789
    country: Mapped[str] = mapped_column(String(2), default="NL", server_default="NL")  # NL or BE
    mail_from: Mapped[str | None] = mapped_column(String(254))
    default_payment_term_days: Mapped[int] = mapped_column(default=30)
    max_extension_days: Mapped[int] = mapped_column(default=30)
    vat_uplift_on_costs: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = _created()


class ProviderAccount(Base):
    """An organisation's credentials at a payment provider. Secrets are never returned."""

    __tablename__ = "provider_accounts"
    __table_args__ = (UniqueConstraint("org_id", "provider"),)

    id: Mapped[str] = _id("pva")
    org_id: Mapped[str] = _org()
    provider: Mapped[str] = mapped_column(String(20))  # mollie | stripe | sandbox
    api_key: Mapped[str | None] = mapped_column(Text)
    webhook_secret: Mapped[str | None] = mapped_column(Text)
    methods: Mapped[list[str]] = mapped_column(default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = _created()


class ApiKey(Base):
    """A back-office credential. Only the SHA-256 of the key is kept; the prefix finds it."""

    __tablename__ = "api_keys"

    id: Mapped[str] = _id("key")
    org_id: Mapped[str] = _org()
    name: Mapped[str] = mapped_column(String(100), default="")
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(default=list)
    created_at: Mapped[dt.datetime] = _created()
    last_used_at: Mapped[dt.datetime | None] = mapped_column()
    revoked_at: Mapped[dt.datetime | None] = mapped_column()


class Customer(Base):
    """The debtor. ``link_version`` goes up to revoke every portal link issued before."""

    __tablename__ = "customers"
    # (org_id, id): a list page is a range scan in id order, not every customer of the org sorted.
    __table_args__ = (UniqueConstraint("org_id", "external_ref"), Index("ix_customers_org_id_id", "org_id", "id"))

    id: Mapped[str] = _id("cus")
    org_id: Mapped[str] = _org()
    external_ref: Mapped[str | None] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40), index=True)  # E.164; a STOP reply is looked up by it
    kind: Mapped[str] = mapped_column(String(10), default="business")  # business | consumer
    locale: Mapped[str] = mapped_column(String(5), default="nl")  # nl | en | fr
    # NL or BE; None means the organisation's country (issue 16). The law that
    # applies follows the creditor's country, the language follows the customer.
    country: Mapped[str | None] = mapped_column(String(2))
    # A contract of regular supply (energy, telecom, subscriptions): Book XIX
    # gives such a consumer three free reminders per calendar year.
    regular_supply: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The debtor asked for no text messages (the API, or a STOP reply): no SMS is sent (issue 18).
    sms_opt_out: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    payment_term_days: Mapped[int | None] = mapped_column()
    policy_id: Mapped[str | None] = mapped_column(String(40), ForeignKey("policies.id"))
    address: Mapped[str | None] = mapped_column(Text)
    link_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[dt.datetime] = _created()
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CustomerBankAccount(Base):
    """An IBAN a customer has paid from; reconciliation uses it to recognise the payer."""

    __tablename__ = "customer_bank_accounts"
    __table_args__ = (UniqueConstraint("org_id", "iban", "customer_id"),)

    id: Mapped[str] = _id("cba")
    org_id: Mapped[str] = _org()
    customer_id: Mapped[str] = mapped_column(String(40), ForeignKey("customers.id"), index=True)
    iban: Mapped[str] = mapped_column(String(34))
    created_at: Mapped[dt.datetime] = _created()


class Invoice(Base):
    """An invoice and, on the same row, where it stands in dunning.

    ``dunning_step`` is the position of the last policy step acted on (0: none),
    ``dunning_anchor`` the day step offsets count from (the due date, moved on
    by pauses so that a track resumes where it stood), ``next_action_on`` the
    day the next step falls due, ``paused_until`` a pause (a promise, an
    extension, a manual hold), ``costs_due_on`` the first day a consumer's
    collection costs may be charged after the fourteen-day letter. The partial index on
    ``next_action_on`` for open invoices keeps a dunning run proportional to the
    invoices that are due, not to all invoices.
    """

    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("org_id", "number"),
        Index("ix_invoices_org_id_customer_id_status", "org_id", "customer_id", "status"),
        Index(
            "ix_invoices_due_open",
            "next_action_on",
            postgresql_where=text("status = 'open'"),
            sqlite_where=text("status = 'open'"),
        ),
        Index("ix_invoices_org_id_payment_reference", "org_id", "payment_reference"),
        # A list page (GET /invoices, oldest first, after a cursor) reads 51 index entries in
        # order; with org_id alone it sorted every invoice of the organisation per request.
        Index("ix_invoices_org_id_id", "org_id", "id"),
    )

    id: Mapped[str] = _id("inv")
    org_id: Mapped[str] = _org()
    customer_id: Mapped[str] = mapped_column(String(40), ForeignKey("customers.id"))
    number: Mapped[str] = mapped_column(String(64))
    issue_date: Mapped[dt.date] = mapped_column()
    due_date: Mapped[dt.date] = mapped_column()
    currency: Mapped[str] = mapped_column(String(3))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    open_cents: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="open")
    payment_reference: Mapped[str | None] = mapped_column(String(40))
    description: Mapped[str | None] = mapped_column(Text)
    pdf_url: Mapped[str | None] = mapped_column(String(500))
    paid_on: Mapped[dt.date | None] = mapped_column()
    # dunning state
    policy_id: Mapped[str | None] = mapped_column(String(40), ForeignKey("policies.id"))
    dunning_step: Mapped[int] = mapped_column(default=0)
    dunning_anchor: Mapped[dt.date | None] = mapped_column()
    next_action_on: Mapped[dt.date | None] = mapped_column()
    paused_until: Mapped[dt.date | None] = mapped_column()
    pause_reason: Mapped[str | None] = mapped_column(String(200))
    fees_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    costs_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    interest_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    interest_as_of: Mapped[dt.date | None] = mapped_column()
    notice_sent_on: Mapped[dt.date | None] = mapped_column()
    costs_due_on: Mapped[dt.date | None] = mapped_column()
    created_at: Mapped[dt.datetime] = _created()
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    customer: Mapped[Customer] = relationship(lazy="raise")


class Payment(Base):
    """Money received, from any source, and how much of it is not yet allocated.

    Provider payments are unique per (org, provider, provider_payment_id), so a
    webhook that arrives twice can never register the same money twice.
    """

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("org_id", "provider", "provider_payment_id"),
        Index("ix_payments_org_id_customer_id", "org_id", "customer_id"),
        Index("ix_payments_org_id_id", "org_id", "id"),
    )

    id: Mapped[str] = _id("pay")
    org_id: Mapped[str] = _org()
    customer_id: Mapped[str] = mapped_column(String(40), ForeignKey("customers.id"))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default="paid")
    method: Mapped[str] = mapped_column(String(16), default="manual")
    provider: Mapped[str | None] = mapped_column(String(16))
    provider_payment_id: Mapped[str | None] = mapped_column(String(100))
    checkout_url: Mapped[str | None] = mapped_column(Text)
    requested_invoice_ids: Mapped[list[str]] = mapped_column(default=list)
    received_on: Mapped[dt.date | None] = mapped_column()
    unallocated_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    # Refunds, charge-backs and disputes the provider reported: reference -> cents taken back in
    # total. ``refunded_cents`` is their sum (at most the amount), moved by compare-and-set.
    reversals: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reference: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = _created()
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PaymentAllocation(Base):
    """The part of a payment that settles (part of) one invoice."""

    __tablename__ = "payment_allocations"

    id: Mapped[str] = _id("alc")
    org_id: Mapped[str] = _org()
    payment_id: Mapped[str] = mapped_column(String(40), ForeignKey("payments.id"), index=True)
    invoice_id: Mapped[str] = mapped_column(String(40), ForeignKey("invoices.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = _created()

    # Declared so that one flush inserts payments before their allocations (insert order).
    payment: Mapped[Payment] = relationship(lazy="raise_on_sql")


class Policy(Base):
    """A dunning policy: the ordered steps an overdue invoice walks through.

    ``applies_to`` holds the rule that selects customers (kind, new, loyal);
    the first matching policy by ``priority`` wins, else the default.
    """

    __tablename__ = "policies"

    id: Mapped[str] = _id("pol")
    org_id: Mapped[str] = _org()
    name: Mapped[str] = mapped_column(String(100))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    priority: Mapped[int] = mapped_column(default=100)
    applies_to: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # NL or BE: the law this policy applies (costs, interest, terms); None: the organisation's country.
    law: Mapped[str | None] = mapped_column(String(2))
    created_at: Mapped[dt.datetime] = _created()
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    steps: Mapped[list[PolicyStep]] = relationship(
        order_by="PolicyStep.position", cascade="all, delete-orphan", lazy="selectin"
    )


class PolicyStep(Base):
    __tablename__ = "policy_steps"
    __table_args__ = (UniqueConstraint("policy_id", "position"),)

    id: Mapped[str] = _id("stp")
    org_id: Mapped[str] = _org()
    policy_id: Mapped[str] = mapped_column(String(40), ForeignKey("policies.id"))
    position: Mapped[int] = mapped_column()
    kind: Mapped[str] = mapped_column(String(32))
    days_after_due: Mapped[int] = mapped_column()
    channel: Mapped[str] = mapped_column(String(16), default="email")
    fee_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    template: Mapped[str | None] = mapped_column(String(100))


class OutboxMessage(Base):
    """Something to deliver (an e-mail, a letter, a task) planned in the same
    transaction as the dunning state change, delivered after commit.

    A crash between planning and delivery leaves the row pending; the next run
    delivers it. Nothing is marked sent that the mail server did not accept.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_messages_status_next_attempt_at", "status", "next_attempt_at"),
        # One message per customer and step (see domain.outbox.key): queued twice is a unique violation.
        Index("ux_outbox_messages_dedupe_key", "dedupe_key", unique=True),
    )

    id: Mapped[str] = _id("msg")
    org_id: Mapped[str] = _org()
    customer_id: Mapped[str] = mapped_column(String(40), ForeignKey("customers.id"))
    channel: Mapped[str] = mapped_column(String(16))  # email | task | letter | sms
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    to_address: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str | None] = mapped_column(String(300))
    body_text: Mapped[str | None] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = _created()
    sent_at: Mapped[dt.datetime | None] = mapped_column()
    dedupe_key: Mapped[str | None] = mapped_column(String(160))
    claimed_by: Mapped[str | None] = mapped_column(String(64))  # the delivering run (domain.outbox)
    render: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # a draft's words to be, as data
    # A text message (``channel`` sms, issue 18): the provider's id for it once accepted, and what
    # the provider last reported (``domain.sms.STATUSES``); ``sending`` while an attempt is on the wire.
    provider_ref: Mapped[str | None] = mapped_column(String(64), index=True)
    delivery_status: Mapped[str | None] = mapped_column(String(16))


class DunningAction(Base):
    """One policy step acted on (or skipped) for one invoice: at most once, ever.

    The unique key on (invoice_id, step_key) is what makes "never sends
    anything twice" a property of the database, not of careful code.
    """

    __tablename__ = "dunning_actions"
    __table_args__ = (UniqueConstraint("invoice_id", "step_key"),)

    id: Mapped[str] = _id("act")
    org_id: Mapped[str] = _org()
    invoice_id: Mapped[str] = mapped_column(String(40), ForeignKey("invoices.id"))
    customer_id: Mapped[str] = mapped_column(String(40), ForeignKey("customers.id"))
    step_key: Mapped[str] = mapped_column(String(64))
    step_kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # planned | skipped
    planned_on: Mapped[dt.date] = mapped_column()
    message_id: Mapped[str | None] = mapped_column(String(40), ForeignKey("outbox_messages.id"))
    created_at: Mapped[dt.datetime] = _created()

    # Declared so that one flush inserts a message before the actions that point at it.
    message: Mapped[OutboxMessage | None] = relationship(lazy="raise_on_sql")


class Document(Base):
    """A letter produced for a case (formal notice, collection dossier), kept as HTML."""

    __tablename__ = "documents"

    id: Mapped[str] = _id("doc")
    org_id: Mapped[str] = _org()
    customer_id: Mapped[str] = mapped_column(String(40), ForeignKey("customers.id"), index=True)
    invoice_id: Mapped[str | None] = mapped_column(String(40), ForeignKey("invoices.id"))
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = _created()


class Task(Base):
    """Work for a person, e.g. a call to the customer that a policy step asks for."""

    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_org_id_status", "org_id", "status"),)

    id: Mapped[str] = _id("tsk")
    org_id: Mapped[str] = _org()
    customer_id: Mapped[str] = mapped_column(String(40), ForeignKey("customers.id"))
    invoice_id: Mapped[str | None] = mapped_column(String(40), ForeignKey("invoices.id"))
    message_id: Mapped[str | None] = mapped_column(String(40), ForeignKey("outbox_messages.id"))
    kind: Mapped[str] = mapped_column(String(32), default="call")
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | done
    due_on: Mapped[dt.date | None] = mapped_column()
    outcome: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    promised_on: Mapped[dt.date | None] = mapped_column()
    created_at: Mapped[dt.datetime] = _created()
    completed_at: Mapped[dt.datetime | None] = mapped_column()

    message: Mapped[OutboxMessage | None] = relationship(lazy="raise_on_sql")


class DebtorRequest(Base):
    """What a debtor asked from the portal: a dispute, an extension, a promise to pay."""

    __tablename__ = "debtor_requests"
    # (org_id, customer_id): the statement page reads one debtor's latest requests on every view,
    # which the (org_id, status) index made a walk over every request of the organisation.
    __table_args__ = (
        Index("ix_debtor_requests_org_id_status", "org_id", "status"),
        Index("ix_debtor_requests_org_id_customer_id", "org_id", "customer_id"),
    )

    id: Mapped[str] = _id("req")
    org_id: Mapped[str] = _org()
    customer_id: Mapped[str] = mapped_column(String(40), ForeignKey("customers.id"))
    kind: Mapped[str] = mapped_column(String(16))  # dispute | extension | promise
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | accepted | rejected
    reason: Mapped[str | None] = mapped_column(String(100))
    message: Mapped[str | None] = mapped_column(Text)
    requested_date: Mapped[dt.date | None] = mapped_column()
    invoice_ids: Mapped[list[str]] = mapped_column(default=list)
    decision_note: Mapped[str | None] = mapped_column(Text)
    new_due_date: Mapped[dt.date | None] = mapped_column()
    created_at: Mapped[dt.datetime] = _created()
    resolved_at: Mapped[dt.datetime | None] = mapped_column()


class BankStatement(Base):
    """An imported bank statement file; the file's hash makes a re-import a no-op."""

    __tablename__ = "bank_statements"
    __table_args__ = (UniqueConstraint("org_id", "file_sha256"),)

    id: Mapped[str] = _id("bst")
    org_id: Mapped[str] = _org()
    format: Mapped[str] = mapped_column(String(16))
    statement_ref: Mapped[str | None] = mapped_column(String(100))
    account: Mapped[str | None] = mapped_column(String(64))
    file_name: Mapped[str | None] = mapped_column(String(255))
    file_sha256: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[dt.datetime] = _created()


class BankTransaction(Base):
    """One line of a bank statement. Only incoming credits can become payments."""

    __tablename__ = "bank_transactions"
    __table_args__ = (
        UniqueConstraint("org_id", "dedupe_key"),
        Index("ix_bank_transactions_org_id_status", "org_id", "status"),
    )

    id: Mapped[str] = _id("btx")
    org_id: Mapped[str] = _org()
    statement_id: Mapped[str] = mapped_column(String(40), ForeignKey("bank_statements.id"))
    dedupe_key: Mapped[str] = mapped_column(String(64))
    booking_date: Mapped[dt.date] = mapped_column()
    value_date: Mapped[dt.date | None] = mapped_column()
    amount_cents: Mapped[int] = mapped_column(BigInteger)  # signed: credits positive
    currency: Mapped[str] = mapped_column(String(3))
    counterparty_name: Mapped[str | None] = mapped_column(String(200))
    counterparty_iban: Mapped[str | None] = mapped_column(String(34))
    remittance: Mapped[str | None] = mapped_column(Text)
    structured_reference: Mapped[str | None] = mapped_column(String(64))
    end_to_end_id: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default="unmatched")
    payment_id: Mapped[str | None] = mapped_column(String(40), ForeignKey("payments.id"))
    created_at: Mapped[dt.datetime] = _created()

    # Declared so that one flush inserts the payment before the line that points at it.
    payment: Mapped[Payment | None] = relationship(lazy="raise_on_sql")


class Event(Base):
    """The append-only audit trail.

    The integer ``id`` orders the trail but is one sequence for all organisations, so it never
    leaves the server: the API shows ``public_id`` (random, per event) as the event's id and as
    the ``after`` cursor, and finds the position again by (``org_id``, ``public_id``).
    """

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_org_id_id", "org_id", "id"),
        Index("ux_events_org_id_public_id", "org_id", "public_id", unique=True),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(40), default=lambda: new_id("evt"), nullable=False)
    org_id: Mapped[str] = mapped_column(String(40), ForeignKey("organisations.id"), nullable=False)
    kind: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[str | None] = mapped_column(String(40))
    actor: Mapped[str | None] = mapped_column(String(100))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    occurred_at: Mapped[dt.datetime] = _created()


class IdempotencyRecord(Base):
    """The first response to a POST with an ``Idempotency-Key``, replayed for retries."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("org_id", "key"),)

    id: Mapped[str] = _id("idk")
    org_id: Mapped[str] = _org()
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column()
    response_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = _created()


class SchedulerRun(Base):
    """One ``settle run``: when, for which date, and what it did."""

    __tablename__ = "scheduler_runs"

    id: Mapped[str] = _id("run")
    org_id: Mapped[str | None] = mapped_column(String(40), ForeignKey("organisations.id"))
    as_of: Mapped[dt.date] = mapped_column()
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    started_at: Mapped[dt.datetime] = _created()
    finished_at: Mapped[dt.datetime | None] = mapped_column()


class PortalSessionRevoked(Base):
    """A portal session signed out before its cookie expired (``portal.session``).

    The cookie is still authentic until ``expires_at``, so its id is kept until then; rows past
    it are deleted when a later session signs out.
    """

    __tablename__ = "portal_sessions_revoked"

    session_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)


class Letter(Base):
    """A letter to be printed and posted (issue 18): one per letter document, in the day's print
    batch (``letter_date``) until the batch is marked posted.

    The letter itself is its ``Document``'s HTML, which renders to the same PDF again;
    ``pages`` is filled in when it is first rendered. ``posted_on`` is the day the batch went
    to the post: the day a waiting period that counts from posting counts from (``domain.letters``).
    """

    __tablename__ = "letters"
    __table_args__ = (
        Index("ix_letters_org_id_letter_date_status", "org_id", "letter_date", "status"),
        Index("ix_letters_org_id_customer_id", "org_id", "customer_id"),
    )

    id: Mapped[str] = _id("let")
    org_id: Mapped[str] = _org()
    customer_id: Mapped[str] = mapped_column(String(40), ForeignKey("customers.id"))
    document_id: Mapped[str] = mapped_column(String(40), ForeignKey("documents.id"), unique=True)
    message_id: Mapped[str | None] = mapped_column(String(40), ForeignKey("outbox_messages.id"))
    kind: Mapped[str] = mapped_column(String(32))
    letter_date: Mapped[dt.date] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | posted
    pages: Mapped[int | None] = mapped_column()
    invoice_ids: Mapped[list[str]] = mapped_column(default=list)
    invoice_numbers: Mapped[list[str]] = mapped_column(default=list)
    posted_on: Mapped[dt.date | None] = mapped_column()
    created_at: Mapped[dt.datetime] = _created()


# Payment arrangements live in their own module; imported here so that one metadata holds them.
from domain import arrangement_models  # noqa: E402, F401
