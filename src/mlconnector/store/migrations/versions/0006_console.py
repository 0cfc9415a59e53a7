"""console: users of the web console, and indexes on what its screens search and sort by

Revision ID: 0006_console
Revises: 0005_observe
Create Date: 2026-12-03 12:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_console"
down_revision = "0005_observe"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_outbound_created", "outbound_documents", ["created_at", "document_type"]),
    ("ix_outbound_vendor_created", "outbound_documents", ["vendor_no", "created_at"]),
    ("ix_outbound_partner_created", "outbound_documents", ["partner", "created_at"]),
    ("ix_outbound_status_fa", "outbound_documents", ["status", "fa_status"]),
    ("ix_inbound_received", "inbound_documents", ["received_at", "document_type"]),
    ("ix_inbound_partner_received", "inbound_documents", ["partner", "received_at"]),
    ("ix_inbound_status_received", "inbound_documents", ["status", "received_at"]),
    ("ix_audit_source", "audit_log", ["source_id"]),
    ("ix_audit_target", "audit_log", ["target_id"]),
    ("ix_exceptions_created", "exceptions", ["created_at"]),
)


def upgrade() -> None:
    op.create_table(
        "console_users",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_console_users")),
    )
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_table("console_users")
