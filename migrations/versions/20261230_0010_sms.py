"""the SMS channel: phone opt-out and message delivery status (issue 18)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-30 10:00:00

Customers get ``sms_opt_out`` (the API, or a STOP reply) and an index on ``phone`` (a STOP
reply is looked up by its number); outbox rows get the provider's id for an accepted text
message (``provider_ref``, indexed: status webhooks look it up) and the delivery status the
provider last reported. Phones stored before are rewritten as E.164 where they are valid
numbers (read in the customer's country, else the organisation's), as intake now stores
them; one that is not valid is left as it was (it gets no text).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _phones_to_e164() -> None:
    import phonenumbers

    conn = op.get_bind()
    rows = conn.execute(sa.text(
        "SELECT c.id, c.phone, COALESCE(c.country, o.country, 'NL') FROM customers c"
        " JOIN organisations o ON o.id = c.org_id WHERE c.phone IS NOT NULL"
    )).all()  # fmt: skip
    changes = []
    for customer_id, phone, country in rows:
        try:
            parsed = phonenumbers.parse(phone, country)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
            if e164 != phone:
                changes.append({"b_id": customer_id, "b_phone": e164})
    if changes:
        conn.execute(sa.text("UPDATE customers SET phone = :b_phone WHERE id = :b_id"), changes)


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sms_opt_out", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index(batch_op.f("ix_customers_phone"), ["phone"], unique=False)
    _phones_to_e164()
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
        batch_op.drop_index(batch_op.f("ix_customers_phone"))
        batch_op.drop_column("sms_opt_out")
