"""What an operator asks first: how many documents are where, what is waiting, what went wrong, when things ran."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from mlconnector.store import Store
from mlconnector.store.models import (
    AuditEntry,
    ExceptionRecord,
    ExceptionStatus,
    InboundDocument,
    OutboundDocument,
    OutboundStatus,
)


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
                select(AuditEntry.document_type, func.max(AuditEntry.at)).group_by(AuditEntry.document_type)
            ).all()
        )
    return status
