"""What every inbound document handler shares: the Sage operations it needs, what it read from the store before
starting (one transaction), and what it hands back to be recorded (one transaction).

A handler is three steps: plan (pure, in `flows.matching`), apply to Sage with its key, and an `Outcome` the
dispatcher records with everything else of the interchange in one store transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from mlconnector.flows.faults import FaultHook
from mlconnector.flows.matching import GLEntry, Problem, Unposted
from mlconnector.sage.errors import SageValidationError
from mlconnector.sage.models import GLAccount as SageGLAccount
from mlconnector.sage.models import InvoiceLine as SageInvoiceLine
from mlconnector.sage.models import LineNote, PostingResult, ReceiptLine, SageDocument
from mlconnector.sage.models import PurchaseOrder as SagePurchaseOrder
from mlconnector.store.models import (
    ExceptionRecord,
    ExceptionStatus,
    InboundStatus,
    PostingStatus,
    PurchaseOrderLineAck,
    SageReceipt,
    utcnow,
)
from mlconnector.store.ops import audit, raise_exception
from mlconnector.x12 import ReceivedDocument
from mlconnector.x12.documents import Invoice, PurchaseOrderAck, ShipNotice


class SageReceiving(Protocol):
    """The gateway operations the inbound side needs (the agent client and the gateway both have them)."""

    def purchase_order(self, purchase_order_no: str) -> SagePurchaseOrder: ...

    def receive_goods(
        self, purchase_order_no: str, lines: list[ReceiptLine], key: str, receipt_date: str | None = None
    ) -> SageDocument: ...

    def receive_invoice(
        self,
        purchase_order_no: str,
        invoice_no: str,
        invoice_date: str,
        lines: list[SageInvoiceLine],
        key: str,
        freight_amount: float = 0.0,
    ) -> SageDocument: ...

    def post_receipts(self, posting_date: str | None = None) -> PostingResult: ...

    def find_by_source_key(self, key: str) -> SageDocument | None: ...

    def note_po_lines(self, purchase_order_no: str, notes: list[LineNote]) -> int: ...

    def gl_accounts(self) -> list[SageGLAccount]: ...


@dataclass(frozen=True)
class Tolerances:
    over_shipment_percent: float = 0.0
    price_variance_percent: float = 2.0
    price_variance_amount: float = 0.0
    post_invoices: bool = True


@dataclass
class Context:
    """One interchange being applied: read from the store in the transaction that starts it."""

    key: str
    partner: str
    resumed: bool
    sage: SageReceiving
    tolerances: Tolerances
    fault: FaultHook
    mapped_partners: Mapping[str, str]
    """Sage vendor key → the trading partner it is mapped to."""
    others_by_business_key: Mapping[str, list[str]]
    """Business key → statuses of other documents that carry it (the same ASN or invoice under another ICN)."""
    unposted: dict[str, dict[str, Unposted]]
    """PO → line key → quantities written to Sage but not posted yet (the journal's, then this interchange's)."""
    journal_seen: int
    """The newest `sage_receipts` row when the document started (a receipt recorded since may reopen it)."""
    gl: Callable[[], tuple[dict[str, GLEntry], set[str]]]
    answered: str = ""
    """How our 997 / TA1 told the partner about this interchange, in plain words (for exceptions)."""

    written: dict[str, SageDocument] = field(default_factory=dict)
    """Sage key → receipt written (or found) by an earlier set of this interchange."""

    def learn(self, outcome: Outcome) -> None:
        """What a set wrote, for the sets after it in the same interchange: its receipts are in Sage but not in the
        journal yet (recorded with the whole interchange), so without this a second ASN for the same PO would be
        matched as if the first had not shipped, and an invoice would not see the goods it bills."""
        for receipt, doc in zip(outcome.receipts, outcome.documents, strict=True):
            self.written[receipt.sage_key] = doc.model_copy(update={"created": False})  # found, if asked again
            if receipt.status != PostingStatus.WRITTEN:
                continue  # posted already: Sage's own quantities (read fresh by the next set) include it
            lines = self.unposted.setdefault(receipt.po_number, {})
            for line, quantity in (receipt.quantities or {}).items():
                was = lines.get(line, Unposted())
                lines[line] = (
                    Unposted(was.received + quantity, was.invoiced)
                    if receipt.receipt_type == "G"
                    else Unposted(was.received, was.invoiced + quantity)
                )

    read: dict[str, SagePurchaseOrder | None] = field(default_factory=dict)
    """POs read for this interchange: a PO named by several of its sets is read from Sage once."""

    def purchase_order(self, number: str) -> SagePurchaseOrder | None:
        """The Sage PO, or None when there is none (a number Sage cannot even hold, e.g. too long, is none).

        Read once per interchange: its sets run back to back, and what an earlier set wrote reaches the later ones
        through `unposted` (`learn`), as the journal carries it between interchanges."""
        if number not in self.read:
            try:
                self.read[number] = self.sage.purchase_order(number)
            except SageValidationError:
                self.read[number] = None
        return self.read[number]


@dataclass
class Outcome:
    """What applying one transaction set came to; recorded with the rest of the interchange in one transaction."""

    ref: str
    set_id: str
    problems: list[Problem] = field(default_factory=list)
    audits: list[dict[str, Any]] = field(default_factory=list)
    receipts: list[SageReceipt] = field(default_factory=list)
    documents: list[SageDocument] = field(default_factory=list)
    """The Sage receipt behind each of `receipts`, in the same order."""
    line_acks: list[PurchaseOrderLineAck] = field(default_factory=list)
    effects: list[Callable[[Session], None]] = field(default_factory=list)
    """Store-only effects (a partner's 997 reconciled with what we sent)."""
    reopen_invoices_of: set[str] = field(default_factory=set)
    """POs that got goods: invoices waiting for them go again at the next poll."""
    duplicate: bool = False
    applied_despite_problems: bool = False
    """An 855 with changes is applied: its exceptions are for the buyer, not a failure to apply."""

    @property
    def status(self) -> InboundStatus:
        if self.duplicate:
            return InboundStatus.DUPLICATE
        if self.problems and not self.applied_despite_problems:
            return InboundStatus.EXCEPTION
        return InboundStatus.APPLIED


def combine(outcomes: Iterable[Outcome]) -> InboundStatus:
    statuses = [o.status for o in outcomes]
    if InboundStatus.EXCEPTION in statuses:
        return InboundStatus.EXCEPTION
    if statuses and all(s == InboundStatus.DUPLICATE for s in statuses):
        return InboundStatus.DUPLICATE
    return InboundStatus.APPLIED


def set_ref(partner: str, received: ReceivedDocument) -> str:
    """The document an exception is about, as a clerk would name it."""
    doc = received.document
    if isinstance(doc, ShipNotice):
        return f"856:{partner}:{doc.shipment_id}"
    if isinstance(doc, Invoice):
        return f"810:{partner}:{doc.invoice_number}"
    if isinstance(doc, PurchaseOrderAck):
        return f"855:{partner}:{doc.po_number}"
    return f"{received.transaction_set or 'X12'}:{partner}:ICN {received.interchange_control} ST {received.set_control}"


def business_key(partner: str, received: ReceivedDocument) -> str | None:
    """partner + set type + BSN02 / BIG02 / BAK03: the same shipment or invoice under any ICN."""
    doc = received.document
    if isinstance(doc, ShipNotice):
        return f"{partner}:856:{doc.shipment_id}"
    if isinstance(doc, Invoice):
        return f"{partner}:810:{doc.invoice_number}"
    return None


def receipt_row(key: str, sage_key: str, doc: SageDocument, quantities: Mapping[str, float]) -> SageReceipt:
    """The posting journal's row for a receipt written (or found) in Sage."""
    return SageReceipt(
        sage_key=sage_key,
        source_key=key,
        receipt_type=doc.receipt_type,
        receipt_no=doc.receipt_no,
        po_number=doc.purchase_order_no,
        quantities=dict(quantities),
        status=PostingStatus.POSTED if doc.posted else PostingStatus.WRITTEN,
        posted_at=utcnow() if doc.posted else None,
    )


def record(session: Session, key: str, outcome: Outcome) -> None:
    """Write one outcome: audit lines, posting journal, line answers, and one exception per problem kind (closing
    the ones of this document whose cause went away)."""
    for entry in outcome.audits:
        audit(session, **entry)
    for receipt in outcome.receipts:
        known = session.scalars(select(SageReceipt).where(SageReceipt.sage_key == receipt.sage_key)).first()
        if known is None:
            session.add(receipt)
        elif receipt.status == PostingStatus.POSTED and known.status != PostingStatus.POSTED:
            known.status, known.posted_at = PostingStatus.POSTED, receipt.posted_at
    for line_ack in outcome.line_acks:
        session.merge(line_ack)
    for effect in outcome.effects:
        effect(session)
    by_kind: dict[str, list[Problem]] = {}
    for problem in outcome.problems:
        by_kind.setdefault(problem.kind, []).append(problem)
    settle(session, outcome.ref, set(by_kind))
    for kind, group in by_kind.items():
        first = group[0]
        raise_exception(
            session,
            kind=kind,
            what=first.what if len(group) == 1 else f"{first.what} (and {len(group) - 1} more like it)",
            why=" ".join(p.why for p in group),
            suggested_fix=first.fix,
            document_ref=outcome.ref,
            idempotency_key=key,
            details={**first.details, "document": outcome.ref, "problems": [p.details for p in group]},
        )
        audit(
            session,
            direction="IN",
            document_type=outcome.set_id,
            source_id=key,
            status="exception",
            message=f"{kind}: {first.what}",
        )


def settle(session: Session, ref: str, still_open: set[str]) -> None:
    """Resolve this document's open exceptions whose kind is no longer a problem."""
    for record_ in session.scalars(
        select(ExceptionRecord).where(
            ExceptionRecord.document_ref == ref, ExceptionRecord.status == ExceptionStatus.OPEN
        )
    ):
        if record_.kind not in still_open:
            record_.status, record_.resolved_at = ExceptionStatus.RESOLVED, utcnow()


def sage_refused(what: str, exc: SageValidationError, details: dict[str, Any]) -> Problem:
    return Problem(
        "sage_refused",
        what,
        exc.message,
        "Correct the cause in Sage (named above), then retry this exception.",
        {**details, "field": exc.field},
    )
