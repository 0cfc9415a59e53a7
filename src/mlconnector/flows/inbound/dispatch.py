"""Inbound documents into Sage: answer each stored interchange with our 997, then hand each transaction set to the
module of its type (997, 855, 856, 810).

One interchange costs two store transactions: one that starts it (status `applying`, our 997 staged with its ISA13,
and everything the handlers need to know from the store), and one that records every outcome (audit, exceptions,
the posting journal, status). Sage writes carry keys built from partner + BSN02/BIG02 (+ PO), not the ICN, so a
resend under a new ICN or a resumed document finds the receipt already in Sage and writes nothing twice.

Status: received → applying (Sage writes may have started; a restart checks Sage by key before planning)
→ applied | duplicate | exception. Transient failures (agent unreachable, Sage lock beyond its budget, Cleo down)
propagate to the caller with the document left `applying`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mlconnector.cleo import CleoClient, SendResult
from mlconnector.flows.faults import FaultHook, no_fault
from mlconnector.flows.liveness import Backoff
from mlconnector.flows.matching import GLEntry, Problem, Unposted
from mlconnector.flows.reference import gl_rows
from mlconnector.sage.models import PostingResult
from mlconnector.store import Store
from mlconnector.store.models import (
    OPEN_INBOUND,
    AckStatus,
    ExceptionRecord,
    ExceptionStatus,
    GLAccount,
    InboundDocument,
    InboundStatus,
    PartnerMapping,
    PostingStatus,
    SageReceipt,
    utcnow,
)
from mlconnector.store.ops import replace_gl_cache
from mlconnector.x12 import ReceivedDocument, read_documents
from mlconnector.x12.documents import FunctionalAck, Invoice, PurchaseOrderAck, ShipNotice

from . import acknowledgment, answer, functional_ack, invoice, posting, ship_notice
from .common import (
    Context,
    Outcome,
    SageReceiving,
    Tolerances,
    business_key,
    combine,
    record,
    set_ref,
)

NOT_RECEIVED = "not_received"
RECHECK_WAITING = timedelta(hours=1)
"""How often an invoice waiting for its goods is tried again without an ASN (goods received by hand in Sage)."""
RACE_SLACK = timedelta(minutes=5)


class Receiving:
    """Applies stored inbound interchanges to Sage and the connector's data; one call per document, any worker."""

    def __init__(
        self,
        store: Store,
        sage: SageReceiving,
        cleo: CleoClient,
        tolerances: Tolerances,
        backoff: Backoff | None = None,
        *,
        fault: FaultHook = no_fault,
    ) -> None:
        self.store, self.sage, self.cleo, self.tolerances, self.fault = store, sage, cleo, tolerances, fault
        self.backoff = backoff or Backoff()

    # ---------------------------------------------------------------------------------------------- entry points

    def process(self, key: str) -> str:
        """Answer and apply one stored interchange; returns its status (unchanged when already done)."""
        with self.store.transaction() as session:
            row = _row(session, key)
            if row.status not in OPEN_INBOUND:
                return row.status
            if row.ack_status == AckStatus.NONE:
                answer.stage(session, row)
            partner, resumed = row.partner or "", row.status == InboundStatus.APPLYING
            row.status = InboundStatus.APPLYING
            documents, unreadable = _read(row.payload)
            ctx = self._context(session, row, partner, resumed, documents)
            ack = answer.staged(row)
            told = answer.answered(session, row)
            ctx.answered = told
        sent = answer.deliver(self.store, self.cleo, ack, self.backoff) if ack is not None else None
        self.fault("inbound_before_apply")
        if documents:
            outcomes = []
            for received in documents:
                outcomes.append(outcome := self._apply(ctx, received))
                ctx.learn(outcome)  # the next set of this interchange sees what this one wrote
        else:
            outcomes = [Outcome(f"X12:{key}", "X12", problems=[_unreadable(partner, key, unreadable, told)])]
        return self._record(ctx, outcomes, ack, sent)

    def retry(self, key: str) -> str:
        """Run a document again after its cause was fixed; Sage keys make what was already written a no-op."""
        with self.store.transaction() as session:
            row = _row(session, key)
            if row.status not in (InboundStatus.APPLIED, InboundStatus.DUPLICATE):
                row.status = InboundStatus.APPLYING
                # Re-opened: a new attempt number, so the engine never hands back an earlier attempt's result.
                row.attempts = (row.attempts or 0) + 1
            if row.ack_status == AckStatus.FAILED and row.ack_payload is not None:
                row.ack_status = AckStatus.PENDING  # our 997 Cleo refused: sent again at the next poll
        return self.process(key)

    def send_ack(self, key: str) -> str:
        """Send the 997 staged for a document (again, after a crash: the same ICN, so Cleo keeps one)."""
        return answer.send(self.store, self.cleo, key, self.backoff)

    def pending_acks(self) -> list[str]:
        return answer.pending(self.store)

    def post(self) -> PostingResult | None:
        """Post every receipt the connector wrote and Sage has not posted yet (once per poll, and on demand)."""
        return posting.post(self.store, self.sage, self.tolerances, self.fault)

    def reopen_waiting_invoices(self) -> list[str]:
        """Invoices waiting for their goods and not tried for an hour go again (the goods may have been received by
        hand in Sage; an ASN reopens the invoices of its POs itself); returns their keys."""
        with self.store.transaction() as session:
            return _reopen_waiting(session, None, tried_before=utcnow() - RECHECK_WAITING)

    # ---------------------------------------------------------------------------------------------- the two steps

    def _context(
        self, session: Session, row: InboundDocument, partner: str, resumed: bool, documents: list[ReceivedDocument]
    ) -> Context:
        """What the handlers need from the store, read in the transaction that starts the document."""
        bkeys = {b for r in documents if (b := business_key(partner, r)) is not None}
        others: dict[str, list[str]] = {b: [] for b in bkeys}
        if bkeys:
            # Claim the business key first, so a resend under another ICN processed at the same time checks Sage.
            row.business_key = row.business_key or sorted(bkeys)[0]
            for bkey, status in session.execute(
                select(InboundDocument.business_key, InboundDocument.status).where(
                    InboundDocument.business_key.in_(bkeys), InboundDocument.idempotency_key != row.idempotency_key
                )
            ):
                others.setdefault(bkey or "", []).append(status)
        po_numbers = {po for r in documents for po in _po_numbers(r.document)}
        unposted: dict[str, dict[str, Unposted]] = {}
        if po_numbers:
            for po, receipt_type, quantities in session.execute(
                select(SageReceipt.po_number, SageReceipt.receipt_type, SageReceipt.quantities).where(
                    SageReceipt.po_number.in_(po_numbers), SageReceipt.status == PostingStatus.WRITTEN
                )
            ):
                lines = unposted.setdefault(po, {})
                for line, quantity in (quantities or {}).items():
                    was = lines.get(line, Unposted())
                    lines[line] = (
                        Unposted(was.received + quantity, was.invoiced)
                        if receipt_type == "G"
                        else Unposted(was.received, was.invoiced + quantity)
                    )
        journal_seen = session.scalar(select(func.max(SageReceipt.id))) or 0
        mapped = {m.vendor_no: m.partner for m in session.scalars(select(PartnerMapping))} if po_numbers else {}
        return Context(
            key=row.idempotency_key,
            partner=partner,
            resumed=resumed,
            sage=self.sage,
            tolerances=self.tolerances,
            fault=self.fault,
            mapped_partners=mapped,
            others_by_business_key=others,
            unposted=unposted,
            journal_seen=journal_seen,
            gl=self._gl(_gl_entries(session) if any(isinstance(r.document, Invoice) for r in documents) else []),
        )

    def _apply(self, ctx: Context, received: ReceivedDocument) -> Outcome:
        """Dispatch one transaction set to its document type."""
        ref = set_ref(ctx.partner, received)
        doc = received.document
        if not received.valid:
            return Outcome(ref, received.transaction_set, problems=[_invalid(ctx.partner, received, ctx.answered)])
        if isinstance(doc, FunctionalAck):
            return functional_ack.apply(ctx, ref, doc)
        if isinstance(doc, PurchaseOrderAck):
            return acknowledgment.apply(ctx, ref, doc)
        if isinstance(doc, ShipNotice | Invoice):
            bkey = business_key(ctx.partner, received)
            seen = ctx.others_by_business_key.get(bkey or "", [])
            if InboundStatus.APPLIED in seen:
                return _duplicate(ctx, ref, doc)
            check_sage = ctx.resumed or bool(seen)
            if isinstance(doc, ShipNotice):
                return ship_notice.apply(ctx, ref, doc, check_sage=check_sage)
            return invoice.apply(ctx, ref, doc, check_sage=check_sage)
        return Outcome(
            ref,
            received.transaction_set,
            audits=[
                dict(
                    direction="IN",
                    document_type=received.transaction_set,
                    source_id=ctx.key,
                    status="ignored",
                    message=f"A {received.transaction_set} is not something the connector applies; kept and answered",
                )
            ],
        )

    def _record(
        self,
        ctx: Context,
        outcomes: list[Outcome],
        ack: answer.StagedAck | None,
        sent: SendResult | None,
    ) -> str:
        """Everything the interchange came to, in one transaction."""
        status = combine(outcomes)
        with self.store.transaction() as session:
            row = _row(session, ctx.key)
            for outcome in outcomes:
                record(session, ctx.key, outcome)
            received = {po for o in outcomes for po in o.reopen_invoices_of}
            if received:
                _reopen_waiting(session, received, but=ctx.key)
            if ack is not None and sent is not None:
                answer.mark_sent(session, row, ack, sent)
            row.status, row.processed_at = status, utcnow()
            waiting_for = {p.details.get("po") for o in outcomes for p in o.problems if p.kind == NOT_RECEIVED}
            if (
                waiting_for
                and session.scalars(
                    select(SageReceipt.id).where(
                        SageReceipt.receipt_type == "G",
                        SageReceipt.po_number.in_(waiting_for),
                        or_(SageReceipt.id > ctx.journal_seen, SageReceipt.status == PostingStatus.WRITTEN),
                    )
                ).first()
            ):
                # Goods for the PO were recorded while this invoice was matched, or wait for the register (a receipt
                # found in Sage after a crash has no quantities in the journal): try again at the next poll.
                row.status = InboundStatus.APPLYING
        return status

    def _gl(self, cached: list[GLEntry]) -> Callable[[], tuple[dict[str, GLEntry], set[str]]]:
        """The GL cache as read when the document started (filled from Sage once when it is still empty)."""

        def gl() -> tuple[dict[str, GLEntry], set[str]]:
            entries = cached
            if not entries:
                accounts = gl_rows(self.sage.gl_accounts())
                try:
                    with self.store.transaction() as session:
                        replace_gl_cache(session, accounts)
                except IntegrityError:
                    pass  # another worker filled the cache at the same moment: use theirs
                with self.store.transaction() as session:
                    entries = _gl_entries(session)
            by_key = {e.account_key: e for e in entries}
            return by_key, {e.department for e in entries if e.department and e.active}

        return gl


