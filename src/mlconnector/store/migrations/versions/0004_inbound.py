"""inbound: receipts written to Sage and not yet posted (the receipt register runs once per poll)

Revision ID: 0004_inbound
Revises: 0003_selfheal
Create Date: 2026-12-03 12:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_inbound"
down_revision = "0003_selfheal"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sage_receipts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("sage_key", sa.String(length=200), nullable=False),
        sa.Column("source_key", sa.String(length=200), nullable=False),
        sa.Column("receipt_type", sa.String(length=1), nullable=False),
        sa.Column("receipt_no", sa.String(length=16), nullable=False),
        sa.Column("po_number", sa.String(length=32), nullable=False),
        sa.Column("quantities", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sage_receipts")),
        sa.UniqueConstraint("sage_key", name=op.f("uq_sage_receipts_sage_key")),
    )
    op.create_index(op.f("ix_sage_receipts_po_number"), "sage_receipts", ["po_number"], unique=False)
    op.create_index(op.f("ix_sage_receipts_status"), "sage_receipts", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_sage_receipts_status"), table_name="sage_receipts")
    op.drop_index(op.f("ix_sage_receipts_po_number"), table_name="sage_receipts")
    op.drop_table("sage_receipts")
