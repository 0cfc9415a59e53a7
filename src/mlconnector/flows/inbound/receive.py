"""Documents from Cleo: stored raw first (so nothing is lost), acknowledged in Cleo only after that, then processed.

This module receives every inbound message and reconciles 997 functional acknowledgments with the 850/860s they
answer (accepted, accepted with errors, rejected with the segment and element named; none in time → overdue).
Applying documents to Sage (855/856/810) and answering them with our 997 is `receiving`.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from mlconnector.cleo import CleoClient, Message
from mlconnector.store import Store
from mlconnector.store.models import InboundDocument, OutboundDocument, utcnow
from mlconnector.store.ops import audit, raise_exception, resolve_exceptions
from mlconnector.x12 import read_documents
from mlconnector.x12.documents import FunctionalAck, SetAck

FA_STATUS = {"A": "accepted", "E": "accepted_with_errors", "P": "accepted_with_errors", "R": "rejected"}
FA_REJECTED = "fa_rejected"
FA_OVERDUE = "fa_overdue"


def inbound_key(message: Message, payload: str) -> str:
    """partner + ISA13 when the interchange can be read, else the Cleo message id (still unique, still stored)."""
    received = read_documents(payload, lenient=True) if payload.lstrip("\ufeff \r\n").startswith("ISA") else []
    if received:
        return f"{message.partner}:{received[0].interchange_control}"
    return f"{message.partner}:cleo-{message.id}"


def receive(store: Store, cleo: CleoClient) -> list[str]:
    """Store every new inbound message, acknowledge it in Cleo, and return the documents still to process
    (never started, or interrupted while being applied)."""
    for message in list(cleo.iter_inbound()):
        payload = cleo.fetch_content(message)
        key = inbound_key(message, payload)
        with store.transaction() as session:
            known = session.scalars(select(InboundDocument.id).where(InboundDocument.idempotency_key == key)).first()
            if known is None:
                session.add(
                    InboundDocument(
                        idempotency_key=key,
                        document_type=message.document_type,
                        partner=message.partner,
                        cleo_message_id=message.id,
                        interchange_control=key.rsplit(":", 1)[1][:9],
                        status="received",
                        payload=payload,
                    )
                )
            audit(
                session,
                direction="IN",
                document_type=message.document_type,
                source_id=message.id,
                status="received" if known is None else "duplicate",
                idempotency_key=key,
                message=None if known is None else "Cleo delivered this interchange again; kept the first copy",
                payload=payload if known is None else None,
            )
        cleo.acknowledge(message)
    with store.transaction() as session:
        return list(
            session.scalars(
                select(InboundDocument.idempotency_key)
                .where(InboundDocument.status.in_(("received", "applying")))
                .order_by(InboundDocument.id)
            )
        )


def reconcile(session, partner: str, ack: FunctionalAck, *, source: str) -> None:  # type: ignore[no-untyped-def]
    """Set the FA status of the outbound set(s) a 997 answers (AK1 group + AK2 set)."""
    group = int(ack.group_control_number) if ack.group_control_number.isdigit() else -1
    rows = session.scalars(
        select(OutboundDocument).where(OutboundDocument.partner == partner, OutboundDocument.group_control == group)
    ).all()
    by_set: dict[str, SetAck] = {s.control_number: s for s in ack.sets}
    for row in rows:
        set_ack = by_set.get(row.set_control or "")
        code = set_ack.status if set_ack else ack.status
        row.fa_status = FA_STATUS.get(code, "accepted_with_errors")
        resolve_exceptions(session, kind=FA_OVERDUE, document_ref=f"PO:{row.po_number}")
        if row.fa_status == "rejected":
            raise_exception(
                session,
                kind=FA_REJECTED,
                what=f"{partner} rejected the {row.document_type} for PO {row.po_number}",
                why=_rejection_reason(set_ack, ack),
                suggested_fix="Correct the PO in Sage (a change resends it) or the partner set-up in Cleo, then "
                "resolve this exception.",
                document_ref=f"PO:{row.po_number}",
                details={"group": ack.group_control_number, "partner": partner},
            )
        audit(
            session,
            direction="IN",
            document_type="997",
            source_id=source,
            target_id=row.po_number,
            status=row.fa_status,
            idempotency_key=row.idempotency_key,
        )
    if not rows:
        audit(
            session,
            direction="IN",
            document_type="997",
            source_id=source,
            status="unmatched",
            message=f"997 for group {ack.group_control_number} matches no document sent to {partner}",
        )


def _rejection_reason(set_ack: SetAck | None, ack: FunctionalAck) -> str:
    if set_ack is None or not set_ack.segment_errors:
        codes = ", ".join((set_ack.error_codes if set_ack else ack.error_codes) or ()) or "none given"
        return f"The partner's 997 rejected the document (error codes: {codes})."
    parts = []
    for error in set_ack.segment_errors:
        elements = ", ".join(f"{error.segment_id}{e.position:02d} (AK4 code {e.code})" for e in error.elements)
        parts.append(
            f"segment {error.segment_id} at position {error.position} (AK3 code {error.code or '-'})"
            + (f": {elements}" if elements else "")
        )
    return "The partner's 997 rejected " + "; ".join(parts) + "."


def flag_overdue(store: Store, *, hours: float) -> int:
    """Sent documents with no 997 after `hours` → an `overdue` FA status and one exception each."""
    cutoff = utcnow() - timedelta(hours=hours)
    count = 0
    with store.transaction() as session:
        rows = session.scalars(
            select(OutboundDocument).where(OutboundDocument.status == "sent", OutboundDocument.fa_status == "waiting")
        ).all()
        for row in rows:
            sent = (
                row.sent_at if row.sent_at is None or row.sent_at.tzinfo else row.sent_at.replace(tzinfo=cutoff.tzinfo)
            )
            if sent is None or sent > cutoff:
                continue
            row.fa_status = "overdue"
            raise_exception(
                session,
                kind=FA_OVERDUE,
                what=f"No 997 from {row.partner} for PO {row.po_number}",
                why=f"The {row.document_type} was sent {sent:%Y-%m-%d %H:%M} UTC and no functional acknowledgment "
                f"came back within {hours:g} hours.",
                suggested_fix="Ask the partner whether the document arrived; `ml-connector replay` resends it safely.",
                document_ref=f"PO:{row.po_number}",
            )
            count += 1
    return count
