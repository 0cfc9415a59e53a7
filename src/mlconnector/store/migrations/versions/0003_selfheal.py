"""selfheal: per-document backoff (attempts, next attempt, last error, what it waits on) for outbound rows,
inbound documents and our 997s

Revision ID: 0003_selfheal
Revises: 0002
Create Date: 2026-12-03 12:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_selfheal"
down_revision = "0002"
branch_labels = None
depends_on = None


def _backoff_columns() -> list[sa.Column]:
    return [
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("waiting_on", sa.String(length=24), nullable=True),
        sa.Column("waiting_since", sa.DateTime(timezone=True), nullable=True),
    ]


def upgrade() -> None:
    with op.batch_alter_table("outbound_documents", schema=None) as batch_op:
        for column in _backoff_columns():
            batch_op.add_column(column)
        batch_op.create_index(batch_op.f("ix_outbound_documents_next_attempt_at"), ["next_attempt_at"], unique=False)
    with op.batch_alter_table("inbound_documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        for column in _backoff_columns():
            batch_op.add_column(column)
        batch_op.add_column(sa.Column("ack_attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("ack_next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("ack_last_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("ack_waiting_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_inbound_documents_next_attempt_at"), ["next_attempt_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("inbound_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbound_documents_next_attempt_at"))
        for name in ("ack_waiting_since", "ack_last_error", "ack_next_attempt_at", "ack_attempts", "attempts"):
            batch_op.drop_column(name)
        for name in ("waiting_since", "waiting_on", "last_error", "next_attempt_at"):
            batch_op.drop_column(name)
    with op.batch_alter_table("outbound_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbound_documents_next_attempt_at"))
        for name in ("waiting_since", "waiting_on", "last_error", "next_attempt_at"):
            batch_op.drop_column(name)
