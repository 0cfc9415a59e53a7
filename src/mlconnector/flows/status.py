"""What an operator asks first: how many documents are where, what is waiting, what went wrong, when things ran."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mlconnector.flows.liveness import OPEN_INBOUND, aware
from mlconnector.store import Store
from mlconnector.store.models import (
    AuditEntry,
    ExceptionRecord,
    ExceptionStatus,
    InboundDocument,
    OutboundDocument,
    OutboundStatus,
    utcnow,
)

DONE = ("sent", "received", "published", "synced", "cached", "invoiced", "replayed")
"""Audit statuses that mean a document actually moved: `last 850` is the last one sent, not the last one held."""


@dataclass
class StoreStatus:
    outbound: dict[str, int] = field(default_factory=dict)
    fa_status: dict[str, int] = field(default_factory=dict)
    inbound: dict[str, int] = field(default_factory=dict)
    open_exceptions: dict[str, int] = field(default_factory=dict)
    last_activity: dict[str, datetime] = field(default_factory=dict)

    @property
    def exceptions_total(self) -> int:
        return sum(self.open_exceptions.values())


def store_status(store: Store) -> StoreStatus:
    status = StoreStatus()
    with store.transaction() as session:
        status.outbound = dict(
            session.execute(select(OutboundDocument.status, func.count()).group_by(OutboundDocument.status)).all()
        )
        status.fa_status = dict(
            session.execute(
                select(OutboundDocument.fa_status, func.count())
                .where(OutboundDocument.status == OutboundStatus.SENT)
                .group_by(OutboundDocument.fa_status)
            ).all()
        )
        status.inbound = dict(
            session.execute(select(InboundDocument.status, func.count()).group_by(InboundDocument.status)).all()
        )
        status.open_exceptions = dict(
            session.execute(
                select(ExceptionRecord.kind, func.count())
                .where(ExceptionRecord.status == ExceptionStatus.OPEN)
                .group_by(ExceptionRecord.kind)
            ).all()
        )
        status.last_activity = dict(
            session.execute(
                select(AuditEntry.document_type, func.max(AuditEntry.at))
                .where(AuditEntry.status.in_(DONE))
                .group_by(AuditEntry.document_type)
            ).all()
        )
    return status


WAITING_KINDS = (
    (
        "outbound (to Cleo)",
        OutboundDocument.status == "pending",
        OutboundDocument.created_at,
        OutboundDocument.waiting_on,
        OutboundDocument.last_error,
        OutboundDocument.next_attempt_at,
        OutboundDocument.waiting_since,
    ),
    (
        "inbound (into Sage)",
        InboundDocument.status.in_(OPEN_INBOUND),
        InboundDocument.received_at,
        InboundDocument.waiting_on,
        InboundDocument.last_error,
        InboundDocument.next_attempt_at,
        InboundDocument.waiting_since,
    ),
    (
        "our 997s (to Cleo)",
        InboundDocument.ack_status == "pending",
        InboundDocument.received_at,
        InboundDocument.ack_waiting_since,
        InboundDocument.ack_last_error,
        InboundDocument.ack_next_attempt_at,
        InboundDocument.ack_waiting_since,
    ),
)
"""Per kind: what is open, when it arrived, what it waits on, its last error, when it is due, since when."""


@dataclass(frozen=True)
class WaitingDocuments:
    """Documents of one kind not yet final: how many, how long the oldest has waited, how many are retrying after a
    transient failure, the last error, and when the next retry is due."""

    kind: str
    waiting: int
    oldest_age: timedelta
    retrying: int
    last_error: str | None
    next_attempt: datetime | None


def waiting_documents(store: Store, now: datetime | None = None) -> list[WaitingDocuments]:
    """Outbound rows still to send, inbound documents still to apply, our 997s still to send (empty: all moved)."""
    now = now or utcnow()
    with store.transaction() as session:
        return waiting_in(session, now)


def waiting_in(session: Session, now: datetime) -> list[WaitingDocuments]:
    """`waiting_documents` inside the caller's session (the web console's overview reads it in its own)."""
    found = []
    for kind, is_open, created, failed, error, next_at, since in WAITING_KINDS:
        count, oldest = session.execute(select(func.count(), func.min(created)).where(is_open)).one()
        if not count:
            continue
        retrying, next_attempt = session.execute(
            select(func.count(), func.min(next_at)).where(is_open, failed.is_not(None))
        ).one()
        last_error = session.scalars(
            select(error).where(is_open, error.is_not(None)).order_by(since.desc()).limit(1)
        ).first()
        oldest_at = aware(oldest) or now
        found.append(
            WaitingDocuments(
                kind=kind,
                waiting=count,
                oldest_age=max(timedelta(0), now - oldest_at),
                retrying=retrying,
                last_error=last_error if retrying else None,
                next_attempt=aware(next_attempt),
            )
        )
    return found
