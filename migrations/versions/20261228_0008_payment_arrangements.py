"""payment arrangements and their instalments (issue 17)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-28 10:00:00

A placeholder put in place before the work so that the four issues' migrations
chain in a fixed order; the issue's work fills in upgrade() and downgrade().
"""

from __future__ import annotations

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
