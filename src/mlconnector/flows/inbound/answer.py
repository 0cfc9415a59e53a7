"""Our answer to each inbound interchange — a 997 per group, and a TA1 when the envelope itself is in error —
rendered with its ISA13 in the transaction that starts the document, sent after; a restart resends the same
interchange (Cleo answers 409 for a known ICN), so the partner never gets two.

A TA1 goes only where the envelope still names the partner (ISA05–ISA08 readable); one too broken for that is
answered by nobody, and its exception says so."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from mlconnector.cleo import CleoClient, CleoError, SendResult
from mlconnector.flows.liveness import Backoff, classify, due, mark_ack_moved, mark_ack_waiting
from mlconnector.store import Store
from mlconnector.store.models import AckStatus, AuditEntry, InboundDocument, utcnow
from mlconnector.store.ops import allocate_control_numbers, audit, raise_exception
from mlconnector.x12 import functional_acks, interchange_ack_documents, interchange_acks, validate
from mlconnector.x12.report import INTERCHANGE, InterchangeResult

from .common import settle


class StoreControls:
    """The x12 `ControlNumbers` protocol over the store's per-partner counters, inside the caller's transaction."""

    def __init__(self, session: Session, partner: str) -> None:
        self.session, self.partner = session, partner
        self.first_interchange: int | None = None
        self._group: int | None = None

    def next_interchange(self) -> int:
        taken = allocate_control_numbers(self.session, self.partner)
        self._group = taken.group
        if self.first_interchange is None:
            self.first_interchange = taken.interchange
        return taken.interchange

    def next_group(self) -> int:
        if self._group is not None:
            group, self._group = self._group, None
            return group
        return allocate_control_numbers(self.session, self.partner).group


NOT_SENDABLE = "not_sendable"

UNADDRESSABLE = frozenset({"005", "006", "007", "008"})
"""TA1 note codes saying the envelope's sender or receiver ID cannot be read: a TA1 would go to nobody we know."""


def _unaddressable(ic: InterchangeResult) -> str | None:
    """Why a TA1 cannot be addressed to the sender of `ic` (None when it can)."""
    codes = {e.code for e in ic.errors if e.level == INTERCHANGE}
    if codes & UNADDRESSABLE or not ic.sender_id.strip() or not ic.receiver_id.strip():
        return "its envelope is too broken to know the partner's interchange IDs (ISA05–ISA08)"
    return None


def stage(session: Session, row: InboundDocument) -> None:
    """Render the TA1 (an envelope error) and the 997 for every non-997 group, with ISA13/GS06 taken from the
    partner's counters; both go to Cleo as one message, the TA1 interchange first."""
    controls = StoreControls(session, row.partner or "UNKNOWN")
    try:
        ta1 = _interchange_acks(row, controls)
        text = ta1 + functional_acks(row.payload, control_numbers=controls)
    except Exception as exc:  # any input at all must end as a record, never a crash
        row.ack_status = AckStatus.FAILED
        raise_exception(
            session,
            kind="ack_failed",
            what=f"No 997 or TA1 could be made for {row.partner}'s message {row.cleo_message_id}",
            why=f"The interchange could not be read well enough to answer: {type(exc).__name__}: {exc}",
            suggested_fix="Ask the partner to resend the file; the raw copy is kept in the audit log.",
            document_ref=f"997:{row.idempotency_key}",
            idempotency_key=row.idempotency_key,
        )
        return
    if not text or controls.first_interchange is None:
        row.ack_status = AckStatus.NOT_NEEDED
        return
    row.ack_status, row.ack_payload, row.ack_interchange = AckStatus.PENDING, text, controls.first_interchange


def _interchange_acks(row: InboundDocument, controls: StoreControls) -> str:
    """The TA1 interchange(s) for envelope errors, "" when none is due or the partner cannot be addressed (then the
    audit line says why). Control numbers are only taken for a TA1 that is sent."""
    due = interchange_ack_documents(validate(row.payload, lenient=True), only_errors=True)
    if not due:
        return ""
    blocked = [why for ic, _ in due if (why := _unaddressable(ic)) is not None]
    if blocked:
        audit(
            controls.session,
            direction="OUT",
            document_type="TA1",
            source_id=row.idempotency_key,
            status=NOT_SENDABLE,
            idempotency_key=row.idempotency_key,
            message=blocked[0],
        )
        return ""
    return interchange_acks(row.payload, control_numbers=controls, lenient=True, only_errors=True)


