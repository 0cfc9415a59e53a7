"""Every read the console makes, one function per screen, each taking the caller's session.

Kept in one module on purpose: a tenant filter is added here once and every screen follows.

"Waiting" means what the liveness work (flows/liveness.py, flows/status.py) means: an outbound row still to send
(`pending`), an inbound document still to apply (`received`/`applying`), or our 997 still to send (`ack_status`
pending), each with its attempts, next attempt, last error and what it waits on; plus POs held because their
vendor has no trading partner yet (they wait on a mapping, shown on the Partners screen). `_waiting_out` and
`_waiting_in` are the one place that says so.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, or_, select, union
from sqlalchemy.orm import Session

from mlconnector.flows.liveness import OPEN_INBOUND, PLAIN, STALLED, Cause
from mlconnector.flows.status import WaitingDocuments, waiting_in
from mlconnector.store.models import (
    AuditEntry,
    ExceptionRecord,
    HealthCheck,
    InboundDocument,
    OutboundDocument,
    PartnerMapping,
    PurchaseOrderLineAck,
)

STOPPED_IN = ("received", "applying", "exception")
"""Received documents that have not reached Sage (still to apply, or stopped on an exception)."""
HELD_WAITS_ON = "a trading partner (vendor not mapped)"


def _waiting_out() -> Any:
    return OutboundDocument.status.in_(("pending", "held"))


def _waiting_in() -> Any:
    return or_(InboundDocument.status.in_(OPEN_INBOUND), InboundDocument.ack_status == "pending")


def waits_on(cause: str | None) -> str:
    """A stored cause (`waiting_on`) in a clerk's words."""
    if not cause:
        return ""
    try:
        return PLAIN[Cause(cause)][0]
    except ValueError:
        return cause


PAGE_SIZE = 50
CHART_DAYS = 14


def _as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes (stored as UTC); PostgreSQL aware ones."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


# ---------------------------------------------------------------------------------------------------- overview


@dataclass
class Overview:
    today: dict[tuple[str, str], int]
    week: dict[tuple[str, str], int]
    exceptions_by_kind: list[tuple[str, int]]
    exceptions_by_partner: list[tuple[str, int]]
    fa_status: dict[str, int]
    waiting_kinds: list[WaitingDocuments]
    held: int
    stalled: list[ExceptionRecord]
    waiting: list[DocumentRow]
    per_day: list[tuple[date, int, int]]
    next_runs: list[tuple[str, datetime, int]]
    recent: list[AuditEntry] = field(default_factory=list)
    last_contact: dict[str, datetime | None] = field(default_factory=dict)
    health: dict[str, HealthCheck] = field(default_factory=dict)

    @property
    def open_exceptions(self) -> int:
        return sum(n for _, n in self.exceptions_by_kind)

    @property
    def types(self) -> list[tuple[str, str]]:
        return sorted(set(self.today) | set(self.week))


