"""printable letters and print batches (issue 18)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-29 10:00:00

``letters``: one row per letter document to print and post, with its day's batch, its
status (pending, posted) and the day it was posted.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('letters',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('org_id', sa.String(length=40), nullable=False),
    sa.Column('customer_id', sa.String(length=40), nullable=False),
    sa.Column('document_id', sa.String(length=40), nullable=False),
    sa.Column('message_id', sa.String(length=40), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('letter_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('pages', sa.Integer(), nullable=True),
    sa.Column('invoice_ids', sa.JSON(), nullable=False),
    sa.Column('invoice_numbers', sa.JSON(), nullable=False),
    sa.Column('posted_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_letters_customer_id_customers')),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_letters_document_id_documents')),
    sa.ForeignKeyConstraint(['message_id'], ['outbox_messages.id'], name=op.f('fk_letters_message_id_outbox_messages')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_letters_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_letters')),
    sa.UniqueConstraint('document_id', name=op.f('uq_letters_document_id'))
    )
    with op.batch_alter_table('letters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_letters_org_id'), ['org_id'], unique=False)
        batch_op.create_index('ix_letters_org_id_customer_id', ['org_id', 'customer_id'], unique=False)
        batch_op.create_index('ix_letters_org_id_letter_date_status', ['org_id', 'letter_date', 'status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('letters', schema=None) as batch_op:
        batch_op.drop_index('ix_letters_org_id_letter_date_status')
        batch_op.drop_index('ix_letters_org_id_customer_id')
        batch_op.drop_index(batch_op.f('ix_letters_org_id'))
    op.drop_table('letters')
