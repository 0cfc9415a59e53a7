"""Documents from Cleo: stored raw first (so nothing is lost), acknowledged in Cleo only after that, then processed.

This module receives every inbound message and reconciles 997 functional acknowledgments with the 850/860s they
answer (accepted, accepted with errors, rejected with the segment and element named; none in time → overdue), and
a partner's TA1s with the interchanges they answer (`interchange_ack`, recorded as the message is stored).
Applying documents to Sage (855/856/810) and answering them with our 997 is `receiving`.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from datetime import timedelta

from sqlalchemy import select

from mlconnector.cleo import CleoClient, CleoError, Message
from mlconnector.cleo.client import interchange_control_number
from mlconnector.flows.liveness import due
from mlconnector.store import Store
from mlconnector.store.models import InboundDocument, OutboundDocument, utcnow
from mlconnector.store.ops import audit, insert_for, raise_exception, resolve_exceptions
from mlconnector.x12 import read_documents
from mlconnector.x12.documents import FunctionalAck, InterchangeAck, SetAck

from .interchange_ack import interchange_acks_in, reconcile_interchange

FA_STATUS = {"A": "accepted", "E": "accepted_with_errors", "P": "accepted_with_errors", "R": "rejected"}
FA_REJECTED = "fa_rejected"
FA_OVERDUE = "fa_overdue"


UNREADABLE = "unreadable_document"
log = logging.getLogger("mlconnector.inbound")


def inbound_key(message: Message, payload: str) -> str:
    """partner + ISA13 when the interchange can be read, else the Cleo message id (still unique, still stored)."""
    return _read_envelope(message, payload)[0]


def _read_envelope(message: Message, payload: str) -> tuple[str, list[InterchangeAck], bool]:
    """(key, the TA1s in it, whether it holds any transaction set)."""
    x12 = payload.lstrip("\ufeff \r\n").startswith("ISA")
    received = read_documents(payload, lenient=True) if x12 else []
    tas = interchange_acks_in(payload) if x12 else []
    if received:
        return f"{message.partner}:{received[0].interchange_control}", tas, True
    if tas:  # a TA1 alone: keyed by its own interchange, like every other message
        with suppress(ValueError):
            return f"{message.partner}:{interchange_control_number(payload)}", tas, False
    return f"{message.partner}:cleo-{message.id}", tas, False


def _guarded_key(message: Message, payload: str) -> tuple[str, str | None, list[InterchangeAck], bool]:
    """(key, None, TA1s, has sets), or (the Cleo-message key, why, [], False) when the X12 layer cannot even read
    the envelope: whatever it raises, one bad file must never stop the poll for every partner."""
    try:
        key, tas, has_sets = _read_envelope(message, payload)
    except Exception as exc:  # any input at all: a record, never a stopped poll
        return f"{message.partner}:cleo-{message.id}", f"{type(exc).__name__}: {exc}", [], False
    return key, None, tas, has_sets


def _storable(payload: str) -> str:
    """PostgreSQL text cannot hold NUL; everything else is kept exactly as Cleo delivered it."""
    return payload.replace("\x00", "\ufffd")


def receive(store: Store, cleo: CleoClient) -> list[str]:
    """Store every new inbound message, acknowledge it in Cleo, and return the documents due to process (never
    started, interrupted, or retried after a transient failure), as `key#attempt` for their workflow ids.

    A message that cannot be read is stored raw as an `unreadable_document` exception and acknowledged, so it blocks
    nothing; if Cleo stops answering mid-poll, the rest is read at the next poll."""
    try:
        for message in list(cleo.iter_inbound()):
            _receive_one(store, cleo, message)
    except CleoError as exc:
        log.warning("inbound poll stopped early, the rest is read next time: %s", exc)
    return due_documents(store)


def due_documents(store: Store) -> list[str]:
    with store.transaction() as session:
        rows = session.execute(
            select(InboundDocument.idempotency_key, InboundDocument.attempts)
            .where(InboundDocument.status.in_(("received", "applying")), due(InboundDocument.next_attempt_at, utcnow()))
            .order_by(InboundDocument.id)
        ).all()
    return [f"{key}#{attempts}" for key, attempts in rows]


def _receive_one(store: Store, cleo: CleoClient, message: Message) -> None:
    payload = _storable(cleo.fetch_content(message))
    key, unreadable, tas, has_sets = _guarded_key(message, payload)
    # A TA1 alone needs nothing from Sage: its verdict is recorded here, with the message, and it is done.
    ta1_only = bool(tas) and not has_sets
    with store.transaction() as session:
        # An upsert: a recovered tick and a new one may store the same message at the same moment.
        stmt = insert_for(session)(InboundDocument).values(
            idempotency_key=key,
            document_type=message.document_type or "X12",
            partner=message.partner,
            cleo_message_id=message.id,
            interchange_control=key.rsplit(":", 1)[1][:9],
            status="exception" if unreadable is not None else "applied" if ta1_only else "received",
            ack_status="failed" if unreadable is not None else "not_needed" if ta1_only else "none",
            payload=payload,
            received_at=utcnow(),
            processed_at=None if unreadable is None and not ta1_only else utcnow(),
            attempts=0,
            ack_attempts=0,
        )
        inserted = session.execute(
            stmt.on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(InboundDocument.id)
        ).first()
        audit(
            session,
            direction="IN",
            document_type=message.document_type or "X12",
            source_id=message.id,
            status=("received" if unreadable is None else "unreadable") if inserted else "duplicate",
            idempotency_key=key,
            message=(unreadable if inserted else "Cleo delivered this interchange again; kept the first copy"),
            payload=payload if inserted else None,
        )
        if inserted:
            for ta1 in tas:  # in this transaction: stored once, recorded once
                reconcile_interchange(session, message.partner, ta1, source=key)
        if inserted and unreadable is not None:
            raise_exception(
                session,
                kind=UNREADABLE,
                what=f"A message from {message.partner} could not be read (Cleo message {message.id})",
                why=f"Its X12 envelope is damaged, so it cannot be read or answered with a 997 or a TA1 (the "
                f"partner's interchange IDs cannot be read from it: {unreadable}). "
                "Nothing was written to Sage; every other message went on.",
                suggested_fix="Ask the partner to send the document again; the raw copy is kept "
                "(`ml-connector audit list`). Then resolve this exception.",
                document_ref=f"X12:{key}",
                idempotency_key=key,
                details={"partner": message.partner, "cleo_message": message.id},
            )
    cleo.acknowledge(message)


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