def overview(
    session: Session, now: datetime, schedule: dict[str, int], next_run: Callable[[int, datetime], datetime]
) -> Overview:
    """The first screen: volumes, open exceptions, 997 status of our POs, what is waiting, what runs next."""
    today_start = _day_start(now.date())
    week_start = _day_start(now.date() - timedelta(days=6))
    chart_start = _day_start(now.date() - timedelta(days=CHART_DAYS - 1))

    def by_type(start: datetime) -> dict[tuple[str, str], int]:
        counts: dict[tuple[str, str], int] = {}
        for doc_type, n in session.execute(
            select(OutboundDocument.document_type, func.count())
            .where(OutboundDocument.created_at >= start)
            .group_by(OutboundDocument.document_type)
        ):
            counts[("OUT", doc_type)] = n
        for doc_type, n in session.execute(
            select(InboundDocument.document_type, func.count())
            .where(InboundDocument.received_at >= start)
            .group_by(InboundDocument.document_type)
        ):
            counts[("IN", doc_type)] = n
        return counts

    per_day: dict[date, list[int]] = {chart_start.date() + timedelta(days=i): [0, 0] for i in range(CHART_DAYS)}
    for index, (column, model) in enumerate(
        ((OutboundDocument.created_at, OutboundDocument), (InboundDocument.received_at, InboundDocument))
    ):
        day = func.date(column)
        for value, n in session.execute(
            select(day, func.count()).select_from(model).where(column >= chart_start).group_by(day)
        ):
            key = value if isinstance(value, date) else date.fromisoformat(str(value))
            if key in per_day:
                per_day[key][index] = n

    open_rows = _open_exception_partners(session)
    kinds = Counter(kind for kind, _ in open_rows)
    partners = Counter(partner for _, partner in open_rows)
    fa = dict(
        session.execute(
            select(OutboundDocument.fa_status, func.count())
            .where(OutboundDocument.status == "sent")
            .group_by(OutboundDocument.fa_status)
        ).all()
    )
    held = session.scalar(select(func.count()).where(OutboundDocument.status == "held")) or 0
    stalled = list(
        session.scalars(
            select(ExceptionRecord)
            .where(ExceptionRecord.kind == STALLED, ExceptionRecord.status == "open")
            .order_by(ExceptionRecord.id)
        )
    )
    waiting = search_documents(session, DocumentFilter(waiting=True), page=1, page_size=10).rows
    recent = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(8)))
    last_contact = {what: _last(session, where) for what, where in CONTACT_EVIDENCE.items()}
    health = {h.name: h for h in session.scalars(select(HealthCheck).order_by(HealthCheck.name))}
    return Overview(
        today=by_type(today_start),
        week=by_type(week_start),
        exceptions_by_kind=sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])),
        exceptions_by_partner=sorted(partners.items(), key=lambda kv: (-kv[1], kv[0]))[:10],
        fa_status=fa,
        waiting_kinds=waiting_in(session, now),
        held=held,
        stalled=stalled,
        waiting=waiting,
        per_day=[(d, out, inn) for d, (out, inn) in sorted(per_day.items())],
        next_runs=[(job, next_run(seconds, now), seconds) for job, seconds in schedule.items()],
        recent=recent,
        last_contact=last_contact,
        health=health,
    )


# Audit lines that prove a system answered: Cleo took a document or handed one over; Sage (through the agent)
# took a receipt, an invoice or an 855 note, or gave us its GL chart. The newest one is the last good contact.
CONTACT_EVIDENCE: dict[str, Any] = {
    "Cleo": or_(
        and_(AuditEntry.direction == "OUT", AuditEntry.status.in_(("sent", "published", "synced"))),
        and_(AuditEntry.direction == "IN", AuditEntry.status == "received", AuditEntry.payload_hash.is_not(None)),
    ),
    "Sage (agent)": or_(
        AuditEntry.status.in_(("invoiced", "already_in_sage", "cached")),
        and_(AuditEntry.document_type == "856", AuditEntry.target_id.is_not(None)),
    ),
}


def _last(session: Session, where: Any) -> datetime | None:
    """Newest first by id, so a busy log answers from its last pages."""
    return _as_utc(session.scalar(select(AuditEntry.at).where(where).order_by(AuditEntry.id.desc()).limit(1)))


def _open_exception_partners(session: Session) -> list[tuple[str, str]]:
    """(kind, partner) of every open exception; the partner from its inbound document or its PO."""
    rows = session.execute(
        select(ExceptionRecord.kind, ExceptionRecord.document_ref, ExceptionRecord.idempotency_key).where(
            ExceptionRecord.status == "open"
        )
    ).all()
    partner_of = _partners_for(session, [(ref, key) for _, ref, key in rows])
    return [(kind, partner_of.get((ref, key), "(none)")) for kind, ref, key in rows]


def _partners_for(session: Session, refs: list[tuple[str, str | None]]) -> dict[tuple[str, str | None], str]:
    keys = {key for _, key in refs if key}
    pos = {ref[3:] for ref, _ in refs if ref.startswith("PO:")}
    by_key: dict[str, str] = {}
    for chunk in _chunks(sorted(keys)):
        by_key.update(
            session.execute(
                select(InboundDocument.idempotency_key, InboundDocument.partner).where(
                    InboundDocument.idempotency_key.in_(chunk)
                )
            ).all()
        )
    by_po: dict[str, str] = {}
    for chunk in _chunks(sorted(pos)):
        for po, partner, vendor in session.execute(
            select(OutboundDocument.po_number, OutboundDocument.partner, OutboundDocument.vendor_no).where(
                OutboundDocument.po_number.in_(chunk)
            )
        ):
            by_po[po] = partner or by_po.get(po) or f"(unmapped vendor {vendor})"
    out: dict[tuple[str, str | None], str] = {}
    for ref, key in refs:
        partner = (by_key.get(key) if key else None) or (by_po.get(ref[3:]) if ref.startswith("PO:") else None)
        out[(ref, key)] = partner or "(none)"
    return out