def _gl_entries(session: Session) -> list[GLEntry]:
    return [GLEntry(r.account_key, r.account, r.department, r.active) for r in session.scalars(select(GLAccount))]


def _row(session: Session, key: str) -> InboundDocument:
    return session.scalars(select(InboundDocument).where(InboundDocument.idempotency_key == key)).one()


def _read(payload: str) -> tuple[list[ReceivedDocument], str]:
    try:
        documents = read_documents(payload, lenient=True)
    except Exception as exc:  # any input at all must end as a record, never a crash
        return [], f"{type(exc).__name__}: {exc}"
    return documents, "no transaction set could be found in it"


def _po_numbers(doc: object) -> Iterable[str]:
    if isinstance(doc, ShipNotice):
        return [order.po_number for order in doc.orders]
    if isinstance(doc, Invoice) and doc.po_number:
        return [doc.po_number]
    return []


def _reopen_waiting(
    session: Session, po_numbers: set[str] | None, *, but: str | None = None, tried_before: datetime | None = None
) -> list[str]:
    """Invoices waiting for goods (all, or those of `po_numbers`; only those last tried before `tried_before`)
    back to `applying`, so the next poll runs them."""
    waiting = session.scalars(
        select(ExceptionRecord).where(
            ExceptionRecord.kind == NOT_RECEIVED, ExceptionRecord.status == ExceptionStatus.OPEN
        )
    ).all()
    po_of = {
        e.idempotency_key: str((e.details or {}).get("po"))
        for e in waiting
        if e.idempotency_key
        and e.idempotency_key != but
        and (po_numbers is None or (e.details or {}).get("po") in po_numbers)
    }
    if not po_of:
        return []
    rows = session.scalars(
        select(InboundDocument).where(
            InboundDocument.idempotency_key.in_(po_of), InboundDocument.status == InboundStatus.EXCEPTION
        )
    ).all()
    if tried_before is not None:
        # Goods recorded around the invoice's last try: the ASN and the invoice may have been recorded at the same
        # moment by two workers, each not seeing the other's transaction; try those again too.
        goods = dict(
            session.execute(
                select(SageReceipt.po_number, func.max(SageReceipt.written_at))
                .where(SageReceipt.receipt_type == "G", SageReceipt.po_number.in_(set(po_of.values())))
                .group_by(SageReceipt.po_number)
            ).all()
        )

        def due(row: InboundDocument) -> bool:
            if row.processed_at is None or _aware(row.processed_at) < tried_before:
                return True
            latest = goods.get(po_of[row.idempotency_key])
            return latest is not None and _aware(latest) >= _aware(row.processed_at) - RACE_SLACK

        rows = [r for r in rows if due(r)]
    for row in rows:
        row.status = InboundStatus.APPLYING
        # A new attempt (and so a new workflow id): the next poll's collect hands it to the engine again.
        row.attempts, row.next_attempt_at = (row.attempts or 0) + 1, None
    return sorted(r.idempotency_key for r in rows)


