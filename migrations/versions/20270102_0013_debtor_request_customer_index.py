"""(org_id, customer_id) index on debtor_requests for the statement page

Revision ID: 0013
Revises: 0012
Create Date: 2027-01-02 10:00:00

The statement page's read model (``domain.statement.read``) takes one debtor's latest requests
on every view. With only ``(org_id, status)`` PostgreSQL and SQLite walked every request of the
organisation and filtered the customer out of them.
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_debtor_requests_org_id_customer_id", "debtor_requests", ["org_id", "customer_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_debtor_requests_org_id_customer_id", table_name="debtor_requests")
