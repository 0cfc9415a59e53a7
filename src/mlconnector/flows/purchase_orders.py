"""Sage 100 purchase order → X12 850 / 860: pure functions of data, no I/O.

What the vendor sees is decided here: which Sage fields reach the 850, what counts as a change (only fields that
travel in the 850 — a receipt raising `QuantityReceived` is not a change for the vendor), and how a change is
described line by line in an 860.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from mlconnector.sage.models import PurchaseOrder as SagePurchaseOrder
from mlconnector.sage.models import PurchaseOrderLine as SagePurchaseOrderLine
from mlconnector.x12.documents import (
    Contact,
    DateReference,
    ProductId,
    PurchaseOrder,
    PurchaseOrderChange,
    PurchaseOrderChangeLine,
    PurchaseOrderLine,
    Purpose,
    Reference,
)
from mlconnector.x12.documents import Party as X12Party

# Sage OrderType$ → BEG02: S standard → SA stand-alone, D drop ship → DS, M master → BK blanket, R repeating → RL.
ORDER_TYPES = {"S": "SA", "D": "DS", "M": "BK", "R": "RL", "X": "SA"}
# Item types that travel as PO1 lines: 1 regular, 2 special, 5 miscellaneous; 3 (charge) and 4 (comment) do not.
SHIPPABLE_ITEM_TYPES = {"1", "2", "5"}
CANCELLED = "Z"

# Sage units of measure (up to 4 characters, set per item) → X12 unit codes (element 355, 2 characters).
UNIT_CODES = {
    "EACH": "EA", "EA": "EA", "BOX": "BX", "BX": "BX", "CASE": "CA", "CS": "CA", "CA": "CA", "DOZ": "DZ",
    "DZ": "DZ", "GAL": "GA", "GA": "GA", "LB": "LB", "LBS": "LB", "FT": "FT", "FEET": "FT", "PACK": "PK",
    "PK": "PK", "PAIR": "PR", "PR": "PR", "ROLL": "RL", "RL": "RL", "SET": "ST", "KIT": "KT", "BAG": "BG",
    "CTN": "CT", "PLT": "PL", "YD": "YD", "M": "MR", "KG": "KG",
}  # fmt: skip

# The fields that reach the vendor; a change in any other field (receipts, audit stamps) sends nothing.
ORDER_FIELDS = (
    "purchase_order_no",
    "purchase_order_date",
    "order_type",
    "vendor_no",
    "ap_division_no",
    "warehouse_code",
    "ship_to_code",
    "ship_to_name",
    "ship_to_address1",
    "ship_to_city",
    "ship_to_state",
    "ship_to_zip_code",
    "buyer",
    "required_date",
    "ship_via",
    "fob",
)
LINE_FIELDS = (
    "line_key",
    "item_code",
    "item_description",
    "item_type",
    "vendor_alias_item_no",
    "unit_of_measure",
    "warehouse_code",
    "required_date",
    "quantity_ordered",
    "unit_cost",
)


class UnmappablePurchaseOrder(ValueError):
    """A PO that cannot be written as X12 as it stands in Sage (the message says what to change)."""


class Action(StrEnum):
    NEW = "new"
    CHANGE = "change"
    CANCEL = "cancel"


@dataclass(frozen=True, slots=True)
class Buyer:
    """Who we are on the 850: the N1*BY party."""

    name: str
    id_code: str
    currency: str = "USD"


def order_content(po: SagePurchaseOrder) -> dict[str, Any]:
    """The part of a Sage PO that the vendor sees, as plain JSON-ready data."""
    return {
        **{f: getattr(po, f) for f in ORDER_FIELDS},
        "cancelled": po.order_status == CANCELLED,
        "lines": [{f: getattr(line, f) for f in LINE_FIELDS} for line in shippable_lines(po)],
    }


def content_hash(po: SagePurchaseOrder) -> str:
    return hashlib.sha256(json.dumps(order_content(po), sort_keys=True).encode()).hexdigest()


def shippable_lines(po: SagePurchaseOrder) -> list[SagePurchaseOrderLine]:
    return [line for line in po.lines if line.item_type in SHIPPABLE_ITEM_TYPES]


def sage_date(value: str) -> date | None:
    """Sage's YYYYMMDD (blank = no date)."""
    value = value.strip()
    if not value:
        return None
    return date(int(value[:4]), int(value[4:6]), int(value[6:8]))