def _chunks(items: list[str], size: int = 500) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --------------------------------------------------------------------------------------------------- documents


@dataclass(frozen=True)
class DocumentFilter:
    po_number: str = ""
    vendor: str = ""
    partner: str = ""
    document_type: str = ""
    status: str = ""
    direction: str = ""
    date_from: date | None = None
    date_to: date | None = None
    waiting: bool = False


@dataclass
class DocumentRow:
    direction: str
    id: int
    document_type: str
    po_numbers: list[str]
    vendor: str | None
    partner: str | None
    status: str
    fa_status: str | None
    at: datetime
    reference: str
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    waiting_on: str = ""


@dataclass
class DocumentPage:
    rows: list[DocumentRow]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def _po_keys(po_number: str) -> Any:
    """Inbound documents about a PO: their audit lines point at the PO ("PO", "PO/G-receipt", "PO/I-receipt"), or
    an exception they raised names it (an invoice stopped before Sage has no audit line with a target)."""
    return union(
        select(AuditEntry.source_id).where(
            or_(
                AuditEntry.target_id == po_number,
                and_(AuditEntry.target_id >= po_number + "/", AuditEntry.target_id < po_number + "0"),
            )
        ),
        select(ExceptionRecord.idempotency_key).where(
            ExceptionRecord.idempotency_key.is_not(None), _exception_po(po_number)
        ),
    )


def _exception_po(po_number: str) -> Any:
    return ExceptionRecord.details["po"].as_string() == po_number


def search_documents(
    session: Session, flt: DocumentFilter, *, page: int = 1, page_size: int = PAGE_SIZE
) -> DocumentPage:
    """Documents both ways, newest first, filtered; the two directions are paged together by date."""
    page = max(1, page)
    out_q = select(OutboundDocument)
    in_q = select(InboundDocument)
    if flt.po_number:
        out_q = out_q.where(OutboundDocument.po_number == flt.po_number)
        in_q = in_q.where(InboundDocument.idempotency_key.in_(_po_keys(flt.po_number)))
    if flt.vendor:
        out_q = out_q.where(OutboundDocument.vendor_no == flt.vendor)
        in_q = in_q.where(
            InboundDocument.partner.in_(select(PartnerMapping.partner).where(PartnerMapping.vendor_no == flt.vendor))
        )
    if flt.partner:
        out_q = out_q.where(OutboundDocument.partner == flt.partner)
        in_q = in_q.where(InboundDocument.partner == flt.partner)
    if flt.document_type:
        out_q = out_q.where(OutboundDocument.document_type == flt.document_type)
        in_q = in_q.where(InboundDocument.document_type == flt.document_type)
    if flt.status:
        # With a narrower filter, keep the planner off the status index (most documents share a few statuses):
        # `status || ''` is the same test, but no index matches it.
        narrow = bool(flt.po_number or flt.vendor or flt.partner)
        out_q = out_q.where((OutboundDocument.status + "" if narrow else OutboundDocument.status) == flt.status)
        in_q = in_q.where((InboundDocument.status + "" if narrow else InboundDocument.status) == flt.status)
    if flt.waiting:
        out_q = out_q.where(_waiting_out())
        in_q = in_q.where(_waiting_in())
    if flt.date_from:
        out_q = out_q.where(OutboundDocument.created_at >= _day_start(flt.date_from))
        in_q = in_q.where(InboundDocument.received_at >= _day_start(flt.date_from))
    if flt.date_to:
        end = _day_start(flt.date_to + timedelta(days=1))
        out_q = out_q.where(OutboundDocument.created_at < end)
        in_q = in_q.where(InboundDocument.received_at < end)
    want_out = flt.direction in ("", "OUT")
    want_in = flt.direction in ("", "IN")
    window = page * page_size
    rows: list[DocumentRow] = []
    total = 0
    if want_out:
        total += session.scalar(select(func.count()).select_from(out_q.subquery())) or 0
        for o in session.scalars(
            out_q.order_by(OutboundDocument.created_at.desc(), OutboundDocument.id.desc()).limit(window)
        ):
            rows.append(
                DocumentRow(
                    "OUT",
                    o.id,
                    o.document_type,
                    [o.po_number],
                    o.vendor_no,
                    o.partner,
                    o.status,
                    o.fa_status,
                    _as_utc(o.created_at) or datetime.min.replace(tzinfo=UTC),
                    f"ISA {o.interchange_control:09d}" if o.interchange_control else "(not enveloped)",
                    o.attempts or 0,
                    _as_utc(o.next_attempt_at) if o.status == "pending" else None,
                    o.last_error if o.status == "pending" else None,
                    HELD_WAITS_ON if o.status == "held" else waits_on(o.waiting_on if o.status == "pending" else None),
                )
            )
    if want_in:
        total += session.scalar(select(func.count()).select_from(in_q.subquery())) or 0
        inbound_rows = list(
            session.execute(
                in_q.with_only_columns(
                    InboundDocument.id,
                    InboundDocument.idempotency_key,
                    InboundDocument.document_type,
                    InboundDocument.partner,
                    InboundDocument.status,
                    InboundDocument.received_at,
                    InboundDocument.interchange_control,
                    InboundDocument.attempts,
                    InboundDocument.next_attempt_at,
                    InboundDocument.last_error,
                    InboundDocument.waiting_on,
                    InboundDocument.ack_status,
                    InboundDocument.ack_attempts,
                    InboundDocument.ack_next_attempt_at,
                    InboundDocument.ack_last_error,
                )
                .order_by(InboundDocument.received_at.desc(), InboundDocument.id.desc())
                .limit(window)
            )
        )
        for doc_id, key, doc_type, partner, status, at, icn, *retry in inbound_rows:
            attempts, next_at, error, cause, ack, ack_attempts, ack_next, ack_error = retry
            if status in OPEN_INBOUND:
                liveness = (attempts or 0, _as_utc(next_at), error, waits_on(cause))
            elif ack == "pending":
                on = "Cleo (our 997)" if ack_attempts else ""
                liveness = (ack_attempts or 0, _as_utc(ack_next), ack_error, on)
            else:
                liveness = (attempts or 0, None, None, "")
            rows.append(
                DocumentRow(
                    "IN",
                    doc_id,
                    doc_type,
                    [],
                    None,
                    partner,
                    status,
                    None,
                    _as_utc(at) or datetime.min.replace(tzinfo=UTC),
                    f"ISA {icn}" if icn else key,
                    *liveness,
                )
            )
    rows.sort(key=lambda r: (r.at, r.id), reverse=True)
    rows = rows[(page - 1) * page_size : window]
    _fill_inbound_pos(session, [r for r in rows if r.direction == "IN"])
    return DocumentPage(rows, total, page, page_size)


