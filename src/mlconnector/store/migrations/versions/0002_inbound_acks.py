"""inbound: our 997 per inbound interchange, and the supplier's 855 answer per PO line

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 15:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ack_status", sa.String(length=16), nullable=False, server_default="none"))
        batch_op.add_column(sa.Column("ack_interchange", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("ack_payload", sa.Text(), nullable=True))
    op.create_table(
        "po_line_acks",
        sa.Column("po_number", sa.String(length=32), nullable=False),
        sa.Column("line_number", sa.String(length=16), nullable=False),
        sa.Column("partner", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.String(length=4), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("quantity", sa.String(length=24), nullable=True),
        sa.Column("unit_price", sa.String(length=24), nullable=True),
        sa.Column("promised_date", sa.String(length=10), nullable=True),
        sa.Column("source_key", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("po_number", "line_number", name=op.f("pk_po_line_acks")),
    )


def downgrade() -> None:
    op.drop_table("po_line_acks")
    with op.batch_alter_table("inbound_documents", schema=None) as batch_op:
        batch_op.drop_column("ack_payload")
        batch_op.drop_column("ack_interchange")
        batch_op.drop_column("ack_status")
