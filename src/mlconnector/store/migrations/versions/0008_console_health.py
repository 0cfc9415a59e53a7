"""console health: the round trip of the last agent / Cleo probe, shown on the console's overview; an index for
the console's "waiting" filter (our 997s still to send)

Revision ID: 0008_console_health
Revises: 0007_opscli
Create Date: 2026-12-03 13:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_console_health"
down_revision = "0007_opscli"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("health_checks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_latency_ms", sa.Integer(), nullable=True))
    op.create_index("ix_inbound_ack_status_received", "inbound_documents", ["ack_status", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_inbound_ack_status_received", table_name="inbound_documents")
    with op.batch_alter_table("health_checks", schema=None) as batch_op:
        batch_op.drop_column("last_latency_ms")
