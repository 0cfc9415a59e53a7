"""PO versions into the outbox and out to Cleo.

Staging runs in one store transaction per PO: the content hash is compared with the last version rendered for
the vendor, the partner's control numbers are allocated, the interchange is written, the outbox row, the PO's new
state and the audit line are added — all or nothing. A PO whose vendor has no trading partner is *held* (its Sage
content kept in the outbox row) with an exception, and is rendered by `release_held` as soon as it is mapped.
Sending posts the stored interchange with its ICN; Cleo answers a known ICN with 409, so a re-send after a crash
is recorded as sent, never duplicated.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mlconnector.cleo import CleoClient, CleoError
from mlconnector.flows.faults import FaultHook, no_fault
from mlconnector.flows.liveness import Backoff, classify, due, mark_moved, mark_waiting
from mlconnector.flows.purchase_orders import (
    Buyer,
    UnmappablePurchaseOrder,
    action_for,
    content_hash,
    document_for,
)
from mlconnector.sage.models import PurchaseOrder as SagePurchaseOrder
from mlconnector.store import Store
from mlconnector.store.models import (
    FAStatus,
    OutboundDocument,
    OutboundStatus,
    PartnerMapping,
    PurchaseOrderState,
    TradingPartner,
    utcnow,
)
from mlconnector.store.ops import (
    PreallocatedControls,
    allocate_control_numbers,
    audit,
    lock_control_numbers,
    partner_for_vendor,
    raise_exception,
    resolve_exceptions,
)
from mlconnector.x12 import write_interchange
from mlconnector.x12.documents import Delimiters, EnvelopeParties, PurchaseOrderChange, Purpose

UNMAPPED = "unmapped_vendor"
UNKNOWN_PARTNER = "unknown_partner"
REFUSED = "cleo_refused"
UNMAPPABLE = "unmappable_po"


@dataclass(frozen=True)
class Sender:
    """Our side of the interchange and the buyer party on every 850."""

    qualifier: str
    id: str
    application_id: str
    usage: str
    buyer: Buyer
    delimiters: Delimiters = field(default_factory=lambda: Delimiters(segment_suffix="\n"))


def envelope(sender: Sender, partner: TradingPartner) -> EnvelopeParties:
    return EnvelopeParties(
        sender_qualifier=sender.qualifier,
        sender_id=sender.id,
        receiver_qualifier=partner.isa_qualifier,
        receiver_id=partner.isa_id,
        application_sender=sender.application_id,
        application_receiver=partner.gs_id or partner.isa_id,
        usage=sender.usage,
        delimiters=sender.delimiters,
    )


def po_ref(po_number: str) -> str:
    return f"PO:{po_number}"


def _latest_held(session: Session, po_number: str) -> OutboundDocument | None:
    return session.scalars(
        select(OutboundDocument)
        .where(
            OutboundDocument.po_number == po_number,
            OutboundDocument.status.in_((OutboundStatus.HELD, OutboundStatus.SKIPPED)),
        )
        .order_by(OutboundDocument.id.desc())
    ).first()


def stage(
    session: Session,
    po: SagePurchaseOrder,
    *,
    sender: Sender,
    partners: Callable[[str], TradingPartner | None],
    departments: Mapping[str, str],
    fault: FaultHook = no_fault,
) -> OutboundDocument | None:
    """Stage one PO as read from Sage; returns the new outbox row (pending or held), or None when nothing changed."""
    digest = content_hash(po)
    state = session.get(PurchaseOrderState, po.purchase_order_no)
    held = _latest_held(session, po.purchase_order_no)
    if (state is not None and state.version_hash == digest) or (held is not None and held.version_hash == digest):
        return None
    if action_for(po, previously_sent=state is not None) is None:
        return None  # cancelled before the vendor ever saw it
    mapping = partner_for_vendor(session, po.vendor_key)
    if mapping is not None and not mapping.trades_by_edi:
        return _skip(session, po, digest, held)
    partner = partners(mapping.partner) if mapping else None
    if mapping is None or partner is None:
        return _hold(session, po, digest, held, mapping)
    return render(
        session, po, digest, mapping=mapping, partner=partner, sender=sender, departments=departments, fault=fault
    )


def _skip(session: Session, po: SagePurchaseOrder, digest: str, older: OutboundDocument | None) -> OutboundDocument:
    """A vendor that does not trade by EDI: the PO is recorded and audited as skipped, never sent, no exception."""
    row = _hold(session, po, digest, older, None, status=OutboundStatus.SKIPPED)
    audit(
        session,
        direction="OUT",
        document_type="850",
        source_id=po.purchase_order_no,
        status="skipped",
        idempotency_key=row.idempotency_key,
        message=f"vendor {po.vendor_key} does not trade by EDI; not sent",
    )
    return row


def _hold(
    session: Session,
    po: SagePurchaseOrder,
    digest: str,
    older: OutboundDocument | None,
    mapping: PartnerMapping | None,
    *,
    status: OutboundStatus = OutboundStatus.HELD,
) -> OutboundDocument:
    if older is not None:
        older.status = OutboundStatus.SUPERSEDED
    row = OutboundDocument(
        idempotency_key=f"{po.purchase_order_no}:{status}:{digest[:24]}",
        document_type="850",
        po_number=po.purchase_order_no,
        vendor_no=po.vendor_key,
        version_hash=digest,
        purpose=Purpose.ORIGINAL.value,
        status=status,
        source=po.model_dump_json(),
    )
    session.add(row)
    if status == OutboundStatus.SKIPPED:
        return row
    if mapping is None:
        raise_exception(
            session,
            kind=UNMAPPED,
            what=f"PO {po.purchase_order_no} is held: it was not sent to Cleo",
            why=f"Vendor {po.vendor_key} has no Cleo trading partner.",
            suggested_fix=f"ml-connector map vendor {po.vendor_key} PARTNER  (the PO goes out at the next run)",
            document_ref=po_ref(po.purchase_order_no),
            details={"vendor": po.vendor_key},
        )
    else:
        raise_exception(
            session,
            kind=UNKNOWN_PARTNER,
            what=f"PO {po.purchase_order_no} is held: it was not sent to Cleo",
            why=f"Vendor {po.vendor_key} is mapped to {mapping.partner}, but Cleo has no partner by that alias.",
            suggested_fix=f"Create {mapping.partner} in Cleo, or map the vendor to the right alias "
            f"(ml-connector map vendor {po.vendor_key} PARTNER); the PO goes out at the next run.",
            document_ref=po_ref(po.purchase_order_no),
            details={"vendor": po.vendor_key, "partner": mapping.partner},
        )
    audit(
        session,
        direction="OUT",
        document_type="850",
        source_id=po.purchase_order_no,
        status="held",
        idempotency_key=row.idempotency_key,
        message=f"vendor {po.vendor_key} has no usable trading partner",
    )
    return row


def render(
    session: Session,
    po: SagePurchaseOrder,
    digest: str,
    *,
    mapping: PartnerMapping,
    partner: TradingPartner,
    sender: Sender,
    departments: Mapping[str, str],
    fault: FaultHook = no_fault,
) -> OutboundDocument | None:
    """Turn a PO version into an interchange for `partner`, in the caller's transaction.

    A PO that cannot be expressed in X12 as it stands (say, a unit of measure with no X12 code) raises an
    exception record instead; it is staged again when it next changes in Sage.
    """
    # The caller's "is this version new?" check ran before any lock; a recovered tick and a new one (or two workers)
    # can stage the same Sage page at once. Take the partner's counter first, then read the PO's state again: a
    # version another run staged a moment ago is not rendered a second time as a "change" with a new ICN.
    lock_control_numbers(session, partner.alias)
    state = session.get(PurchaseOrderState, po.purchase_order_no, populate_existing=True)
    if state is not None and state.version_hash == digest:
        return None
    action = action_for(po, previously_sent=state is not None)
    if action is None:
        return None
    sequence = (state.sequence if state else 0) + 1
    previous = SagePurchaseOrder.model_validate_json(state.document) if state else None
    try:
        document = document_for(
            po,
            action,
            previous,
            change_document=mapping.change_document,
            buyer=sender.buyer,
            departments=departments,
            sequence=sequence,
        )
    except UnmappablePurchaseOrder as exc:
        raise_exception(
            session,
            kind=UNMAPPABLE,
            what=f"PO {po.purchase_order_no} cannot be written as an 850",
            why=str(exc),
            suggested_fix="Correct the PO (or the item) in Sage; the changed PO is sent at the next run.",
            document_ref=po_ref(po.purchase_order_no),
        )
        return None
    document_type = "860" if isinstance(document, PurchaseOrderChange) else "850"
    purpose = document.purpose
    controls = allocate_control_numbers(session, partner.alias)
    fault("after_allocating_control_numbers")
    payload = write_interchange([document], envelope(sender, partner), PreallocatedControls(controls))
    row = OutboundDocument(
        idempotency_key=f"{po.purchase_order_no}:{sequence}:{digest[:24]}",
        document_type=document_type,
        po_number=po.purchase_order_no,
        vendor_no=po.vendor_key,
        version_hash=digest,
        purpose=purpose.value,
        partner=partner.alias,
        interchange_control=controls.interchange,
        group_control=controls.group,
        set_control="0001",
        status=OutboundStatus.PENDING,
        fa_status=FAStatus.WAITING,
        payload=payload,
    )
    session.add(row)
    if state is None:
        session.add(
            PurchaseOrderState(
                po_number=po.purchase_order_no,
                vendor_no=po.vendor_key,
                version_hash=digest,
                sequence=sequence,
                status=po.order_status,
                document=po.model_dump_json(),
            )
        )
    else:
        state.version_hash, state.sequence, state.status = digest, sequence, po.order_status
        state.document = po.model_dump_json()
    resolve_exceptions(session, kind=(UNMAPPED, UNKNOWN_PARTNER, UNMAPPABLE), document_ref=po_ref(po.purchase_order_no))
    audit(
        session,
        direction="OUT",
        document_type=document_type,
        source_id=po.purchase_order_no,
        target_id=f"{partner.alias}/ISA{controls.interchange:09d}",
        status="staged",
        idempotency_key=row.idempotency_key,
        message=f"{action.value} ({document_type} purpose {purpose.value})",
        payload=payload,
    )
    return row


def release_held(
    session: Session,
    *,
    sender: Sender,
    partners: Callable[[str], TradingPartner | None],
    departments: Mapping[str, str],
    fault: FaultHook = no_fault,
) -> list[OutboundDocument]:
    """Render the held POs whose vendor now has a trading partner."""
    released = []
    for row in session.scalars(select(OutboundDocument).where(OutboundDocument.status == OutboundStatus.HELD)).all():
        mapping = partner_for_vendor(session, row.vendor_no)
        partner = partners(mapping.partner) if mapping else None
        if mapping is None or partner is None:
            continue
        po = SagePurchaseOrder.model_validate_json(row.source or "{}")
        row.status = OutboundStatus.RELEASED
        rendered = render(
            session,
            po,
            row.version_hash,
            mapping=mapping,
            partner=partner,
            sender=sender,
            departments=departments,
            fault=fault,
        )
        if rendered is not None:
            released.append(rendered)
    return released


def outbox_row(session: Session, key: str) -> OutboundDocument:
    return session.scalars(select(OutboundDocument).where(OutboundDocument.idempotency_key == key)).one()


def pending_work(session: Session, now: datetime | None = None) -> list[str]:
    """Outbox rows due to be sent (never tried, or their backoff is over), as `key#attempt`: a new attempt gets a
    new workflow id, so a failed one is never handed back as final."""
    rows = session.execute(
        select(OutboundDocument.idempotency_key, OutboundDocument.attempts)
        .where(
            OutboundDocument.status == OutboundStatus.PENDING, due(OutboundDocument.next_attempt_at, now or utcnow())
        )
        .order_by(OutboundDocument.id)
    )
    return [f"{key}#{attempts}" for key, attempts in rows]


def send(
    store: Store, cleo: CleoClient, work: str, backoff: Backoff | None = None, *, fault: FaultHook = no_fault
) -> str:
    """Send one outbox row; safe to repeat (the ICN makes Cleo answer a second post with 409).

    A transient failure (see `liveness.FAILURES`) leaves the row pending with its backoff: "deferred"."""
    key = work.rsplit("#", 1)[0]
    with store.transaction() as session:
        row = outbox_row(session, key)
        if row.status != OutboundStatus.PENDING:
            return row.status
        partner, payload, icn = row.partner, row.payload, f"{row.interchange_control:09d}"
        document_type, po_number = row.document_type, row.po_number
    assert partner and payload
    try:
        result = cleo.send_document(partner, payload, document_type=document_type, icn=icn)
    except CleoError as exc:
        failure = classify(exc)
        with store.transaction() as session:
            row = outbox_row(session, key)
            if failure.transient:
                mark_waiting(row, failure, backoff or Backoff(), utcnow())
                audit(
                    session,
                    direction="OUT",
                    document_type=document_type,
                    source_id=po_number,
                    status="deferred",
                    idempotency_key=key,
                    message=f"Cleo unavailable, retried from {row.next_attempt_at:%H:%M:%S} UTC: {exc}",
                )
                return "deferred"
            row.status = OutboundStatus.FAILED
            mark_moved(row)
            raise_exception(
                session,
                kind=REFUSED,
                what=f"Cleo refused the {document_type} for PO {po_number}",
                why=f"Cleo answered {getattr(exc, 'status', '?')}: {exc}",
                suggested_fix="Fix the cause in Cleo (its answer is above), then `ml-connector exceptions retry` this "
                "exception to send it again; if the PO itself is wrong, correct it in Sage (the corrected PO is sent "
                "at the next run) and resolve this exception.",
                document_ref=po_ref(po_number),
                idempotency_key=key,
            )
            audit(
                session,
                direction="OUT",
                document_type=document_type,
                source_id=po_number,
                status="refused",
                idempotency_key=key,
                message=str(exc),
            )
        return "failed"
    fault("after_post_before_recording")
    with store.transaction() as session:
        row = outbox_row(session, key)
        row.status, row.sent_at, row.cleo_message_id = OutboundStatus.SENT, utcnow(), result.message_id
        mark_moved(row)
        audit(
            session,
            direction="OUT",
            document_type=document_type,
            source_id=po_number,
            target_id=result.message_id,
            status="sent",
            idempotency_key=key,
            message="Cleo already had this ICN (409): recorded as sent" if result.already_sent else None,
        )
    return "sent"