def _fill_inbound_pos(session: Session, rows: list[DocumentRow]) -> None:
    if not rows:
        return
    ids = [r.id for r in rows]
    keys = dict(
        session.execute(
            select(InboundDocument.id, InboundDocument.idempotency_key).where(InboundDocument.id.in_(ids))
        ).all()
    )
    pos: dict[str, list[str]] = defaultdict(list)
    for source, target in session.execute(
        select(AuditEntry.source_id, AuditEntry.target_id).where(
            AuditEntry.source_id.in_(list(keys.values())),
            AuditEntry.target_id.is_not(None),
            AuditEntry.direction == "IN",
            AuditEntry.document_type.in_(("855", "856", "810", "997")),
        )
    ):
        po = target.split("/", 1)[0]
        if po and po not in pos[source]:
            pos[source].append(po)
    stopped = [r.id for r in rows if r.status in STOPPED_IN and not pos.get(keys.get(r.id, ""))]
    if stopped:
        for doc in session.scalars(select(InboundDocument).where(InboundDocument.id.in_(stopped))):
            pos[doc.idempotency_key] = list(_payload_po_numbers(doc))
    for row in rows:
        row.po_numbers = pos.get(keys.get(row.id, ""), [])


@dataclass
class DocumentDetail:
    direction: str
    id: int
    document_type: str
    partner: str | None
    status: str
    payload: str | None
    extra: dict[str, Any]
    po_numbers: list[str]


