"""portal sessions revoked at sign-out; events get a random public id per event (issue 14)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-15 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "portal_sessions_revoked",
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_portal_sessions_revoked")),
    )
    op.create_index(op.f("ix_portal_sessions_revoked_expires_at"), "portal_sessions_revoked", ["expires_at"])

    # Events already written get a random public id: 26 hex characters after ``evt_`` (new ids
    # are ULIDs; both are opaque to API clients). Nothing derived from the shared integer id.
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("public_id", sa.String(length=40), nullable=True))
    if op.get_context().dialect.name == "postgresql":
        op.execute("UPDATE events SET public_id = 'evt_' || substr(md5(random()::text || clock_timestamp()::text"
                   " || id::text), 1, 26)")  # fmt: skip
    else:
        op.execute("UPDATE events SET public_id = 'evt_' || lower(hex(randomblob(13)))")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.alter_column("public_id", existing_type=sa.String(length=40), nullable=False)
        batch_op.create_index("ux_events_org_id_public_id", ["org_id", "public_id"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ux_events_org_id_public_id")
        batch_op.drop_column("public_id")
    op.drop_index(op.f("ix_portal_sessions_revoked_expires_at"), table_name="portal_sessions_revoked")
    op.drop_table("portal_sessions_revoked")