def line_number(line_key: str) -> str:
    """PO101 for a Sage LineKey$: "000003" → "3" (an 856/810 line reference maps back with `line_key`)."""
    return str(int(line_key)) if line_key.isdigit() else line_key


def line_key(po101: str) -> str:
    """Sage LineKey$ for a PO101/LIN01/IT101 line reference: "3" → "000003"."""
    return po101.zfill(6) if po101.isdigit() else po101


def decimal(value: float) -> Decimal:
    """A Sage numeric as the vendor should see it (no binary-float tail: 12.3 stays 12.3)."""
    return Decimal(repr(float(value))).normalize() if value else Decimal(0)


def unit_code(sage_uom: str) -> str:
    """The X12 unit code for a Sage unit of measure; an unknown 1–2 character code passes through unchanged."""
    uom = sage_uom.strip().upper() or "EA"
    if uom in UNIT_CODES:
        return UNIT_CODES[uom]
    if len(uom) <= 2:
        return uom
    raise UnmappablePurchaseOrder(
        f"Unit of measure {sage_uom!r} has no X12 unit code: add it to UNIT_CODES or use a two-letter code in Sage."
    )


def _product_ids(line: SagePurchaseOrderLine) -> tuple[ProductId, ...]:
    ids = [ProductId("BP", line.item_code)]
    if line.vendor_alias_item_no.strip():
        ids.insert(0, ProductId("VP", line.vendor_alias_item_no.strip()))
    return tuple(ids)


def action_for(po: SagePurchaseOrder, previously_sent: bool) -> Action | None:
    """New, change or cancel — or None for a cancelled PO the vendor never saw."""
    if po.order_status == CANCELLED:
        return Action.CANCEL if previously_sent else None
    return Action.CHANGE if previously_sent else Action.NEW


def document_for(
    po: SagePurchaseOrder,
    action: Action,
    previous: SagePurchaseOrder | None,
    *,
    change_document: str,
    buyer: Buyer,
    departments: Mapping[str, str],
    sequence: int,
) -> PurchaseOrder | PurchaseOrderChange:
    """What the vendor receives for this version: an original 850, or a change as 850 (05/01) or 860 (04/01)."""
    if action is Action.NEW:
        return to_purchase_order(po, buyer=buyer, departments=departments)
    if change_document == "860" and previous is not None:
        return to_change(previous, po, buyer=buyer, sequence=sequence - 1, cancel=action is Action.CANCEL)
    purpose = Purpose.CANCELLATION if action is Action.CANCEL else Purpose.REPLACE
    return to_purchase_order(po, buyer=buyer, purpose=purpose, departments=departments)


