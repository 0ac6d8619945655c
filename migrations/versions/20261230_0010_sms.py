"""the SMS channel: phone opt-out and message delivery status (issue 18)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-30 10:00:00

A placeholder put in place before the work so that the four issues' migrations
chain in a fixed order; the issue's work fills in upgrade() and downgrade().
"""

from __future__ import annotations

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