def document(session: Session, direction: str, doc_id: int) -> DocumentDetail | None:
    """One document with its raw X12 (ours as sent, theirs as received, and our 997 answer when there is one)."""
    if direction == "OUT":
        o = session.get(OutboundDocument, doc_id)
        if o is None:
            return None
        extra = {
            "PO": o.po_number,
            "vendor": o.vendor_no,
            "997": o.fa_status,
            "Cleo message": o.cleo_message_id or "",
            "created": o.created_at,
            "sent": o.sent_at or "",
        }
        return DocumentDetail("OUT", o.id, o.document_type, o.partner, o.status, o.payload, extra, [o.po_number])
    i = session.get(InboundDocument, doc_id)
    if i is None:
        return None
    row = DocumentRow("IN", i.id, i.document_type, [], None, i.partner, i.status, None, i.received_at, "")
    _fill_inbound_pos(session, [row])
    extra = {
        "received": i.received_at,
        "processed": i.processed_at or "",
        "our 997": i.ack_status,
        "Cleo message": i.cleo_message_id or "",
        "key": i.idempotency_key,
    }
    if i.ack_payload:
        extra["997 we sent"] = i.ack_payload
    return DocumentDetail("IN", i.id, i.document_type, i.partner, i.status, i.payload, extra, row.po_numbers)


# ------------------------------------------------------------------------------------------------ PO timeline


@dataclass
class TimelineEvent:
    at: datetime
    kind: str  # outbound | ack997 | ack855 | line | receipt | invoice | exception | audit | inbound
    state: str  # ok | bad | wait | info
    title: str
    text: str
    link: tuple[str, int] | None = None
    exception_id: int | None = None


@dataclass
class Timeline:
    po_number: str
    vendor: str | None
    partner: str | None
    events: list[TimelineEvent]
    audit: list[AuditEntry]
    line_acks: list[PurchaseOrderLineAck]
    exceptions: list[ExceptionRecord]

    @property
    def found(self) -> bool:
        return bool(self.events or self.audit)


FA_STATE = {
    "accepted": "ok",
    "accepted_with_errors": "ok",
    "rejected": "bad",
    "overdue": "bad",
    "waiting": "wait",
    "none": "wait",
}
OUT_STATE = {"sent": "ok", "superseded": "info", "failed": "bad", "held": "wait", "pending": "wait", "skipped": "info"}
IN_STATE = {"applied": "ok", "duplicate": "info", "exception": "bad", "received": "wait", "applying": "wait"}


