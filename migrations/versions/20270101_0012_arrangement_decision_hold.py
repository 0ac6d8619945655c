"""a proposed payment plan holds dunning while it waits for a decision

Revision ID: 0012
Revises: 0011
Create Date: 2027-01-01 10:00:00

``arrangement_terms.decision_days``: how long a debtor's proposal waiting for the back
office's decision holds its invoices' dunning (14 for terms stored before this, the default).
``arrangements.held_until``: the day that hold ends for a proposed plan (NULL for a plan
accepted at once, and for plans made before this: they were never held while proposed).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("arrangement_terms") as batch:
        batch.add_column(sa.Column("decision_days", sa.Integer(), nullable=False, server_default=sa.text("14")))
    with op.batch_alter_table("arrangements") as batch:
        batch.add_column(sa.Column("held_until", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("arrangements") as batch:
        batch.drop_column("held_until")
    with op.batch_alter_table("arrangement_terms") as batch:
        batch.drop_column("decision_days")
