"""Inbound documents into Sage: answer each interchange with our 997, then apply 997/855/856/810 by type.

Order of work for one stored interchange (already raw in `inbound_documents`):

1. Our 997 is rendered and its ISA13 taken in one transaction, then sent; a restart resends the same interchange
   and Cleo answers 409, so the partner never gets two.
2. Each transaction set is matched against Sage (pure planning in `matching`); every problem of a PO is found before
   anything is written for it, and each becomes one exception a clerk can act on.
3. Sage writes carry keys built from partner + BSN02/BIG02 (+ PO), not the ICN: a resend under a new ICN finds the
   receipt already in Sage and writes nothing twice.

Document status: received → applying (Sage writes may have started; a restart checks Sage by key before planning)
→ applied | duplicate | exception.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mlconnector.cleo import CleoClient, CleoError
from mlconnector.flows import faults
from mlconnector.flows.inbound import reconcile
from mlconnector.flows.liveness import Backoff, classify, due, mark_ack_moved, mark_ack_waiting
from mlconnector.flows.matching import (
    GLEntry,
    InvoicePlan,
    Problem,
    ReceiptPlan,
    partner_problem,
    plan_invoice,
    plan_receipt,
)
from mlconnector.flows.purchase_orders import line_key
from mlconnector.flows.reference import gl_rows
from mlconnector.sage.errors import SageValidationError
from mlconnector.sage.models import GLAccount as SageGLAccount
from mlconnector.sage.models import InvoiceLine as SageInvoiceLine
from mlconnector.sage.models import LineNote, PostingResult, ReceiptLine, SageDocument
from mlconnector.sage.models import PurchaseOrder as SagePurchaseOrder
from mlconnector.store import Store
from mlconnector.store.models import (
    ExceptionRecord,
    GLAccount,
    InboundDocument,
    PartnerMapping,
    PurchaseOrderLineAck,
    utcnow,
)
from mlconnector.store.ops import allocate_control_numbers, audit, raise_exception, replace_gl_cache
from mlconnector.x12 import ReceivedDocument, functional_acks, read_documents
from mlconnector.x12.documents import FunctionalAck, Invoice, PurchaseOrderAck, ShipmentOrder, ShipNotice

# Documents still to work on: never started, or started and interrupted (Sage may already hold part of it).
OPEN_STATUSES = ("received", "applying")
ACK_STATUS_NAMES = {
    "IA": "accepted",
    "AC": "accepted",
    "IB": "backordered",
    "BP": "backordered",
    "IR": "rejected",
    "ID": "rejected",
    "R1": "rejected",
    "R2": "rejected",
    "R3": "rejected",
    "R4": "rejected",
}


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
    post_invoices: bool = True


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


def _yyyymmdd(value: object) -> str:
    return value.strftime("%Y%m%d")  # type: ignore[attr-defined]


class Receiving:
    """Applies stored inbound interchanges to Sage and the connector's data; one call per document, any worker."""

    def __init__(
        self,
        store: Store,
        sage: SageReceiving,
        cleo: CleoClient,
        tolerances: Tolerances,
        backoff: Backoff | None = None,
    ) -> None:
        self.store, self.sage, self.cleo, self.tolerances = store, sage, cleo, tolerances
        self.backoff = backoff or Backoff()

    # ---------------------------------------------------------------------------------------------- entry points

    def process(self, key: str) -> str:
        """Answer and apply one stored interchange; returns its status (unchanged when already done)."""
        with self.store.transaction() as session:
            row = session.scalars(select(InboundDocument).where(InboundDocument.idempotency_key == key)).one()
            if row.status not in OPEN_STATUSES:
                return row.status
            if row.ack_status == "none":
                self._stage_ack(session, row)
            partner, payload, resumed = row.partner or "", row.payload, row.status == "applying"
            row.status = "applying"
        self.send_ack(key)
        faults.point("inbound_before_apply")
        try:
            documents = read_documents(payload, lenient=True)
        except Exception as exc:  # any input at all must end as a record, never a crash
            documents, unreadable = [], f"{type(exc).__name__}: {exc}"
        else:
            unreadable = "no transaction set could be found in it"
        if documents:
            status = _combine([self._apply(key, partner, received, resumed) for received in documents])
        else:
            status = self._record(key, f"X12:{key}", "X12", [_unreadable(partner, key, unreadable)])
        with self.store.transaction() as session:
            row = session.scalars(select(InboundDocument).where(InboundDocument.idempotency_key == key)).one()
            row.status, row.processed_at = status, utcnow()
        return status

    def retry(self, key: str) -> str:
        """Run a document again after its cause was fixed; Sage keys make what was already written a no-op."""
        with self.store.transaction() as session:
            row = session.scalars(select(InboundDocument).where(InboundDocument.idempotency_key == key)).one()
            if row.status not in ("applied", "duplicate"):
                row.status = "applying"
                # Re-opened: a new attempt number, so the engine never hands back an earlier attempt's result.
                row.attempts = (row.attempts or 0) + 1
            if row.ack_status == "failed" and row.ack_payload is not None:
                row.ack_status = "pending"  # our 997 Cleo refused: sent again at the next poll
        return self.process(key)

    def send_ack(self, key: str) -> str:
        """Send the 997 staged for a document (again, after a crash: the same ICN, so Cleo keeps one)."""
        with self.store.transaction() as session:
            row = session.scalars(select(InboundDocument).where(InboundDocument.idempotency_key == key)).one()
            if row.ack_status != "pending" or row.ack_payload is None or row.ack_interchange is None:
                return row.ack_status
            partner, payload, icn = row.partner or "", row.ack_payload, f"{row.ack_interchange:09d}"
        try:
            result = self.cleo.send_document(partner, payload, document_type="997", icn=icn)
        except CleoError as exc:
            failure = classify(exc)
            with self.store.transaction() as session:
                row = session.scalars(select(InboundDocument).where(InboundDocument.idempotency_key == key)).one()
                if failure.transient:  # retried with backoff; a `stalled` exception if Cleo stays away
                    mark_ack_waiting(row, failure, self.backoff, utcnow())
                    return "pending"
                row.ack_status = "failed"
                mark_ack_moved(row)
                raise_exception(
                    session,
                    kind="ack_not_sent",
                    what=f"Our 997 for {partner}'s interchange {key.rsplit(':', 1)[1]} was refused by Cleo",
                    why=f"Cleo did not take it: {exc}",
                    suggested_fix="Check the partner's set-up in Cleo, then `ml-connector exceptions retry` this.",
                    document_ref=f"997:{key}",
                    idempotency_key=key,
                )
            return "failed"
        with self.store.transaction() as session:
            row = session.scalars(select(InboundDocument).where(InboundDocument.idempotency_key == key)).one()
            row.ack_status = "sent"
            mark_ack_moved(row)
            _settle(session, f"997:{key}", set())
            audit(
                session,
                direction="OUT",
                document_type="997",
                source_id=key,
                target_id=result.message_id,
                status="already_sent" if result.already_sent else "sent",
                idempotency_key=f"{partner}:{icn}",
            )
        return "sent"

    def pending_acks(self) -> list[str]:
        """Our 997s not yet in Cleo whose backoff is over."""
        with self.store.transaction() as session:
            return list(
                session.scalars(
                    select(InboundDocument.idempotency_key).where(
                        InboundDocument.ack_status == "pending", due(InboundDocument.ack_next_attempt_at, utcnow())
                    )
                )
            )

    # ------------------------------------------------------------------------------------------------------ 997

    def _stage_ack(self, session: Session, row: InboundDocument) -> None:
        """Render the 997 for every non-997 group, with ISA13/GS06 taken from the partner's counters."""
        controls = StoreControls(session, row.partner or "UNKNOWN")
        try:
            text = functional_acks(row.payload, control_numbers=controls)
        except Exception as exc:  # any input at all must end as a record, never a crash
            row.ack_status = "failed"
            raise_exception(
                session,
                kind="ack_failed",
                what=f"No 997 could be made for {row.partner}'s message {row.cleo_message_id}",
                why=f"The interchange could not be read well enough to answer: {type(exc).__name__}: {exc}",
                suggested_fix="Ask the partner to resend the file; the raw copy is kept in the audit log.",
                document_ref=f"997:{row.idempotency_key}",
                idempotency_key=row.idempotency_key,
            )
            return
        if not text or controls.first_interchange is None:
            row.ack_status = "not_needed"
            return
        row.ack_status, row.ack_payload, row.ack_interchange = "pending", text, controls.first_interchange

    # ---------------------------------------------------------------------------------------------- dispatching

    def _apply(self, key: str, partner: str, received: ReceivedDocument, resumed: bool) -> str:
        ref = set_ref(partner, received)
        doc = received.document
        if not received.valid:
            return self._record(key, ref, received.transaction_set, [_invalid(partner, received)])
        if isinstance(doc, FunctionalAck):
            with self.store.transaction() as session:
                reconcile(session, partner, doc, source=key)
            return "applied"
        if isinstance(doc, PurchaseOrderAck):
            return self._acknowledgment(key, partner, ref, doc)
        if isinstance(doc, ShipNotice):
            return self._ship_notice(key, partner, ref, received, doc, resumed)
        if isinstance(doc, Invoice):
            return self._invoice(key, partner, ref, received, doc, resumed)
        with self.store.transaction() as session:
            audit(
                session,
                direction="IN",
                document_type=received.transaction_set,
                source_id=key,
                status="ignored",
                message=f"A {received.transaction_set} is not something the connector applies; kept and answered",
            )
        return "applied"

    def _duplicate_of(self, key: str, bkey: str | None) -> tuple[bool, bool]:
        """(applied before under another ICN, seen before at all): claims the business key for this document."""
        if bkey is None:
            return False, False
        with self.store.transaction() as session:
            row = session.scalars(select(InboundDocument).where(InboundDocument.idempotency_key == key)).one()
            row.business_key = row.business_key or bkey
            others = session.scalars(
                select(InboundDocument.status).where(
                    InboundDocument.business_key == bkey, InboundDocument.idempotency_key != key
                )
            ).all()
        return "applied" in others, bool(others)

    def _audit_duplicate(self, key: str, set_id: str, what: str, target: str | None = None) -> str:
        with self.store.transaction() as session:
            audit(
                session,
                direction="IN",
                document_type=set_id,
                source_id=key,
                target_id=target,
                status="duplicate",
                message=what,
            )
        return "duplicate"

    def _purchase_order(self, number: str) -> SagePurchaseOrder | None:
        """The Sage PO, or None when there is none (a number Sage cannot even hold, e.g. too long, is none)."""
        try:
            return self.sage.purchase_order(number)
        except SageValidationError:
            return None

    def _wrong_partner(self, document: str, po: SagePurchaseOrder | None, partner: str) -> Problem | None:
        if po is None:
            return None
        with self.store.transaction() as session:
            mapping = session.get(PartnerMapping, po.vendor_key)
            mapped = mapping.partner if mapping else None
        return partner_problem(document, po, partner, mapped)

    # ------------------------------------------------------------------------------------------------------ 856

    def _ship_notice(
        self, key: str, partner: str, ref: str, received: ReceivedDocument, notice: ShipNotice, resumed: bool
    ) -> str:
        """One receipt of goods per PO of the ASN; a PO with any problem gets none; then the register is posted."""
        applied_before, seen_before = self._duplicate_of(key, business_key(partner, received))
        if applied_before:
            return self._audit_duplicate(
                key,
                "856",
                f"ASN {notice.shipment_id} from {partner} was already received under another interchange; "
                "no second receipt written",
            )
        check_sage = resumed or seen_before
        problems: list[Problem] = []
        plans: list[tuple[ReceiptPlan, str]] = []
        found: list[SageDocument] = []
        for order in _orders_by_po(notice.orders):
            sage_key = f"asn:{partner}:{notice.shipment_id}:{order.po_number}"
            if check_sage and (existing := self.sage.find_by_source_key(sage_key)) is not None:
                found.append(existing)
                continue
            po = self._purchase_order(order.po_number)
            if (wrong := self._wrong_partner(f"ASN {notice.shipment_id}", po, partner)) is not None:
                problems.append(wrong)
                continue
            result = plan_receipt(
                order, po, shipment_id=notice.shipment_id, over_shipment_percent=self.tolerances.over_shipment_percent
            )
            if isinstance(result, ReceiptPlan):
                plans.append((result, sage_key))
            else:
                problems.extend(result)
        written: list[SageDocument] = []
        for plan, sage_key in plans:
            try:
                written.append(self.sage.receive_goods(plan.po_number, list(plan.lines), sage_key))
            except SageValidationError as exc:
                problems.append(
                    Problem(
                        "sage_refused",
                        f"Sage refused the receipt of ASN {notice.shipment_id} for PO {plan.po_number}",
                        exc.message,
                        "Correct the cause in Sage (named above), then retry this exception.",
                        {"po": plan.po_number, "field": exc.field},
                    )
                )
        faults.point("inbound_after_receipt")
        if any(not doc.posted for doc in written + found):
            self.sage.post_receipts()
        with self.store.transaction() as session:
            for doc in written + found:
                audit(
                    session,
                    direction="IN",
                    document_type="856",
                    source_id=key,
                    target_id=f"{doc.purchase_order_no}/G-{doc.receipt_no}",
                    status="received" if doc.created else "already_in_sage",
                    idempotency_key=f"asn:{partner}:{notice.shipment_id}:{doc.purchase_order_no}",
                    message=f"ASN {notice.shipment_id}: receipt of goods {doc.receipt_no} for PO "
                    f"{doc.purchase_order_no}" + ("" if doc.created else " was already in Sage; not written again"),
                )
        status = self._record(key, ref, "856", problems)
        if written or found:
            self._retry_waiting_invoices({doc.purchase_order_no for doc in written + found})
        return status

    def _retry_waiting_invoices(self, po_numbers: set[str] | None = None) -> list[str]:
        """Invoices that arrived before their goods (all, or those of `po_numbers`): try them again now."""
        with self.store.transaction() as session:
            waiting = session.scalars(
                select(ExceptionRecord).where(ExceptionRecord.kind == "not_received", ExceptionRecord.status == "open")
            ).all()
            keys = {
                e.idempotency_key
                for e in waiting
                if e.idempotency_key and (po_numbers is None or (e.details or {}).get("po") in po_numbers)
            }
        return [self.retry(waiting_key) for waiting_key in sorted(keys)]

    def retry_waiting_invoices(self) -> list[str]:
        """Each poll: an invoice processed in parallel with its ASN may have looked before the receipt was posted."""
        return self._retry_waiting_invoices(None)

    # ------------------------------------------------------------------------------------------------------ 810

    def _gl(self) -> tuple[dict[str, GLEntry], set[str]]:
        """The GL cache (filled by the GL job; read from Sage once when it is still empty)."""
        with self.store.transaction() as session:
            empty = session.scalars(select(GLAccount.account_key)).first() is None
        if empty:
            accounts = gl_rows(self.sage.gl_accounts())
            try:
                with self.store.transaction() as session:
                    replace_gl_cache(session, accounts)
            except IntegrityError:
                pass  # another worker filled the cache at the same moment: use theirs
        with self.store.transaction() as session:
            rows = session.scalars(select(GLAccount)).all()
            gl = {r.account_key: GLEntry(r.account_key, r.account, r.department, r.active) for r in rows}
        return gl, {e.department for e in gl.values() if e.department and e.active}

    def _invoice(
        self, key: str, partner: str, ref: str, received: ReceivedDocument, invoice: Invoice, resumed: bool
    ) -> str:
        """A receipt of invoice after price, quantity and GL checks; duplicates (any ICN, or in Sage) never twice."""
        applied_before, seen_before = self._duplicate_of(key, business_key(partner, received))
        if applied_before:
            return self._audit_duplicate(
                key,
                "810",
                f"Invoice {invoice.invoice_number} from {partner} was already entered under another interchange; "
                "not entered again",
            )
        sage_key = f"inv:{partner}:{invoice.invoice_number}"
        doc = self.sage.find_by_source_key(sage_key) if (resumed or seen_before) else None
        if doc is None:
            po = self._purchase_order(invoice.po_number) if invoice.po_number else None
            if (wrong := self._wrong_partner(f"Invoice {invoice.invoice_number}", po, partner)) is not None:
                return self._record(key, ref, "810", [wrong])
            gl, centres = self._gl()
            plan = plan_invoice(invoice, po, gl, centres, price_variance_percent=self.tolerances.price_variance_percent)
            if not isinstance(plan, InvoicePlan):
                return self._record(key, ref, "810", plan)
            try:
                doc = self.sage.receive_invoice(
                    plan.po_number,
                    plan.invoice_number,
                    _yyyymmdd(invoice.invoice_date),
                    list(plan.lines),
                    sage_key,
                    freight_amount=float(plan.freight),
                )
            except SageValidationError as exc:
                return self._record(key, ref, "810", [_sage_refused(invoice, plan.po_number, exc)])
        faults.point("inbound_after_invoice")
        if self.tolerances.post_invoices and not doc.posted:
            self.sage.post_receipts()
        with self.store.transaction() as session:
            audit(
                session,
                direction="IN",
                document_type="810",
                source_id=key,
                target_id=f"{doc.purchase_order_no}/I-{doc.receipt_no}",
                status="invoiced" if doc.created else "already_in_sage",
                idempotency_key=sage_key,
                message=f"Invoice {invoice.invoice_number} (Sage {doc.invoice_no}): receipt of invoice "
                f"{doc.receipt_no} for PO {doc.purchase_order_no}"
                + ("" if doc.created else " was already in Sage; not written again"),
            )
        return self._record(key, ref, "810", [])

    # ------------------------------------------------------------------------------------------------------ 855

    def _acknowledgment(self, key: str, partner: str, ref: str, ack: PurchaseOrderAck) -> str:
        """Keep the supplier's answer per line; changes and refusals go to the buyer as exceptions."""
        po = self._purchase_order(ack.po_number)
        if (wrong := self._wrong_partner(f"{partner}'s acknowledgment", po, partner)) is not None:
            return self._record(key, ref, "855", [wrong])
        if po is None:
            return self._record(
                key,
                ref,
                "855",
                [
                    Problem(
                        "unknown_po",
                        f"{partner}'s acknowledgment names PO {ack.po_number}, which is not in Sage",
                        f"Sage has no purchase order {ack.po_number}.",
                        "Check the PO number with the supplier, or resolve this exception.",
                        {"po": ack.po_number},
                    )
                ],
            )
        changed, refused = [], []
        notes: list[LineNote] = []
        po_lines = {line.line_key for line in po.lines}
        with self.store.transaction() as session:
            for line in ack.lines:
                codes = [s.status for s in line.statuses] or ["IA"]
                names = {ACK_STATUS_NAMES.get(code, "changed") for code in codes}
                status = next(s for s in ("rejected", "changed", "backordered", "accepted") if s in names)
                main = next((s for s in line.statuses if ACK_STATUS_NAMES.get(s.status, "changed") == status), None)
                quantity = main.quantity if main and main.quantity is not None else line.quantity
                when = main.date.isoformat() if main and main.date else None
                session.merge(
                    PurchaseOrderLineAck(
                        po_number=ack.po_number,
                        line_number=line.line_number,
                        partner=partner,
                        status_code="+".join(codes)[:4],
                        status=status,
                        quantity=str(quantity),
                        unit_price=None if line.unit_price is None else str(line.unit_price),
                        promised_date=when,
                        source_key=key,
                    )
                )
                summary = f"line {line.line_number}: {'/'.join(codes)} quantity {quantity}" + (
                    f" at {line.unit_price}" if line.unit_price is not None else ""
                )
                if (key_of_line := line_key(line.line_number)) in po_lines:
                    notes.append(
                        LineNote(
                            line_key=key_of_line,
                            text=f"EDI 855 from {partner}: {status} ({'/'.join(codes)}) quantity {quantity}"
                            + (f" at {line.unit_price}" if line.unit_price is not None else "")
                            + (f", ship {when}" if when else ""),
                        )
                    )
                if status == "rejected":
                    refused.append(summary)
                elif status == "changed":
                    changed.append(summary)
            audit(
                session,
                direction="IN",
                document_type="855",
                source_id=key,
                target_id=ack.po_number,
                status=f"ack_{ack.ack_type.lower()}",
                message=f"{len(ack.lines)} line(s) answered; {len(changed)} changed, {len(refused)} rejected",
            )
        problems = []
        try:
            # The buyer sees the supplier's answer on the PO lines in Sage (CommentText$), not only here.
            self.sage.note_po_lines(ack.po_number, notes)
        except SageValidationError as exc:
            problems.append(
                Problem(
                    "po_note_refused",
                    f"Sage refused the 855 notes on PO {ack.po_number}",
                    f"Sage answered: {exc}.",
                    "The answer is kept in the connector (`exceptions show`); fix the PO in Sage and retry.",
                    {"po": ack.po_number},
                )
            )
        if refused:
            problems.append(
                Problem(
                    "po_line_rejected",
                    f"{partner} refused {len(refused)} line(s) of PO {ack.po_number}",
                    "The supplier's 855 rejected: " + "; ".join(refused) + ".",
                    "Source the refused lines elsewhere or cancel them on the PO in Sage (the change is sent), then "
                    "resolve this exception.",
                    {"po": ack.po_number},
                )
            )
        if changed:
            problems.append(
                Problem(
                    "po_changed_by_supplier",
                    f"{partner} changed {len(changed)} line(s) of PO {ack.po_number}",
                    "The supplier's 855 accepted with changes: " + "; ".join(changed) + ".",
                    "If the change is agreed, update the PO line in Sage (price or quantity) so the ASN and invoice "
                    "match; otherwise contact the supplier. Then resolve this exception.",
                    {"po": ack.po_number},
                )
            )
        # An 855 with changes is still recorded: the exceptions are for the buyer, not a failure to apply.
        self._record(key, ref, "855", problems)
        return "applied"

    # -------------------------------------------------------------------------------------------- exceptions

    def _record(self, key: str, ref: str, set_id: str, problems: Iterable[Problem]) -> str:
        """Open one exception per problem kind for this document and close the ones whose cause went away."""
        by_kind: dict[str, list[Problem]] = {}
        for problem in problems:
            by_kind.setdefault(problem.kind, []).append(problem)
        with self.store.transaction() as session:
            _settle(session, ref, set(by_kind))
            for kind, group in by_kind.items():
                first = group[0]
                raise_exception(
                    session,
                    kind=kind,
                    what=first.what if len(group) == 1 else f"{first.what} (and {len(group) - 1} more like it)",
                    why=" ".join(p.why for p in group),
                    suggested_fix=first.fix,
                    document_ref=ref,
                    idempotency_key=key,
                    details={**first.details, "document": ref, "problems": [p.details for p in group]},
                )
                audit(
                    session,
                    direction="IN",
                    document_type=set_id,
                    source_id=key,
                    status="exception",
                    message=f"{kind}: {first.what}",
                )
        return "exception" if by_kind else "applied"


