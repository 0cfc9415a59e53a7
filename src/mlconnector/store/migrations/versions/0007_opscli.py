"""opscli: a vendor can be marked as not trading by EDI (its POs are skipped, audited, never an exception)

Revision ID: 0007_opscli
Revises: 0006_console
Create Date: 2026-12-03 12:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_opscli"
down_revision = "0006_console"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("partner_mappings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("trades_by_edi", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("partner_mappings", schema=None) as batch_op:
        batch_op.drop_column("trades_by_edi")
