"""The connector's own state, one schema for SQLite (one box) and PostgreSQL (many workers).

Every table exists to keep a guarantee: cursors so a poll never loses a change, outbound/inbound documents keyed by
idempotency keys so nothing is sent or applied twice, control numbers allocated in the same transaction as the
outbox row, an append-only audit log for replay, and exceptions a clerk can read and retry.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class OutboundStatus(StrEnum):
    """Where an outbox row is: see `OutboundDocument`."""

    HELD = "held"
    PENDING = "pending"
    SENT = "sent"
    SUPERSEDED = "superseded"
    RELEASED = "released"
    FAILED = "failed"
    SKIPPED = "skipped"  # the vendor does not trade by EDI: recorded and audited, never sent


class FAStatus(StrEnum):
    """The partner's 997 for an outbound document."""

    NONE = "none"
    WAITING = "waiting"
    ACCEPTED = "accepted"
    ACCEPTED_WITH_ERRORS = "accepted_with_errors"
    REJECTED = "rejected"
    OVERDUE = "overdue"


class InboundStatus(StrEnum):
    """received → applying (Sage writes may have started; a restart checks Sage by key first) → applied |
    duplicate | exception."""

    RECEIVED = "received"
    APPLYING = "applying"
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    EXCEPTION = "exception"


OPEN_INBOUND = (InboundStatus.RECEIVED, InboundStatus.APPLYING)
"""Documents still to work on: never started, or started and interrupted (Sage may already hold part of it)."""


class AckStatus(StrEnum):
    """Our 997 answering an inbound interchange."""

    NONE = "none"
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    NOT_NEEDED = "not_needed"


class ExceptionStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class PostingStatus(StrEnum):
    """A receipt the connector wrote to Sage: pending in receipt entry, or posted by the receipt register."""

    WRITTEN = "written"
    POSTED = "posted"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Cursor(Base):
    """Where a poll of Sage (POs, vendors) left off; `value` is Sage's DateUpdated+TimeUpdated watermark."""

    __tablename__ = "cursors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class OutboundDocument(Base):
    """One PO version on its way to Cleo (the outbox row). Key: PO number + version sequence + content hash.

    `status`: held (no trading partner yet; `source` keeps the Sage PO), pending (rendered, control numbers taken),
    sent, superseded (a newer version replaced a held one), failed (Cleo refused it), skipped (the vendor does not
    trade by EDI; audited, never sent, no exception).
    """

    __tablename__ = "outbound_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    document_type: Mapped[str] = mapped_column(String(8))
    po_number: Mapped[str] = mapped_column(String(32), index=True)
    vendor_no: Mapped[str] = mapped_column(String(32))
    version_hash: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(2))
    partner: Mapped[str | None] = mapped_column(String(64))
    interchange_control: Mapped[int | None] = mapped_column(Integer)
    group_control: Mapped[int | None] = mapped_column(Integer)
    set_control: Mapped[str | None] = mapped_column(String(9))
    status: Mapped[str] = mapped_column(String(16), default=OutboundStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    fa_status: Mapped[str] = mapped_column(String(24), default=FAStatus.NONE)
    cleo_message_id: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Backoff after a transient failure (see flows/liveness.py): due again at next_attempt_at; `attempts` is also
    # part of the workflow id, so a new attempt is a new workflow while Cleo's ICN check keeps the effect once.
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    waiting_on: Mapped[str | None] = mapped_column(String(24))
    waiting_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("partner", "interchange_control", name="uq_outbound_documents_partner_isa"),
        Index("ix_outbound_group", "partner", "group_control"),
    )