def _settle(session: Session, ref: str, still_open: set[str]) -> None:
    for record in session.scalars(
        select(ExceptionRecord).where(ExceptionRecord.document_ref == ref, ExceptionRecord.status == "open")
    ):
        if record.kind not in still_open:
            record.status, record.resolved_at = "resolved", utcnow()


def _orders_by_po(orders: Iterable[ShipmentOrder]) -> list[ShipmentOrder]:
    """One order per PO, even when the ASN lists a PO at two order levels (quantities are checked together)."""
    merged: dict[str, ShipmentOrder] = {}
    for order in orders:
        if order.po_number in merged:
            first = merged[order.po_number]
            merged[order.po_number] = ShipmentOrder(
                first.po_number, first.po_date, items=first.all_items() + order.all_items()
            )
        else:
            merged[order.po_number] = order
    return list(merged.values())


def _invalid(partner: str, received: ReceivedDocument) -> Problem:
    errors = "; ".join(e.message for e in received.errors[:5]) or "it could not be read"
    more = f" (and {len(received.errors) - 5} more)" if len(received.errors) > 5 else ""
    return Problem(
        "invalid_document",
        f"{partner}'s {received.transaction_set or 'document'} (interchange {received.interchange_control}, "
        f"set {received.set_control}) failed validation",
        f"{errors}{more}. Our 997 told the partner it was rejected.",
        "Ask the partner to correct the document and send it again; nothing was written to Sage.",
        {"interchange": received.interchange_control, "set": received.set_control, "partner": partner},
    )