def answered(session: Session, row: InboundDocument) -> str:
    """In plain words, how the partner was told about this interchange (for an exception's why)."""
    if row.ack_payload:
        if ack_document_type(row.ack_payload) == "TA1":
            return "Our TA1 told the partner what is wrong with its interchange envelope."
        if _holds_ta1(row.ack_payload):
            return "Our TA1 and 997 told the partner what is wrong."
        return "Our 997 told the partner it was rejected."
    if row.ack_status == AckStatus.FAILED:
        return "No answer could be made for it (see the `ack_failed` exception)."
    blocked = session.scalar(
        select(AuditEntry.message).where(
            AuditEntry.idempotency_key == row.idempotency_key,
            AuditEntry.document_type == "TA1",
            AuditEntry.status == NOT_SENDABLE,
        )
    )
    return f"No 997 or TA1 could answer it: {blocked}." if blocked else ""


def _holds_ta1(payload: str) -> bool:
    """Whether our staged answer has a TA1 segment (right after an ISA, in the answer's own delimiters)."""
    if len(payload) < 106:
        return False
    return re.search(rf"{re.escape(payload[105])}\s*TA1{re.escape(payload[3])}", payload) is not None


def ack_document_type(payload: str) -> str:
    """ "997" when our staged answer holds a 997 group (perhaps after a TA1), "TA1" when it is a TA1 alone."""
    if len(payload) < 106:
        return "997"
    element = payload[3]
    return "997" if f"ST{element}997{element}" in payload else "TA1"


@dataclass(frozen=True)
class StagedAck:
    key: str
    partner: str
    payload: str
    icn: str
    document_type: str = "997"


def staged(row: InboundDocument) -> StagedAck | None:
    """Our 997 / TA1 waiting to be sent for this document, if any."""
    if row.ack_status != AckStatus.PENDING or row.ack_payload is None or row.ack_interchange is None:
        return None
    return StagedAck(
        row.idempotency_key,
        row.partner or "",
        row.ack_payload,
        f"{row.ack_interchange:09d}",
        ack_document_type(row.ack_payload),
    )


def deliver(store: Store, cleo: CleoClient, ack: StagedAck, backoff: Backoff | None = None) -> SendResult | None:
    """Post our 997 to Cleo; None when Cleo did not take it: a transient failure waits with its backoff (a `stalled`
    exception if Cleo stays away), a refusal is an `ack_not_sent` exception a clerk can retry."""
    try:
        return cleo.send_document(ack.partner, ack.payload, document_type=ack.document_type, icn=ack.icn)
    except CleoError as exc:
        failure = classify(exc)
        with store.transaction() as session:
            row = session.scalars(select(InboundDocument).where(InboundDocument.idempotency_key == ack.key)).one()
            if failure.transient:
                mark_ack_waiting(row, failure, backoff or Backoff(), utcnow())
                return None
            row.ack_status = AckStatus.FAILED
            mark_ack_moved(row)
            raise_exception(
                session,
                kind="ack_not_sent",
                what=f"Our {ack.document_type} for {ack.partner}'s interchange {ack.key.rsplit(':', 1)[1]} was refused "
                "by Cleo",
                why=f"Cleo did not take it: {exc}",
                suggested_fix="Check the partner's set-up in Cleo, then `ml-connector exceptions retry` this.",
                document_ref=f"997:{ack.key}",
                idempotency_key=ack.key,
            )
        return None


def mark_sent(session: Session, row: InboundDocument, ack: StagedAck, result: SendResult) -> None:
    """Record that Cleo has our 997 (in the caller's transaction)."""
    row.ack_status = AckStatus.SENT
    mark_ack_moved(row)
    settle(session, f"997:{ack.key}", set())
    audit(
        session,
        direction="OUT",
        document_type=ack.document_type,
        source_id=ack.key,
        target_id=result.message_id,
        status="already_sent" if result.already_sent else "sent",
        idempotency_key=f"{ack.partner}:{ack.icn}",
    )


def send(store: Store, cleo: CleoClient, key: str, backoff: Backoff | None = None) -> str:
    """Send the 997 staged for a document (again, after a crash: the same ICN, so Cleo keeps one)."""
    with store.transaction() as session:
        row = session.scalars(select(InboundDocument).where(InboundDocument.idempotency_key == key)).one()
        ack = staged(row)
        if ack is None:
            return row.ack_status
    result = deliver(store, cleo, ack, backoff)
    if result is None:
        with store.transaction() as session:
            return _row_ack_status(session, key)
    with store.transaction() as session:
        row = session.scalars(select(InboundDocument).where(InboundDocument.idempotency_key == key)).one()
        mark_sent(session, row, ack, result)
    return AckStatus.SENT


def pending(store: Store) -> list[str]:
    """Documents whose 997 Cleo has not taken yet and whose backoff is over."""
    with store.transaction() as session:
        return list(
            session.scalars(
                select(InboundDocument.idempotency_key).where(
                    InboundDocument.ack_status == AckStatus.PENDING, due(InboundDocument.ack_next_attempt_at, utcnow())
                )
            )
        )


def _row_ack_status(session: Session, key: str) -> str:
    return str(session.scalars(select(InboundDocument.ack_status).where(InboundDocument.idempotency_key == key)).one())
