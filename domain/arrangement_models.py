"""The tables of payment arrangements (betalingsregelingen, issue 17), beside ``domain.models``.

- ``ArrangementTerms``: the limits under which a debtor's proposal is accepted without a
  person, per organisation (``policy_id`` NULL) and overridden per policy. No row: the
  defaults in ``domain.arrangements.DEFAULT_TERMS``.
- ``Arrangement``: one plan for some of a customer's invoices, with the terms that were
  agreed copied onto it (a later change of the organisation's terms never moves a plan
  under the debtor's feet). At most one live plan (``proposed`` or ``accepted``) per
  customer: a unique partial index, so two proposals racing cannot both land. A proposal
  waiting for a decision holds its invoices' dunning until ``held_until`` (the terms'
  ``decision_days`` after it was made).
- ``ArrangementInstalment``: one instalment; ``reminded_on``, ``missed_on`` are the days its
  messages were queued, set by compare-and-set so that each is sent once.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from domain.models import Base, _created, _id, _org, utcnow

LIVE = ("proposed", "accepted")


class ArrangementTerms(Base):
    __tablename__ = "arrangement_terms"
    __table_args__ = (
        UniqueConstraint("org_id", "policy_id"),
        Index(
            "ux_arrangement_terms_org_default",
            "org_id",
            unique=True,
            postgresql_where=text("policy_id IS NULL"),
            sqlite_where=text("policy_id IS NULL"),
        ),
    )

    id: Mapped[str] = _id("art")
    org_id: Mapped[str] = _org()
    policy_id: Mapped[str | None] = mapped_column(String(40), ForeignKey("policies.id"))
    allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    min_balance_cents: Mapped[int] = mapped_column(BigInteger)
    max_instalments: Mapped[int] = mapped_column()
    max_term_months: Mapped[int] = mapped_column()
    min_instalment_cents: Mapped[int] = mapped_column(BigInteger)
    intervals: Mapped[list[str]] = mapped_column()
    first_within_days: Mapped[int] = mapped_column()
    outside: Mapped[str] = mapped_column(String(16))  # review | not_offered
    reminder_days_before: Mapped[int] = mapped_column()
    missed_after_days: Mapped[int] = mapped_column()
    broken_after_days: Mapped[int] = mapped_column()
    decision_days: Mapped[int] = mapped_column(default=14, server_default=text("14"))
    created_at: Mapped[dt.datetime] = _created()
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Arrangement(Base):
    __tablename__ = "arrangements"
    __table_args__ = (
        Index("ix_arrangements_org_id_customer_id", "org_id", "customer_id"),
        Index("ix_arrangements_status", "status"),
        Index(
            "ux_arrangements_live_customer",
            "customer_id",
            unique=True,
            postgresql_where=text("status IN ('proposed', 'accepted')"),
            sqlite_where=text("status IN ('proposed', 'accepted')"),
        ),
    )

    id: Mapped[str] = _id("arr")
    org_id: Mapped[str] = _org()
    customer_id: Mapped[str] = mapped_column(String(40), ForeignKey("customers.id"))
    status: Mapped[str] = mapped_column(String(16))  # proposed accepted rejected cancelled broken completed
    origin: Mapped[str] = mapped_column(String(16))  # portal | api
    within_terms: Mapped[bool] = mapped_column(Boolean)
    outside_reasons: Mapped[list[str]] = mapped_column(default=list)
    invoice_ids: Mapped[list[str]] = mapped_column()
    currency: Mapped[str] = mapped_column(String(3))
    total_cents: Mapped[int] = mapped_column(BigInteger)
    paid_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    interval: Mapped[str] = mapped_column(String(8))  # weekly | monthly
    reminder_days_before: Mapped[int] = mapped_column()
    missed_after_days: Mapped[int] = mapped_column()
    broken_after_days: Mapped[int] = mapped_column()
    proposed_on: Mapped[dt.date] = mapped_column()
    decided_on: Mapped[dt.date | None] = mapped_column()
    ended_on: Mapped[dt.date | None] = mapped_column()
    held_until: Mapped[dt.date | None] = mapped_column()  # a proposal's hold on dunning ends this day
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = _created()
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ArrangementInstalment(Base):
    __tablename__ = "arrangement_instalments"
    __table_args__ = (UniqueConstraint("arrangement_id", "position"),)

    id: Mapped[str] = _id("ins")
    org_id: Mapped[str] = _org()
    arrangement_id: Mapped[str] = mapped_column(String(40), ForeignKey("arrangements.id"), index=True)
    position: Mapped[int] = mapped_column()
    due_date: Mapped[dt.date] = mapped_column()
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    paid_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | paid | missed
    paid_on: Mapped[dt.date | None] = mapped_column()
    reminded_on: Mapped[dt.date | None] = mapped_column()
    missed_on: Mapped[dt.date | None] = mapped_column()
