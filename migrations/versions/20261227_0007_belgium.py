"""customers' country and regular supply, OGM references (issue 16)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-27 10:00:00

The customers' columns come first; issue 16's work adds what else it needs here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("country", sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column("regular_supply", sa.Boolean(), server_default=sa.false(), nullable=False))
    # A policy may apply another country's law than its organisation's (None: the organisation's).
    with op.batch_alter_table("policies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("law", sa.String(length=2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("policies", schema=None) as batch_op:
        batch_op.drop_column("law")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("regular_supply")
        batch_op.drop_column("country")