def po_timeline(session: Session, po_number: str) -> Timeline:
    """Everything about one PO in time order: our 850/860s and their 997, the 855 per line, each ASN with its Sage
    receipt, each invoice with its Sage invoice, exceptions, and every audit line."""
    outbound = list(
        session.scalars(
            select(OutboundDocument).where(OutboundDocument.po_number == po_number).order_by(OutboundDocument.id)
        )
    )
    keys = set(session.scalars(_po_keys(po_number)))
    inbound = (
        list(
            session.scalars(
                select(InboundDocument).where(InboundDocument.idempotency_key.in_(keys)).order_by(InboundDocument.id)
            )
        )
        if keys
        else []
    )
    known = {i.idempotency_key for i in inbound}
    inbound += [i for i in _stopped_documents_about(session, po_number, outbound) if i.idempotency_key not in known]
    inbound.sort(key=lambda i: i.id)
    out_keys = [o.idempotency_key for o in outbound]
    in_keys = [i.idempotency_key for i in inbound]
    audit = list(
        session.scalars(
            select(AuditEntry)
            .where(
                or_(
                    AuditEntry.source_id == po_number,
                    AuditEntry.target_id == po_number,
                    and_(AuditEntry.target_id >= po_number + "/", AuditEntry.target_id < po_number + "0"),
                    AuditEntry.source_id.in_(in_keys),
                    AuditEntry.idempotency_key.in_(out_keys + in_keys),
                )
            )
            .order_by(AuditEntry.at, AuditEntry.id)
        )
    )
    exceptions = list(
        session.scalars(
            select(ExceptionRecord)
            .where(
                or_(
                    ExceptionRecord.document_ref == f"PO:{po_number}",
                    ExceptionRecord.idempotency_key.in_(in_keys),
                    _exception_po(po_number),
                )
            )
            .order_by(ExceptionRecord.id)
        )
    )
    line_acks = list(
        session.scalars(
            select(PurchaseOrderLineAck)
            .where(PurchaseOrderLineAck.po_number == po_number)
            .order_by(PurchaseOrderLineAck.line_number)
        )
    )
    events: list[TimelineEvent] = []
    for o in outbound:
        to = f" to {o.partner}" if o.partner else " (no trading partner yet)"
        events.append(
            TimelineEvent(
                _as_utc(o.sent_at or o.created_at),  # type: ignore[arg-type]
                "outbound",
                OUT_STATE.get(o.status, "info"),
                f"{o.document_type} {o.status}",
                f"PO {o.po_number} purpose {o.purpose}{to}"
                + (f", ISA {o.interchange_control:09d}" if o.interchange_control else "")
                + _retry_note(o),
                ("OUT", o.id),
            )
        )
        if o.status == "sent":
            events.append(
                TimelineEvent(
                    _as_utc(o.sent_at or o.created_at),  # type: ignore[arg-type]
                    "ack997",
                    FA_STATE.get(o.fa_status, "info"),
                    f"997 {'not received yet' if o.fa_status in ('none', 'waiting') else o.fa_status}",
                    f"Functional acknowledgment of {o.document_type} group {o.group_control}",
                )
            )
    for i in inbound:
        events.append(
            TimelineEvent(
                _as_utc(i.received_at),  # type: ignore[arg-type]
                "inbound",
                IN_STATE.get(i.status, "info"),
                f"{i.document_type} {i.status}",
                f"from {i.partner or '?'}, ISA {i.interchange_control or '?'}; our 997: {i.ack_status}"
                + (_retry_note(i) if i.status in OPEN_INBOUND else ""),
                ("IN", i.id),
            )
        )
    for a in audit:
        target = a.target_id or ""
        if a.document_type == "856" and "/G-" in target:
            events.append(
                TimelineEvent(
                    _as_utc(a.at),  # type: ignore[arg-type]
                    "receipt",
                    "ok",
                    f"Sage receipt of goods {target.split('/G-', 1)[1]}",
                    a.message or "",
                )
            )
        elif a.document_type == "810" and "/I-" in target:
            events.append(
                TimelineEvent(
                    _as_utc(a.at),  # type: ignore[arg-type]
                    "invoice",
                    "ok",
                    f"Sage invoice (receipt of invoice {target.split('/I-', 1)[1]})",
                    a.message or "",
                )
            )
        elif a.document_type == "997" and a.direction == "IN" and target == po_number:
            events.append(
                TimelineEvent(
                    _as_utc(a.at),  # type: ignore[arg-type]
                    "ack997",
                    FA_STATE.get(a.status, "info"),
                    f"997 received: {a.status}",
                    a.message or "",
                )
            )
    for ack in line_acks:
        events.append(
            TimelineEvent(
                _as_utc(ack.updated_at),  # type: ignore[arg-type]
                "line",
                {"accepted": "ok", "rejected": "bad"}.get(ack.status, "wait"),
                f"855 line {ack.line_number}: {ack.status}",
                ", ".join(
                    part
                    for part in (
                        f"qty {ack.quantity}" if ack.quantity else "",
                        f"price {ack.unit_price}" if ack.unit_price else "",
                        f"promised {ack.promised_date}" if ack.promised_date else "",
                        f"code {ack.status_code}",
                    )
                    if part
                ),
            )
        )
    for x in exceptions:
        events.append(
            TimelineEvent(
                _as_utc(x.created_at),  # type: ignore[arg-type]
                "exception",
                "bad" if x.status == "open" else "info",
                f"Exception #{x.id} {x.kind} ({x.status})",
                x.what,
                exception_id=x.id,
            )
        )
    events.sort(key=lambda e: e.at)
    vendor = outbound[-1].vendor_no if outbound else None
    partner = next((o.partner for o in reversed(outbound) if o.partner), None) or (
        inbound[-1].partner if inbound else None
    )
    return Timeline(po_number, vendor, partner, events, audit, line_acks, exceptions)


def _retry_note(doc: OutboundDocument | InboundDocument) -> str:
    """ "; waiting on …, attempt n, next at …: last error" for a document retrying after a transient failure."""
    if not doc.waiting_on or (isinstance(doc, OutboundDocument) and doc.status != "pending"):
        return ""
    due = _as_utc(doc.next_attempt_at)
    when = f", next attempt {due:%Y-%m-%d %H:%M:%S} UTC" if due else ""
    error = doc.last_error or "no error recorded"
    return f"; waiting on {waits_on(doc.waiting_on)}, attempt {doc.attempts}{when}: {error}"


STOPPED_LOOKBACK = 200
_po_numbers_cache: dict[int, tuple[str, ...]] = {}