def _unreadable(partner: str, key: str, reason: str) -> Problem:
    return Problem(
        "unreadable_document",
        f"A message from {partner} is not an X12 interchange the connector can read",
        f"Cleo delivered it as {key}; {reason}. No 997 could answer it.",
        "Ask the partner what they meant to send and to send it again as X12; the raw copy is kept in the audit log.",
        {"partner": partner},
    )


def _sage_refused(invoice: Invoice, po_number: str, exc: SageValidationError) -> Problem:
    duplicate = "already exists" in exc.message
    return Problem(
        "duplicate_invoice" if duplicate else "sage_refused",
        f"Sage refused invoice {invoice.invoice_number} for PO {po_number}",
        exc.message,
        "Check the vendor's invoices in Sage: if it was keyed by hand, resolve this exception; otherwise correct "
        "the cause and retry."
        if duplicate
        else "Correct the cause in Sage (named above), then retry this exception.",
        {"po": po_number, "invoice": invoice.invoice_number, "field": exc.field},
    )


def _combine(outcomes: list[str]) -> str:
    if any(o == "exception" for o in outcomes):
        return "exception"
    if outcomes and all(o == "duplicate" for o in outcomes):
        return "duplicate"
    return "applied"


__all__ = ["OPEN_STATUSES", "Receiving", "SageReceiving", "StoreControls", "Tolerances", "business_key"]
