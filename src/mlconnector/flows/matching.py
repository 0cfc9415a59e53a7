"""Matching what suppliers send against Sage: ASN lines to PO lines, invoices to POs, receipts and the GL.

Pure functions: documents and Sage records in, a plan to write or the reasons not to out. A document with any
problem for a PO writes nothing for that PO — never half a receipt — and every problem says, in a clerk's words,
what is wrong and what to do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from mlconnector.flows.purchase_orders import decimal
from mlconnector.flows.purchase_orders import line_key as to_line_key
from mlconnector.sage.models import InvoiceLine as SageInvoiceLine
from mlconnector.sage.models import LineNote, ReceiptLine
from mlconnector.sage.models import PurchaseOrder as SagePurchaseOrder
from mlconnector.sage.models import PurchaseOrderLine as SagePurchaseOrderLine
from mlconnector.x12.documents import Invoice, ProductId, PurchaseOrderAck, ShipmentItem, ShipmentOrder

CLOSED_STATUSES = {"X": "complete", "Z": "cancelled"}
# A complete PO (every line received) is exactly what an invoice bills; only a cancelled one refuses invoices.
CLOSED_FOR_INVOICE = {"Z": "cancelled"}


@dataclass(frozen=True)
class Problem:
    """One reason a document (or part of it) cannot be applied."""

    kind: str
    what: str
    why: str
    fix: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ReceiptPlan:
    po_number: str
    lines: tuple[ReceiptLine, ...]


@dataclass(frozen=True)
class InvoicePlan:
    po_number: str
    invoice_number: str
    lines: tuple[SageInvoiceLine, ...]
    freight: Decimal = Decimal(0)


@dataclass(frozen=True)
class GLEntry:
    """What the GL cache knows of one account (`account` is formatted main-division-department)."""

    account_key: str
    account: str
    department: str | None
    active: bool

    def with_department(self, gl: Mapping[str, GLEntry], department: str) -> GLEntry | None:
        """The same main account and division with another cost centre, if the chart has it."""
        main_division = self.account.rsplit("-", 1)[0]
        return next((e for e in gl.values() if e.account == f"{main_division}-{department}"), None)


@dataclass(frozen=True)
class Unposted:
    """Quantities of one PO line in receipts the connector wrote and the register has not posted yet."""

    received: float = 0.0
    invoiced: float = 0.0


def with_unposted(po: SagePurchaseOrder, unposted: Mapping[str, Unposted]) -> SagePurchaseOrder:
    """The PO as it will be once the receipts already written are posted (the register runs once per poll, so a
    second ASN or an invoice for the same PO in the same poll must see the first one's quantities)."""
    if not unposted:
        return po
    lines = []
    for line in po.lines:
        extra = unposted.get(line.line_key)
        if extra is None:
            lines.append(line)
            continue
        lines.append(
            line.model_copy(
                update={
                    "quantity_received": line.quantity_received + extra.received,
                    "quantity_invoiced": line.quantity_invoiced + extra.invoiced,
                }
            )
        )
    return po.model_copy(update={"lines": lines})


SAGE_INVOICE_NO_LENGTH = 10


def sage_invoice_no(invoice_number: str) -> str:
    """The vendor's invoice number as Sage can hold it (InvoiceNo$ is 10 characters).

    Longer numbers lose their punctuation first, then their leading characters (invoice numbers differ at the end);
    the audit line keeps the supplier's full number beside Sage's.
    """
    number = invoice_number.strip()
    if len(number) <= SAGE_INVOICE_NO_LENGTH:
        return number
    compact = "".join(ch for ch in number if ch.isalnum())
    return compact[-SAGE_INVOICE_NO_LENGTH:]


def find_po_line(
    po: SagePurchaseOrder, line_number: str, product_ids: tuple[ProductId, ...]
) -> SagePurchaseOrderLine | None:
    """The PO line a supplier line refers to: by PO1 line number, else buyer item code, else vendor part."""
    by_key = {line.line_key: line for line in po.lines}
    if line_number and (line := by_key.get(to_line_key(line_number))) is not None:
        return line
    for pid in product_ids:
        for line in po.lines:
            if pid.qualifier in ("BP", "IN", "SK") and pid.value == line.item_code:
                return line
            if pid.qualifier in ("VP", "VN") and line.vendor_alias_item_no and pid.value == line.vendor_alias_item_no:
                return line
    return None


def _describe(line_number: str, product_ids: tuple[ProductId, ...]) -> str:
    ids = ", ".join(f"{p.qualifier} {p.value}" for p in product_ids)
    return f"line {line_number}" + (f" ({ids})" if ids else "")


def po_problem(
    po_number: str, po: SagePurchaseOrder | None, document: str, closed: Mapping[str, str] = CLOSED_STATUSES
) -> Problem | None:
    if po is None:
        return Problem(
            "unknown_po",
            f"{document} names PO {po_number}, which is not in Sage",
            f"Sage has no purchase order {po_number}.",
            "Check the PO number with the supplier; correct it in Cleo and resend, or resolve this exception.",
            {"po": po_number},
        )
    if po.order_status in closed:
        state = closed[po.order_status]
        return Problem(
            "closed_po",
            f"{document} is for PO {po_number}, which is {state} in Sage",
            f"PO {po_number} is {state}; nothing more can be received or invoiced against it.",
            "Reopen the PO in Sage if the goods are expected, then retry this exception.",
            {"po": po_number, "status": po.order_status},
        )
    return None


def partner_problem(document: str, po: SagePurchaseOrder, partner: str, mapped_partner: str | None) -> Problem | None:
    """A PO's vendor mapped to another trading partner: the sender is not the supplier of this PO.

    A vendor with no mapping is accepted (its POs may have gone by e-mail while it answers by EDI).
    """
    if mapped_partner is None or mapped_partner == partner:
        return None
    return Problem(
        "wrong_partner",
        f"{document} from {partner} names PO {po.purchase_order_no}, which belongs to vendor {po.vendor_key}",
        f"Vendor {po.vendor_key} trades as {mapped_partner} in Cleo, not as {partner}.",
        "Check the PO number with the partner, or correct the vendor mapping (`ml-connector map vendor`), then "
        "retry this exception.",
        {"po": po.purchase_order_no, "vendor": po.vendor_key, "partner": partner, "mapped_partner": mapped_partner},
    )


def plan_receipt(
    shipment: ShipmentOrder,
    po: SagePurchaseOrder | None,
    *,
    shipment_id: str,
    over_shipment_percent: float,
) -> ReceiptPlan | list[Problem]:
    """One receipt of goods for one PO of an ASN, or every reason not to write it."""
    document = f"ASN {shipment_id}"
    if (problem := po_problem(shipment.po_number, po, document)) is not None:
        return [problem]
    assert po is not None
    problems: list[Problem] = []
    quantities: dict[str, Decimal] = {}
    for item in shipment.all_items():
        line = find_po_line(po, item.line_number, item.product_ids)
        if line is None:
            problems.append(_unknown_item(document, po.purchase_order_no, item))
            continue
        quantities[line.line_key] = quantities.get(line.line_key, Decimal(0)) + item.quantity_shipped
    tolerance = Decimal(str(over_shipment_percent)) / 100
    by_key = {line.line_key: line for line in po.lines}
    for key, quantity in quantities.items():
        line = by_key[key]
        open_quantity = decimal(line.quantity_ordered) - decimal(line.quantity_received)
        allowed = open_quantity + decimal(line.quantity_ordered) * tolerance
        if quantity > allowed:
            problems.append(
                Problem(
                    "over_shipment",
                    f"{document} ships more than PO {po.purchase_order_no} line {int(key)} has open",
                    f"Item {line.item_code}: {quantity} {line.unit_of_measure} shipped, {open_quantity} open "
                    f"(ordered {line.quantity_ordered:g}, received {line.quantity_received:g}, "
                    f"tolerance {over_shipment_percent:g}%).",
                    "Agree the extra quantity with the buyer: raise the PO line quantity in Sage and retry, "
                    "or refuse the excess and resolve this exception.",
                    {"po": po.purchase_order_no, "line": key, "shipped": str(quantity), "open": str(open_quantity)},
                )
            )
    if problems:
        return problems
    if not quantities:
        return [
            Problem(
                "empty_shipment",
                f"{document} lists no items for PO {po.purchase_order_no}",
                "The order level of the ASN has no item lines.",
                "Ask the supplier to resend the ASN with its items.",
                {"po": po.purchase_order_no},
            )
        ]
    lines = tuple(ReceiptLine(line_key=k, quantity=float(q)) for k, q in sorted(quantities.items()))
    return ReceiptPlan(po.purchase_order_no, lines)


def _unknown_item(document: str, po_number: str, item: ShipmentItem) -> Problem:
    return Problem(
        "unknown_item",
        f"{document} has an item that is not on PO {po_number}",
        f"{_describe(item.line_number, item.product_ids)} matches no line of PO {po_number} "
        "(by line number, item code or vendor part).",
        "Check the item with the supplier, or add a vendor alias item number in Sage, then retry.",
        {"po": po_number, "line": item.line_number, "products": [f"{p.qualifier}:{p.value}" for p in item.product_ids]},
    )


def plan_invoice(
    invoice: Invoice,
    po: SagePurchaseOrder | None,
    gl: Mapping[str, GLEntry],
    cost_centres: set[str],
    *,
    price_variance_percent: float,
    price_variance_amount: float = 0.0,
) -> InvoicePlan | list[Problem]:
    """A receipt of invoice for an 810, or every reason not to post it (price, quantity, GL)."""
    document = f"Invoice {invoice.invoice_number}"
    po_number = invoice.po_number or ""
    if not po_number:
        return [
            Problem(
                "unknown_po",
                f"{document} names no PO",
                "The 810 has no PO number (BIG04), so it cannot be matched.",
                "Ask the supplier to resend the invoice with the PO number.",
                {"invoice": invoice.invoice_number},
            )
        ]
    if (problem := po_problem(po_number, po, document, CLOSED_FOR_INVOICE)) is not None:
        return [problem]
    assert po is not None
    problems: list[Problem] = []
    planned: dict[str, SageInvoiceLine] = {}
    tolerance = Decimal(str(price_variance_percent)) / 100
    allowance = Decimal(str(price_variance_amount))
    per_unit = f" or {allowance} per unit" if allowance else ""
    # A cost centre the invoice names (REF*DP, as our 850 sent it) moves the accrual to that department segment.
    named_centre = next((r.value for r in invoice.references if r.qualifier == "DP" and r.value), None)
    for item in invoice.lines:
        line = find_po_line(po, item.line_number, item.product_ids)
        if line is None:
            problems.append(
                Problem(
                    "unknown_item",
                    f"{document} bills an item that is not on PO {po_number}",
                    f"{_describe(item.line_number, item.product_ids)} matches no line of PO {po_number}.",
                    "Ask the supplier for a corrected invoice, or resolve this exception.",
                    {"po": po_number, "line": item.line_number},
                )
            )
            continue
        po_price = decimal(line.unit_cost)
        # The tolerance is a share of the PO price or, when set, an amount per unit, whichever allows more; with no
        # amount a zero-cost line allows no price at all: an invoice that charges for it is a price exception.
        if abs(item.unit_price - po_price) > max(po_price * tolerance, allowance):
            zero = " — the PO line is at no charge" if not po_price else ""
            problems.append(
                Problem(
                    "price_variance",
                    f"{document} line {item.line_number} price differs from PO {po_number}",
                    f"Item {line.item_code}: invoiced at {item.unit_price}, PO price {po_price}{zero} "
                    f"(tolerance {price_variance_percent:g}%{per_unit}).",
                    "Agree the price with the supplier; change the PO line cost in Sage and retry, or ask for a "
                    "credit memo and resolve this exception.",
                    {
                        "po": po_number,
                        "line": line.line_key,
                        "invoiced": str(item.unit_price),
                        "po_price": str(po_price),
                    },
                )
            )
        received = decimal(line.quantity_received)
        already = decimal(line.quantity_invoiced)
        if item.quantity + already > received:
            problems.append(
                Problem(
                    "not_received",
                    f"{document} bills more of PO {po_number} line {int(line.line_key)} than was received",
                    f"Item {line.item_code}: invoicing {item.quantity} (already invoiced {already}), "
                    f"received {received}.",
                    "Usually the ASN is still on its way: retry after the goods are received.",
                    {"po": po_number, "line": line.line_key},
                )
            )
        account, gl_trouble = accrual_account(document, line, gl, cost_centres, named_centre)
        problems.extend(gl_trouble)
        # Sage takes the line's cost from the PO line; only a different (tolerated) price is written.
        unit_cost = None if item.unit_price == po_price else float(item.unit_price)
        planned[line.line_key] = SageInvoiceLine(
            line_key=line.line_key, quantity=float(item.quantity), unit_cost=unit_cost, account=account
        )
    if problems:
        return problems
    freight = sum((c.amount for c in invoice.charges if c.indicator == "C"), Decimal(0))
    return InvoicePlan(po_number, sage_invoice_no(invoice.invoice_number), tuple(planned.values()), freight)


def accrual_account(
    document: str,
    line: SagePurchaseOrderLine,
    gl: Mapping[str, GLEntry],
    cost_centres: set[str],
    named_centre: str | None,
) -> tuple[str | None, list[Problem]]:
    """The account a line accrues to — the PO line's, or its twin in the cost centre the invoice names — and any
    reason it cannot take the posting. Returns the formatted account only when it differs from the PO line's."""
    entry = gl.get(line.purchases_acct_key)
    if named_centre is None or entry is None or entry.department == named_centre:
        return None, gl_problems(document, line, gl, cost_centres)
    target = entry.with_department(gl, named_centre)
    if target is None:
        return None, [
            Problem(
                "gl_account",
                f"{document}: cost centre {named_centre} has no account for PO line {int(line.line_key)}",
                f"The invoice names cost centre {named_centre}, but the chart of accounts has no "
                f"{entry.account.rsplit('-', 1)[0]}-{named_centre} (the PO line posts to {entry.account}).",
                "Ask the supplier to correct the cost centre (REF*DP), or add the account in Sage, then retry.",
                {"account": entry.account, "cost_centre": named_centre},
            )
        ]
    return target.account, gl_problems(document, line, gl, cost_centres, entry=target)


def gl_problems(
    document: str,
    line: SagePurchaseOrderLine,
    gl: Mapping[str, GLEntry],
    cost_centres: set[str],
    *,
    entry: GLEntry | None = None,
) -> list[Problem]:
    """The accrual account (the PO line's unless `entry` names another) must exist, be active and carry a known
    cost-centre segment."""
    key = line.purchases_acct_key
    entry = entry or gl.get(key)
    fix = (
        "Correct the PO line's purchases account in Sage (or the GL account), refresh the connector's copy of the "
        "chart with `ml-connector sync now gl`, then `ml-connector exceptions retry` this exception."
    )
    if entry is None:
        return [
            Problem(
                "gl_account",
                f"{document}: PO line {int(line.line_key)} posts to an unknown GL account",
                f"Account key {key or '(blank)'} is not in the chart of accounts.",
                fix,
                {"account_key": key},
            )
        ]
    if not entry.active:
        return [
            Problem(
                "gl_account",
                f"{document}: GL account {entry.account} is inactive",
                f"PO line {int(line.line_key)} accrues to {entry.account}, which is inactive in Sage.",
                f"Reactivate GL account {entry.account} in Sage (General Ledger, Account Maintenance), then refresh "
                'the connector\'s copy of the chart ("Refresh GL now" on the console, or `ml-connector sync now gl`) '
                'and retry this exception ("Retry", or `ml-connector exceptions retry`).',
                {"account": entry.account},
            )
        ]
    if not entry.department or entry.department not in cost_centres:
        return [
            Problem(
                "gl_account",
                f"{document}: GL account {entry.account} has no valid cost centre",
                f"The department segment {entry.department or '(blank)'} of {entry.account} is not a cost centre.",
                fix,
                {"account": entry.account},
            )
        ]
    return []


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


@dataclass(frozen=True)
class LineAnswer:
    """The supplier's answer to one PO line, as kept in the connector and noted on the Sage line."""

    line_number: str
    codes: tuple[str, ...]
    status: str
    quantity: Decimal
    unit_price: Decimal | None
    promised_date: str | None
    note: LineNote | None
    """The comment for the Sage PO line, when the PO has that line."""


@dataclass(frozen=True)
class AcknowledgmentPlan:
    po_number: str
    answers: tuple[LineAnswer, ...]
    problems: tuple[Problem, ...]
    """For the buyer (changed or refused lines): the 855 is still applied."""

    @property
    def notes(self) -> list[LineNote]:
        return [a.note for a in self.answers if a.note is not None]


def plan_acknowledgment(
    ack: PurchaseOrderAck, po: SagePurchaseOrder | None, partner: str
) -> AcknowledgmentPlan | list[Problem]:
    """The supplier's 855 line by line; changes and refusals become problems for the buyer."""
    if po is None:
        return [
            Problem(
                "unknown_po",
                f"{partner}'s acknowledgment names PO {ack.po_number}, which is not in Sage",
                f"Sage has no purchase order {ack.po_number}.",
                "Check the PO number with the supplier, or resolve this exception.",
                {"po": ack.po_number},
            )
        ]
    po_lines = {line.line_key for line in po.lines}
    answers, changed, refused = [], [], []
    for line in ack.lines:
        codes = tuple(s.status for s in line.statuses) or ("IA",)
        names = {ACK_STATUS_NAMES.get(code, "changed") for code in codes}
        status = next(s for s in ("rejected", "changed", "backordered", "accepted") if s in names)
        main = next((s for s in line.statuses if ACK_STATUS_NAMES.get(s.status, "changed") == status), None)
        quantity = main.quantity if main and main.quantity is not None else line.quantity
        when = main.date.isoformat() if main and main.date else None
        price = f" at {line.unit_price}" if line.unit_price is not None else ""
        summary = f"line {line.line_number}: {'/'.join(codes)} quantity {quantity}{price}"
        key_of_line = to_line_key(line.line_number)
        note = (
            LineNote(
                line_key=key_of_line,
                text=f"EDI 855 from {partner}: {status} ({'/'.join(codes)}) quantity {quantity}{price}"
                + (f", ship {when}" if when else ""),
            )
            if key_of_line in po_lines
            else None
        )
        answers.append(LineAnswer(line.line_number, codes, status, quantity, line.unit_price, when, note))
        if status == "rejected":
            refused.append(summary)
        elif status == "changed":
            changed.append(summary)
    problems = []
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
    return AcknowledgmentPlan(ack.po_number, tuple(answers), tuple(problems))