def _payload_po_numbers(doc: InboundDocument) -> tuple[str, ...]:
    """The PO numbers a received document names (BIG04, BAK03, each ASN order's PRF01), read once per document."""
    cached = _po_numbers_cache.get(doc.id)
    if cached is None:
        from mlconnector.x12 import read_documents

        numbers: list[str] = []
        try:
            for received in read_documents(doc.payload, lenient=True):
                found = received.document
                numbers += [o.po_number for o in getattr(found, "orders", ())]
                if getattr(found, "po_number", None):
                    numbers.append(found.po_number)
        except Exception:  # a payload that does not parse names no PO; its own screen shows why
            numbers = []
        cached = _po_numbers_cache[doc.id] = tuple(dict.fromkeys(numbers))
        if len(_po_numbers_cache) > 20_000:
            _po_numbers_cache.clear()
    return cached


def _stopped_documents_about(
    session: Session, po_number: str, outbound: list[OutboundDocument]
) -> list[InboundDocument]:
    """Received documents about this PO that stopped before Sage (so no audit line names the PO yet): the PO's
    partners' documents not applied since the PO was first staged, read for the PO numbers they carry.

    Switch to a stored PO reference on inbound documents when the store has one."""
    partners = {o.partner for o in outbound if o.partner}
    if not partners:
        return []
    since = min(o.created_at for o in outbound)
    candidates = session.scalars(
        select(InboundDocument)
        .where(
            InboundDocument.partner.in_(partners),
            InboundDocument.status.in_(STOPPED_IN),
            InboundDocument.received_at >= since,
        )
        .order_by(InboundDocument.received_at.desc())
        .limit(STOPPED_LOOKBACK)
    )
    return [doc for doc in candidates if po_number in _payload_po_numbers(doc)]


# ----------------------------------------------------------------------------------------------- exception desk


@dataclass
class ExceptionRow:
    record: ExceptionRecord
    partner: str
    age_hours: float
    inbound_id: int | None
    po_number: str | None


@dataclass
class ExceptionQueue:
    rows: list[ExceptionRow]
    kinds: list[str]
    partners: list[str]


def exception_queue(
    session: Session, now: datetime, *, kind: str = "", partner: str = "", min_age_hours: float = 0.0, status="open"
) -> ExceptionQueue:
    """The desk's queue, oldest first, with each exception's partner, age and document."""
    query = select(ExceptionRecord).order_by(ExceptionRecord.created_at, ExceptionRecord.id).limit(1000)
    if status:
        query = query.where(ExceptionRecord.status == status)
    if kind:
        query = query.where(ExceptionRecord.kind == kind)
    if min_age_hours > 0:
        query = query.where(ExceptionRecord.created_at <= now - timedelta(hours=min_age_hours))
    records = list(session.scalars(query))
    partner_of = _partners_for(session, [(x.document_ref, x.idempotency_key) for x in records])
    keys = [x.idempotency_key for x in records if x.idempotency_key]
    inbound_ids = dict(
        session.execute(
            select(InboundDocument.idempotency_key, InboundDocument.id).where(InboundDocument.idempotency_key.in_(keys))
        ).all()
    )
    rows = []
    for x in records:
        p = partner_of.get((x.document_ref, x.idempotency_key), "(none)")
        if partner and p != partner:
            continue
        created = _as_utc(x.created_at) or now
        po = x.document_ref[3:] if x.document_ref.startswith("PO:") else (x.details or {}).get("po")
        rows.append(
            ExceptionRow(x, p, (now - created).total_seconds() / 3600, inbound_ids.get(x.idempotency_key or ""), po)
        )
    all_kinds = sorted(session.scalars(select(ExceptionRecord.kind).distinct()))
    all_partners = sorted({kp for _, kp in _open_exception_partners(session)})
    return ExceptionQueue(rows, all_kinds, all_partners)


def exception_detail(session: Session, now: datetime, exception_id: int) -> ExceptionRow | None:
    x = session.get(ExceptionRecord, exception_id)
    if x is None:
        return None
    partner = _partners_for(session, [(x.document_ref, x.idempotency_key)])[(x.document_ref, x.idempotency_key)]
    inbound_id = (
        session.scalar(select(InboundDocument.id).where(InboundDocument.idempotency_key == x.idempotency_key))
        if x.idempotency_key
        else None
    )
    po = x.document_ref[3:] if x.document_ref.startswith("PO:") else (x.details or {}).get("po")
    created = _as_utc(x.created_at) or now
    return ExceptionRow(x, partner, (now - created).total_seconds() / 3600, inbound_id, po)


