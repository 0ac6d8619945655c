"""printable letters and print batches (issue 18)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-29 10:00:00

A placeholder put in place before the work so that the four issues' migrations
chain in a fixed order; the issue's work fills in upgrade() and downgrade().
"""

from __future__ import annotations

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
