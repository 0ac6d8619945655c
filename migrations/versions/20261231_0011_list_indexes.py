"""(org_id, id) indexes for the API's list pages of invoices, customers and payments

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-31 10:00:00

A page is ``WHERE org_id = ? [AND id > cursor] ORDER BY id LIMIT n``. With only the
single-column org_id index both SQLite and PostgreSQL read every row of the organisation
and sort them for each page; with (org_id, id) a page is n index entries in order.
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

INDEXES = (("ix_invoices_org_id_id", "invoices"), ("ix_customers_org_id_id", "customers"),
           ("ix_payments_org_id_id", "payments"))  # fmt: skip


def upgrade() -> None:
    for name, table in INDEXES:
        op.create_index(name, table, ["org_id", "id"], unique=False)


def downgrade() -> None:
    for name, table in INDEXES:
        op.drop_index(name, table_name=table)
