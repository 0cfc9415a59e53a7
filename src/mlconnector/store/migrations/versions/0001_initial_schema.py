"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26 14:31:13.344732
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("document_type", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.String(length=200), nullable=False),
        sa.Column("target_id", sa.String(length=200), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("payload_hash", sa.String(length=64), nullable=True),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_idempotency_key"), ["idempotency_key"], unique=False)

    op.create_table(
        "control_numbers",
        sa.Column("partner", sa.String(length=64), nullable=False),
        sa.Column("last_interchange", sa.Integer(), nullable=False),
        sa.Column("last_group", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("partner", name=op.f("pk_control_numbers")),
    )
    op.create_table(
        "credentials",
        sa.Column("tenant", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("nonce", sa.LargeBinary(length=12), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "name", name=op.f("pk_credentials")),
    )
    op.create_table(
        "cursors",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_cursors")),
    )
    op.create_table(
        "exceptions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("what", sa.String(length=300), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column("suggested_fix", sa.Text(), nullable=False),
        sa.Column("document_ref", sa.String(length=200), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("retries", sa.Integer(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exceptions")),
    )
    with op.batch_alter_table("exceptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exceptions_document_ref"), ["document_ref"], unique=False)
        batch_op.create_index(batch_op.f("ix_exceptions_kind"), ["kind"], unique=False)
        batch_op.create_index("ix_exceptions_open_per_document", ["kind", "document_ref", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_exceptions_status"), ["status"], unique=False)

    op.create_table(
        "gl_accounts",
        sa.Column("account_key", sa.String(length=32), nullable=False),
        sa.Column("account", sa.String(length=32), nullable=False),
        sa.Column("main_account", sa.String(length=16), nullable=False),
        sa.Column("division", sa.String(length=16), nullable=True),
        sa.Column("department", sa.String(length=16), nullable=True),
        sa.Column("description", sa.String(length=120), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_key", name=op.f("pk_gl_accounts")),
    )
    with op.batch_alter_table("gl_accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gl_accounts_account"), ["account"], unique=False)

    op.create_table(
        "inbound_documents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("business_key", sa.String(length=200), nullable=True),
        sa.Column("document_type", sa.String(length=8), nullable=False),
        sa.Column("partner", sa.String(length=64), nullable=True),
        sa.Column("cleo_message_id", sa.String(length=64), nullable=True),
        sa.Column("interchange_control", sa.String(length=9), nullable=True),
        sa.Column("group_control", sa.String(length=9), nullable=True),
        sa.Column("set_control", sa.String(length=9), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_documents")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_inbound_documents_idempotency_key")),
    )
    with op.batch_alter_table("inbound_documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbound_documents_business_key"), ["business_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_inbound_documents_cleo_message_id"), ["cleo_message_id"], unique=False)

    op.create_table(
        "outbound_documents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("document_type", sa.String(length=8), nullable=False),
        sa.Column("po_number", sa.String(length=32), nullable=False),
        sa.Column("vendor_no", sa.String(length=32), nullable=False),
        sa.Column("version_hash", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=2), nullable=False),
        sa.Column("partner", sa.String(length=64), nullable=True),
        sa.Column("interchange_control", sa.Integer(), nullable=True),
        sa.Column("group_control", sa.Integer(), nullable=True),
        sa.Column("set_control", sa.String(length=9), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("fa_status", sa.String(length=24), nullable=False),
        sa.Column("cleo_message_id", sa.String(length=64), nullable=True),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_documents")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbound_documents_idempotency_key")),
        sa.UniqueConstraint("partner", "interchange_control", name="uq_outbound_documents_partner_isa"),
    )
    with op.batch_alter_table("outbound_documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbound_documents_po_number"), ["po_number"], unique=False)
        batch_op.create_index("ix_outbound_group", ["partner", "group_control"], unique=False)

    op.create_table(
        "partner_mappings",
        sa.Column("vendor_no", sa.String(length=32), nullable=False),
        sa.Column("partner", sa.String(length=64), nullable=False),
        sa.Column("change_document", sa.String(length=8), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("vendor_no", name=op.f("pk_partner_mappings")),
    )
    op.create_table(
        "purchase_order_state",
        sa.Column("po_number", sa.String(length=32), nullable=False),
        sa.Column("vendor_no", sa.String(length=32), nullable=False),
        sa.Column("version_hash", sa.String(length=64), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("po_number", name=op.f("pk_purchase_order_state")),
    )
    op.create_table(
        "trading_partners",
        sa.Column("alias", sa.String(length=64), nullable=False),
        sa.Column("cleo_id", sa.String(length=64), nullable=True),
        sa.Column("isa_qualifier", sa.String(length=2), nullable=False),
        sa.Column("isa_id", sa.String(length=15), nullable=False),
        sa.Column("gs_id", sa.String(length=15), nullable=True),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("alias", name=op.f("pk_trading_partners")),
    )


def downgrade() -> None:
    op.drop_table("trading_partners")
    op.drop_table("purchase_order_state")
    op.drop_table("partner_mappings")
    with op.batch_alter_table("outbound_documents", schema=None) as batch_op:
        batch_op.drop_index("ix_outbound_group")
        batch_op.drop_index(batch_op.f("ix_outbound_documents_po_number"))

    op.drop_table("outbound_documents")
    with op.batch_alter_table("inbound_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbound_documents_cleo_message_id"))
        batch_op.drop_index(batch_op.f("ix_inbound_documents_business_key"))

    op.drop_table("inbound_documents")
    with op.batch_alter_table("gl_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gl_accounts_account"))

    op.drop_table("gl_accounts")
    with op.batch_alter_table("exceptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exceptions_status"))
        batch_op.drop_index("ix_exceptions_open_per_document")
        batch_op.drop_index(batch_op.f("ix_exceptions_kind"))
        batch_op.drop_index(batch_op.f("ix_exceptions_document_ref"))

    op.drop_table("exceptions")
    op.drop_table("cursors")
    op.drop_table("credentials")
    op.drop_table("control_numbers")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_idempotency_key"))
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))

    op.drop_table("audit_log")