def exception_history(session: Session, exception_id: int) -> list[AuditEntry]:
    """The audit lines about one exception (retries, resolutions, who did them)."""
    return list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.document_type.in_(("exception", "console")), AuditEntry.target_id == str(exception_id))
            .order_by(AuditEntry.id)
        )
    )


# ------------------------------------------------------------------------------------------ partners and vendors


@dataclass
class VendorRow:
    vendor_no: str
    name: str
    partner: str | None
    change_document: str | None
    held: int
    documents: int
    edi: bool = True
    skipped: int = 0


def partners_and_vendors(session: Session, sage_vendors: dict[str, str] | None) -> list[VendorRow]:
    """Every vendor we know (Sage's list when it answered, plus every mapped vendor and every vendor with a PO),
    those with POs held for want of a partner first."""
    mappings = {m.vendor_no: m for m in session.scalars(select(PartnerMapping))}
    held = dict(
        session.execute(
            select(OutboundDocument.vendor_no, func.count())
            .where(OutboundDocument.status == "held")
            .group_by(OutboundDocument.vendor_no)
        ).all()
    )
    docs = dict(
        session.execute(select(OutboundDocument.vendor_no, func.count()).group_by(OutboundDocument.vendor_no)).all()
    )
    skipped = dict(
        session.execute(
            select(OutboundDocument.vendor_no, func.count())
            .where(OutboundDocument.status == "skipped")
            .group_by(OutboundDocument.vendor_no)
        ).all()
    )
    names = sage_vendors or {}
    rows = []
    for vendor in sorted(set(names) | set(mappings) | set(docs)):
        m = mappings.get(vendor)
        rows.append(
            VendorRow(
                vendor,
                names.get(vendor, ""),
                (m.partner or None) if m else None,
                m.change_document if m and m.trades_by_edi else None,
                held.get(vendor, 0),
                docs.get(vendor, 0),
                m.trades_by_edi if m else True,
                skipped.get(vendor, 0),
            )
        )
    rows.sort(key=lambda r: (-r.held, r.partner is not None or not r.edi, r.vendor_no))
    return rows


# ------------------------------------------------------------------------------------------------------ audit


@dataclass(frozen=True)
class AuditFilter:
    text: str = ""
    document_type: str = ""
    status: str = ""
    direction: str = ""
    date_from: date | None = None
    date_to: date | None = None


def _audit_query(flt: AuditFilter) -> Select[Any]:
    query = select(AuditEntry)
    if flt.text:
        query = query.where(
            or_(
                AuditEntry.source_id == flt.text,
                AuditEntry.target_id == flt.text,
                and_(AuditEntry.target_id >= flt.text + "/", AuditEntry.target_id < flt.text + "0"),
                AuditEntry.idempotency_key == flt.text,
                AuditEntry.message.contains(flt.text, autoescape=True),
            )
        )
    if flt.document_type:
        query = query.where(AuditEntry.document_type == flt.document_type)
    if flt.status:
        query = query.where(AuditEntry.status == flt.status)
    if flt.direction:
        query = query.where(AuditEntry.direction == flt.direction)
    if flt.date_from:
        query = query.where(AuditEntry.at >= _day_start(flt.date_from))
    if flt.date_to:
        query = query.where(AuditEntry.at < _day_start(flt.date_to + timedelta(days=1)))
    return query


def audit_search(
    session: Session, flt: AuditFilter, *, page: int = 1, page_size: int = PAGE_SIZE
) -> tuple[list[AuditEntry], bool]:
    """A page of audit lines, newest first, and whether there is a next page (no count: the log only grows)."""
    page = max(1, page)
    rows = list(
        session.scalars(
            _audit_query(flt).order_by(AuditEntry.id.desc()).offset((page - 1) * page_size).limit(page_size + 1)
        )
    )
    return rows[:page_size], len(rows) > page_size


def audit_export(session: Session, flt: AuditFilter) -> Iterator[dict[str, Any]]:
    """Every matching audit line, oldest first, as plain dicts (streamed, for JSON lines)."""
    columns = [c.name for c in AuditEntry.__table__.columns]
    for entry in session.scalars(_audit_query(flt).order_by(AuditEntry.id).execution_options(yield_per=500)):
        yield {name: getattr(entry, name) for name in columns}