class PurchaseOrderState(Base):
    """The last PO version rendered for Cleo, so a re-read without change sends nothing and a change can be
    described line by line (860) against what the vendor already has."""

    __tablename__ = "purchase_order_state"

    po_number: Mapped[str] = mapped_column(String(32), primary_key=True)
    vendor_no: Mapped[str] = mapped_column(String(32))
    version_hash: Mapped[str] = mapped_column(String(64))
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16))
    document: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class InboundDocument(Base):
    """One transaction set received from Cleo, stored raw before anything else happens to it."""

    __tablename__ = "inbound_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    business_key: Mapped[str | None] = mapped_column(String(200), index=True)
    document_type: Mapped[str] = mapped_column(String(8))
    partner: Mapped[str | None] = mapped_column(String(64))
    cleo_message_id: Mapped[str | None] = mapped_column(String(64), index=True)
    interchange_control: Mapped[str | None] = mapped_column(String(9))
    group_control: Mapped[str | None] = mapped_column(String(9))
    set_control: Mapped[str | None] = mapped_column(String(9))
    status: Mapped[str] = mapped_column(String(16), default=InboundStatus.RECEIVED)
    payload: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Our 997 answering the interchange: rendered with its ISA13 in the same transaction that decides it, so a
    # restart resends the same interchange (Cleo answers 409 for a known ICN) instead of a second one.
    ack_status: Mapped[str] = mapped_column(String(16), default=AckStatus.NONE)
    ack_interchange: Mapped[int | None] = mapped_column(Integer)
    ack_payload: Mapped[str | None] = mapped_column(Text)
    # Backoff after a transient failure applying the document (see flows/liveness.py); `attempts` is part of the
    # workflow id, so a new attempt is a new workflow while the keys stored in Sage keep every write once.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    waiting_on: Mapped[str | None] = mapped_column(String(24))
    waiting_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The same for sending our 997 (always waiting on Cleo).
    ack_attempts: Mapped[int] = mapped_column(Integer, default=0)
    ack_next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ack_last_error: Mapped[str | None] = mapped_column(Text)
    ack_waiting_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SageReceipt(Base):
    """A receipt of goods (G) or of invoice (I) the connector wrote to Sage, until the receipt register posts it.

    The register (a heavy batch job in Sage) runs once per inbound poll for all of them, not once per document.
    The row is recorded in the same transaction as the document's outcome; a receipt written to Sage before a crash
    is found again by its key when the document is resumed, and recorded then. Unposted quantities count as
    received/invoiced when the next ASN or invoice for the PO is matched.
    """

    __tablename__ = "sage_receipts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sage_key: Mapped[str] = mapped_column(String(200), unique=True)
    source_key: Mapped[str] = mapped_column(String(200))
    receipt_type: Mapped[str] = mapped_column(String(1))
    receipt_no: Mapped[str] = mapped_column(String(16))
    po_number: Mapped[str] = mapped_column(String(32), index=True)
    quantities: Mapped[dict[str, float]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=PostingStatus.WRITTEN, index=True)
    written_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    posted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PurchaseOrderLineAck(Base):
    """The supplier's latest answer (855) for one PO line: the buyer sees what was accepted, changed or refused."""

    __tablename__ = "po_line_acks"

    po_number: Mapped[str] = mapped_column(String(32), primary_key=True)
    line_number: Mapped[str] = mapped_column(String(16), primary_key=True)
    partner: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[str] = mapped_column(String(4))
    status: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[str | None] = mapped_column(String(24))
    unit_price: Mapped[str | None] = mapped_column(String(24))
    promised_date: Mapped[str | None] = mapped_column(String(10))
    source_key: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class AuditEntry(Base):
    """Append-only: every step, both directions, enough to replay safely."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    direction: Mapped[str] = mapped_column(String(3))
    document_type: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[str] = mapped_column(String(200))
    target_id: Mapped[str | None] = mapped_column(String(200))
    idempotency_key: Mapped[str | None] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(32))
    message: Mapped[str | None] = mapped_column(Text)
    payload_hash: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[str | None] = mapped_column(Text)


class ControlNumberCounter(Base):
    """Per-partner ISA13 / GS06 counters; incremented inside the outbox transaction."""

    __tablename__ = "control_numbers"

    partner: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_interchange: Mapped[int] = mapped_column(Integer, default=0)
    last_group: Mapped[int] = mapped_column(Integer, default=0)


class PartnerMapping(Base):
    """Sage vendor number → Cleo trading partner, and how that partner wants PO changes (860 or 850 BEG01 05)."""

    __tablename__ = "partner_mappings"

    vendor_no: Mapped[str] = mapped_column(String(32), primary_key=True)
    partner: Mapped[str] = mapped_column(String(64))
    change_document: Mapped[str] = mapped_column(String(8), default="850")
    # False: the vendor does not trade by EDI (`map not-edi`); its POs are skipped and audited, `partner` is empty.
    trades_by_edi: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class TradingPartner(Base):
    """What Cleo knows of a trading partner (looked up once by alias): its interchange IDs for the envelope."""

    __tablename__ = "trading_partners"

    alias: Mapped[str] = mapped_column(String(64), primary_key=True)
    cleo_id: Mapped[str | None] = mapped_column(String(64))
    isa_qualifier: Mapped[str] = mapped_column(String(2))
    isa_id: Mapped[str] = mapped_column(String(15))
    gs_id: Mapped[str | None] = mapped_column(String(15))
    refreshed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class GLAccount(Base):
    """The GL cache (pulled every 4 h): accounts with their main-division-department (cost centre) segments."""

    __tablename__ = "gl_accounts"

    account_key: Mapped[str] = mapped_column(String(32), primary_key=True)
    account: Mapped[str] = mapped_column(String(32), index=True)
    main_account: Mapped[str] = mapped_column(String(16))
    division: Mapped[str | None] = mapped_column(String(16))
    department: Mapped[str | None] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(String(120), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    refreshed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ExceptionRecord(Base):
    """One shape for every exception: what, why in plain words, the document, the suggested fix."""

    __tablename__ = "exceptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(48), index=True)
    what: Mapped[str] = mapped_column(String(300))
    why: Mapped[str] = mapped_column(Text)
    suggested_fix: Mapped[str] = mapped_column(Text)
    document_ref: Mapped[str] = mapped_column(String(200), index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=ExceptionStatus.OPEN, index=True)
    retries: Mapped[int] = mapped_column(Integer, default=0)
    details: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_exceptions_open_per_document", "kind", "document_ref", "status"),)


class Credential(Base):
    """A vault entry: AES-GCM ciphertext bound to (tenant, name); never plain text."""

    __tablename__ = "credentials"

    tenant: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(16))
    nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class AlertSent(Base):
    """One cause told on one channel. `cleared_at` is set when the cause goes away, so its return alerts again."""

    __tablename__ = "alerts_sent"

    cause: Mapped[str] = mapped_column(String(200), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    kind: Mapped[str] = mapped_column(String(48))
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    cleared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class HealthCheck(Base):
    """The last probe of the agent or Cleo, and since when it has been failing (None while it answers)."""

    __tablename__ = "health_checks"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    failing_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Round trip of the last probe in milliseconds (answered or failed), for the console's health tile.
    last_latency_ms: Mapped[int | None] = mapped_column(Integer)


class ConsoleUser(Base):
    """A person who may sign in to the web console: an Argon2id password hash (never the password) and a role."""

    __tablename__ = "console_users"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# What the web console searches and sorts by (documents search, PO timeline), so it stays fast on 100,000 documents.
Index("ix_outbound_created", OutboundDocument.created_at, OutboundDocument.document_type)
Index("ix_outbound_vendor_created", OutboundDocument.vendor_no, OutboundDocument.created_at)
Index("ix_outbound_partner_created", OutboundDocument.partner, OutboundDocument.created_at)
Index("ix_outbound_status_fa", OutboundDocument.status, OutboundDocument.fa_status)
Index("ix_inbound_received", InboundDocument.received_at, InboundDocument.document_type)
Index("ix_inbound_partner_received", InboundDocument.partner, InboundDocument.received_at)
Index("ix_inbound_status_received", InboundDocument.status, InboundDocument.received_at)
Index(
    "ix_inbound_ack_status_received", InboundDocument.ack_status, InboundDocument.received_at
)  # 0008: our 997s waiting
Index("ix_audit_source", AuditEntry.source_id)
Index("ix_audit_target", AuditEntry.target_id)
Index("ix_exceptions_created", ExceptionRecord.created_at)
