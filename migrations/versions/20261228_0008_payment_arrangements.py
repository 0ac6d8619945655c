"""payment arrangements and their instalments (issue 17)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-28 10:00:00

Three new tables (``domain.arrangement_models``): the organisation's and its policies' terms
for plans, the plans, and their instalments. Nothing existing changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)
_BIG = sa.BigInteger()


def upgrade() -> None:
    op.create_table(
        "arrangement_terms",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("policy_id", sa.String(length=40), nullable=True),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("min_balance_cents", _BIG, nullable=False),
        sa.Column("max_instalments", sa.Integer(), nullable=False),
        sa.Column("max_term_months", sa.Integer(), nullable=False),
        sa.Column("min_instalment_cents", _BIG, nullable=False),
        sa.Column("intervals", sa.JSON(), nullable=False),
        sa.Column("first_within_days", sa.Integer(), nullable=False),
        sa.Column("outside", sa.String(length=16), nullable=False),
        sa.Column("reminder_days_before", sa.Integer(), nullable=False),
        sa.Column("missed_after_days", sa.Integer(), nullable=False),
        sa.Column("broken_after_days", sa.Integer(), nullable=False),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("updated_at", _TZ, nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_arrangement_terms_org_id_organisations")),
        sa.ForeignKeyConstraint(["policy_id"], ["policies.id"], name=op.f("fk_arrangement_terms_policy_id_policies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arrangement_terms")),
        sa.UniqueConstraint("org_id", "policy_id", name=op.f("uq_arrangement_terms_org_id_policy_id")),
    )
    op.create_index(op.f("ix_arrangement_terms_org_id"), "arrangement_terms", ["org_id"])
    op.create_index("ux_arrangement_terms_org_default", "arrangement_terms", ["org_id"], unique=True,
                    postgresql_where=sa.text("policy_id IS NULL"), sqlite_where=sa.text("policy_id IS NULL"))
    op.create_table(
        "arrangements",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("within_terms", sa.Boolean(), nullable=False),
        sa.Column("outside_reasons", sa.JSON(), nullable=False),
        sa.Column("invoice_ids", sa.JSON(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total_cents", _BIG, nullable=False),
        sa.Column("paid_cents", _BIG, nullable=False),
        sa.Column("interval", sa.String(length=8), nullable=False),
        sa.Column("reminder_days_before", sa.Integer(), nullable=False),
        sa.Column("missed_after_days", sa.Integer(), nullable=False),
        sa.Column("broken_after_days", sa.Integer(), nullable=False),
        sa.Column("proposed_on", sa.Date(), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("updated_at", _TZ, nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_arrangements_customer_id_customers")),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"], name=op.f("fk_arrangements_org_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arrangements")),
    )
    op.create_index(op.f("ix_arrangements_org_id"), "arrangements", ["org_id"])
    op.create_index("ix_arrangements_org_id_customer_id", "arrangements", ["org_id", "customer_id"])
    op.create_index("ix_arrangements_status", "arrangements", ["status"])
    live = sa.text("status IN ('proposed', 'accepted')")
    op.create_index("ux_arrangements_live_customer", "arrangements", ["customer_id"], unique=True,
                    postgresql_where=live, sqlite_where=live)
    op.create_table(
        "arrangement_instalments",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("arrangement_id", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("amount_cents", _BIG, nullable=False),
        sa.Column("paid_cents", _BIG, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.Column("reminded_on", sa.Date(), nullable=True),
        sa.Column("missed_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["arrangement_id"], ["arrangements.id"],
                                name=op.f("fk_arrangement_instalments_arrangement_id_arrangements")),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"],
                                name=op.f("fk_arrangement_instalments_org_id_organisations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_arrangement_instalments")),
        sa.UniqueConstraint("arrangement_id", "position", name=op.f("uq_arrangement_instalments_arrangement_id_position")),
    )
    op.create_index(op.f("ix_arrangement_instalments_arrangement_id"), "arrangement_instalments", ["arrangement_id"])
    op.create_index(op.f("ix_arrangement_instalments_org_id"), "arrangement_instalments", ["org_id"])


def downgrade() -> None:
    op.drop_table("arrangement_instalments")
    op.drop_index("ux_arrangements_live_customer", table_name="arrangements")
    op.drop_table("arrangements")
    op.drop_index("ux_arrangement_terms_org_default", table_name="arrangement_terms")
    op.drop_table("arrangement_terms")
