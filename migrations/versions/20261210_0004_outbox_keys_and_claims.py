"""outbox: a unique key per customer and step, the delivering run's claim, a draft's render data

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-10 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dedupe_key", sa.String(length=160), nullable=True))
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("render", sa.JSON(), nullable=True))
        batch_op.create_index("ux_outbox_messages_dedupe_key", ["dedupe_key"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_index("ux_outbox_messages_dedupe_key")
        batch_op.drop_column("render")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("dedupe_key")