def _aware(when: datetime) -> datetime:
    """SQLite hands back naive datetimes (stored as UTC)."""
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _duplicate(ctx: Context, ref: str, doc: ShipNotice | Invoice) -> Outcome:
    if isinstance(doc, ShipNotice):
        set_id = "856"
        what = (
            f"ASN {doc.shipment_id} from {ctx.partner} was already received under another interchange; "
            "no second receipt written"
        )
    else:
        set_id = "810"
        what = (
            f"Invoice {doc.invoice_number} from {ctx.partner} was already entered under another interchange; "
            "not entered again"
        )
    return Outcome(
        ref,
        set_id,
        duplicate=True,
        audits=[dict(direction="IN", document_type=set_id, source_id=ctx.key, status="duplicate", message=what)],
    )


def _invalid(partner: str, received: ReceivedDocument, told: str) -> Problem:
    errors = "; ".join(e.message for e in received.errors[:5]) or "it could not be read"
    more = f" (and {len(received.errors) - 5} more)" if len(received.errors) > 5 else ""
    return Problem(
        "invalid_document",
        f"{partner}'s {received.transaction_set or 'document'} (interchange {received.interchange_control}, "
        f"set {received.set_control}) failed validation",
        f"{errors}{more}. {told}".rstrip(),
        "Ask the partner to correct the document and send it again; nothing was written to Sage.",
        {"interchange": received.interchange_control, "set": received.set_control, "partner": partner},
    )


def _unreadable(partner: str, key: str, reason: str, told: str) -> Problem:
    return Problem(
        "unreadable_document",
        f"A message from {partner} is not an X12 interchange the connector can read",
        f"Cleo delivered it as {key}; {reason}. {told or 'No 997 could answer it.'}",
        "Ask the partner what they meant to send and to send it again as X12; the raw copy is kept in the audit log.",
        {"partner": partner},
    )


__all__ = ["Receiving", "Tolerances"]
