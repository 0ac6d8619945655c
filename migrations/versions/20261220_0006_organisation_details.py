"""organisations: KvK, VAT and enterprise numbers and the country (issue 15)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-20 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kvk_number", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("vat_number", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("enterprise_number", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("country", sa.String(length=2), server_default="NL", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_column("country")
        batch_op.drop_column("enterprise_number")
        batch_op.drop_column("vat_number")
        batch_op.drop_column("kvk_number")