def to_purchase_order(
    po: SagePurchaseOrder,
    *,
    buyer: Buyer,
    purpose: Purpose = Purpose.ORIGINAL,
    departments: Mapping[str, str] | None = None,
) -> PurchaseOrder:
    """The 850 for a Sage PO. `departments` maps a GL AccountKey$ to its cost-centre segment (REF*DP)."""
    lines = tuple(
        PurchaseOrderLine(
            line_number=line_number(line.line_key),
            quantity=decimal(line.quantity_ordered),
            uom=unit_code(line.unit_of_measure),
            unit_price=decimal(line.unit_cost),
            product_ids=_product_ids(line),
            description=line.item_description or None,
            required_date=sage_date(line.required_date),
        )
        for line in shippable_lines(po)
    )
    references = [Reference("IA", po.vendor_key)]
    department = next(
        (departments[x.purchases_acct_key] for x in po.lines if departments and x.purchases_acct_key in departments),
        None,
    )
    if department:
        references.append(Reference("DP", department))
    dates = (DateReference("002", d),) if (d := sage_date(po.required_date)) else ()
    ship_to = X12Party(
        role="ST",
        name=po.ship_to_name or f"Warehouse {po.warehouse_code}",
        id_qualifier="92",
        id_code=po.warehouse_code or po.ship_to_code,
        address_lines=tuple(a for a in (po.ship_to_address1,) if a),
        city=po.ship_to_city or None,
        state=po.ship_to_state or None,
        postal_code=po.ship_to_zip_code or None,
    )
    parties = (
        ship_to,
        X12Party(role="BY", name=buyer.name, id_qualifier="92", id_code=buyer.id_code),
        X12Party(role="VN", name=po.vendor_name or po.vendor_key, id_qualifier="92", id_code=po.vendor_key),
    )
    return PurchaseOrder(
        po_number=po.purchase_order_no,
        po_date=sage_date(po.purchase_order_date) or date.today(),
        lines=lines,
        purpose=purpose,
        po_type=ORDER_TYPES.get(po.order_type, "SA"),
        currency=buyer.currency,
        references=tuple(references),
        contacts=(Contact("BD", po.buyer),) if po.buyer else (),
        dates=dates,
        parties=parties,
    )


def to_change(
    previous: SagePurchaseOrder, current: SagePurchaseOrder, *, buyer: Buyer, sequence: int, cancel: bool = False
) -> PurchaseOrderChange:
    """The 860 describing `current` against what the vendor has (`previous`), line by line.

    POC02: AI added line, DI deleted line, QI/QD quantity up/down, PC price change, CA any other change.
    A cancellation (BCH01 01) lists every line as deleted.
    """
    before = {line.line_key: line for line in shippable_lines(previous)}
    after = {line.line_key: line for line in shippable_lines(current)}
    changes: list[PurchaseOrderChangeLine] = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if cancel or new is None:
            assert old is not None
            changes.append(_change_line(old, "DI"))
        elif old is None:
            changes.append(_change_line(new, "AI"))
        else:
            change_type = _change_type(old, new)
            if change_type:
                changes.append(_change_line(new, change_type, previous=old))
    base = to_purchase_order(current, buyer=buyer)
    return PurchaseOrderChange(
        po_number=current.purchase_order_no,
        po_date=base.po_date,
        lines=tuple(changes),
        purpose=Purpose.CANCELLATION if cancel else Purpose.CHANGE,
        po_type=base.po_type,
        change_sequence=str(sequence),
        change_date=date.today(),
        references=base.references,
        contacts=base.contacts,
        dates=base.dates,
        parties=base.parties,
    )


def _change_type(old: SagePurchaseOrderLine, new: SagePurchaseOrderLine) -> str | None:
    other_fields = [f for f in LINE_FIELDS if f not in ("quantity_ordered", "unit_cost")]
    same_other = all(getattr(old, f) == getattr(new, f) for f in other_fields)
    qty_changed = old.quantity_ordered != new.quantity_ordered
    price_changed = old.unit_cost != new.unit_cost
    if same_other and qty_changed and not price_changed:
        return "QI" if new.quantity_ordered > old.quantity_ordered else "QD"
    if same_other and price_changed and not qty_changed:
        return "PC"
    if same_other and not qty_changed and not price_changed:
        return None
    return "CA"


def _change_line(
    line: SagePurchaseOrderLine, change_type: str, previous: SagePurchaseOrderLine | None = None
) -> PurchaseOrderChangeLine:
    left = max(line.quantity_ordered - line.quantity_received, 0.0)
    return PurchaseOrderChangeLine(
        line_number=line_number(line.line_key),
        change_type=change_type,
        quantity_ordered=decimal((previous or line).quantity_ordered),
        quantity_left_to_receive=decimal(0.0 if change_type == "DI" else left),
        uom=unit_code(line.unit_of_measure),
        unit_price=decimal(line.unit_cost),
        product_ids=_product_ids(line),
        description=line.item_description or None,
    )
