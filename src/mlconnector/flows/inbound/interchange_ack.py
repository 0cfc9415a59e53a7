"""TA1 from a partner: its verdict on a whole interchange we sent (nothing to write in Sage).

A rejected interchange never reached the partner's application, so no 997 will come: the outbound document's FA
status becomes `rejected` and an `interchange_rejected` exception names the partner's reason and what to check. An
accepted TA1 (A, or E: accepted with errors) is audited. Recorded in the transaction that stores the message.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from mlconnector.store.models import AuditEntry, FAStatus, OutboundDocument
from mlconnector.store.ops import audit, raise_exception, resolve_exceptions
from mlconnector.x12 import read_interchange_acks
from mlconnector.x12.documents import InterchangeAck

INTERCHANGE_REJECTED = "interchange_rejected"
FA_OVERDUE = "fa_overdue"

CHECKS: dict[str, str] = {
    "005": "our sender ID qualifier (ISA05) in the connector's settings",
    "006": "our sender ID (ISA06) in the connector's settings and the ID the partner has on file for us",
    "007": "the partner's receiver ID qualifier (ISA07) in its Cleo trading-partner record",
    "008": "the partner's receiver ID (ISA08) in its Cleo trading-partner record",
    "009": "the partner's receiver ID (ISA08) in its Cleo record: the partner does not know it",
    "025": "whether this interchange was sent twice under the same control number (ISA13)",
}
"""What a clerk checks for the TA1 note codes that point at our set-up; anything else is the envelope's format."""


def interchange_acks_in(payload: str) -> list[InterchangeAck]:
    """Every TA1 in a partner's file ([] without one); the cheap text test spares a second read of every file."""
    return read_interchange_acks(payload) if "TA1" in payload else []


def reconcile_interchange(session: Session, partner: str, ack: InterchangeAck, *, source: str) -> None:
    """Match a partner's TA1 to the interchange we sent it (partner + ISA13) and record its verdict."""
    icn = int(ack.interchange_control) if ack.interchange_control.isdigit() else -1
    rows = session.scalars(
        select(OutboundDocument).where(OutboundDocument.partner == partner, OutboundDocument.interchange_control == icn)
    ).all()
    if not rows:
        audit(
            session,
            direction="IN",
            document_type="TA1",
            source_id=source,
            status="unmatched",
            message=f"{ack.message}; no interchange {ack.interchange_control} was sent to {partner}",
        )
        return
    for row in rows:
        verdict = "accepted" if ack.status == "A" else "accepted_with_errors" if ack.accepted else "rejected"
        audit(
            session,
            direction="IN",
            document_type="TA1",
            source_id=source,
            target_id=row.po_number,
            status=verdict,
            idempotency_key=row.idempotency_key,
            message=ack.message,
        )
        if ack.accepted:
            continue
        row.fa_status = FAStatus.REJECTED
        resolve_exceptions(session, kind=FA_OVERDUE, document_ref=f"PO:{row.po_number}")
        raise_exception(
            session,
            kind=INTERCHANGE_REJECTED,
            what=f"{partner} rejected our interchange {ack.interchange_control} ({row.document_type} for PO "
            f"{row.po_number}) before reading it",
            why=f"{ack.message}. The partner did not process the {row.document_type}; no 997 will come for it.",
            suggested_fix=_fix(session, ack, row),
            document_ref=f"PO:{row.po_number}",
            idempotency_key=row.idempotency_key,
            details={"partner": partner, "interchange": ack.interchange_control, "note_code": ack.note_code},
        )


def _fix(session: Session, ack: InterchangeAck, row: OutboundDocument) -> str:
    check = CHECKS.get(ack.note_code, "the envelope settings for this partner (ISA and delimiters) in Cleo")
    staged = session.scalar(
        select(AuditEntry.id)
        .where(AuditEntry.idempotency_key == row.idempotency_key, AuditEntry.status == "staged")
        .order_by(AuditEntry.id)
    )
    replay = f"`ml-connector replay {staged}`" if staged is not None else "`ml-connector replay` with its audit line"
    return (
        f"Check {check}. Once corrected, send it again: {replay} (if Cleo answers that it already has this "
        f"interchange, change PO {row.po_number} in Sage and the connector sends a new version)."
    )
