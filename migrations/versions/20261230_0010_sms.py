"""the SMS channel: phone opt-out and message delivery status (issue 18)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-30 10:00:00

Customers get ``sms_opt_out`` (the API, or a STOP reply); outbox rows get the provider's
id for an accepted text message (``provider_ref``, indexed: status webhooks look it up) and
the delivery status the provider last reported.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sms_opt_out", sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("provider_ref", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("delivery_status", sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f("ix_outbox_messages_provider_ref"), ["provider_ref"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_messages_provider_ref"))
        batch_op.drop_column("delivery_status")
        batch_op.drop_column("provider_ref")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("sms_opt_out")
