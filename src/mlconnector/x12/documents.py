"""Typed business documents carried by X12.

These are plain, immutable data: the rest of the connector (flows, the Cleo sandbox's partners) builds and reads
them, and `mlconnector.x12` maps each one to and from its transaction set in one place. Money and quantities are
`Decimal` so a price never picks up binary-float noise on its way to Sage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal
from enum import StrEnum
from typing import Protocol


class Purpose(StrEnum):
    """BEG01 / BCH01 / BAK01 / BSN01 transaction set purpose."""

    ORIGINAL = "00"
    CANCELLATION = "01"
    CHANGE = "04"
    REPLACE = "05"
    DUPLICATE = "07"


@dataclass(frozen=True, slots=True)
class ProductId:
    """One qualifier/ID pair (PO106/PO107, LIN02/LIN03, IT106/IT107 …): VP vendor part, BP buyer part, UP UPC …"""

    qualifier: str
    value: str


@dataclass(frozen=True, slots=True)
class Reference:
    """REF01/REF02: DP department (cost centre), IA vendor number, VR vendor ID, BM bill of lading …"""

    qualifier: str
    value: str


@dataclass(frozen=True, slots=True)
class DateReference:
    """DTM01/DTM02: 002 delivery requested, 010 requested ship, 011 shipped, 017 estimated delivery …"""

    qualifier: str
    value: date


@dataclass(frozen=True, slots=True)
class Contact:
    """PER: BD buyer or IC information contact, with optional phone (TE) and e-mail (EM)."""

    function: str = "BD"
    name: str = ""
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class Party:
    """N1 loop: ST ship-to, BT bill-to, BY buyer, VN/SE vendor, SF ship-from, RI remit-to."""

    role: str
    name: str = ""
    id_qualifier: str | None = None
    id_code: str | None = None
    address_lines: tuple[str, ...] = ()
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None


def _find(product_ids: tuple[ProductId, ...], *qualifiers: str) -> str | None:
    for pid in product_ids:
        if pid.qualifier in qualifiers:
            return pid.value
    return None


# ----------------------------------------------------------------------------------------------------------- 850


@dataclass(frozen=True, slots=True)
class PurchaseOrderLine:
    """PO1 loop: one ordered item."""

    line_number: str
    quantity: Decimal
    uom: str
    unit_price: Decimal | None = None
    price_basis: str | None = "PE"
    product_ids: tuple[ProductId, ...] = ()
    description: str | None = None
    required_date: date | None = None

    @property
    def vendor_part(self) -> str | None:
        return _find(self.product_ids, "VP", "VN")

    @property
    def buyer_part(self) -> str | None:
        return _find(self.product_ids, "BP", "IN")


@dataclass(frozen=True, slots=True)
class PurchaseOrder:
    """850 Purchase Order; `purpose` says original (00), cancellation (01) or replace (05)."""

    po_number: str
    po_date: date
    lines: tuple[PurchaseOrderLine, ...]
    purpose: Purpose = Purpose.ORIGINAL
    po_type: str = "SA"
    release_number: str | None = None
    currency: str | None = None
    references: tuple[Reference, ...] = ()
    contacts: tuple[Contact, ...] = ()
    dates: tuple[DateReference, ...] = ()
    parties: tuple[Party, ...] = ()

    def party(self, role: str) -> Party | None:
        return next((p for p in self.parties if p.role == role), None)

    def reference(self, qualifier: str) -> str | None:
        return next((r.value for r in self.references if r.qualifier == qualifier), None)


# ----------------------------------------------------------------------------------------------------------- 860


@dataclass(frozen=True, slots=True)
class PurchaseOrderChangeLine:
    """POC loop: POC02 change type AI add, CA change, DI delete, PC price, QD/QI quantity decrease/increase."""

    line_number: str
    change_type: str
    quantity_ordered: Decimal | None = None
    quantity_left_to_receive: Decimal | None = None
    uom: str | None = None
    unit_price: Decimal | None = None
    price_basis: str | None = "PE"
    product_ids: tuple[ProductId, ...] = ()
    description: str | None = None


@dataclass(frozen=True, slots=True)
class PurchaseOrderChange:
    """860 Purchase Order Change Request (buyer initiated); BCH01 04 change, 01 cancellation, 05 replace."""

    po_number: str
    po_date: date
    lines: tuple[PurchaseOrderChangeLine, ...]
    purpose: Purpose = Purpose.CHANGE
    po_type: str = "SA"
    change_sequence: str | None = None
    change_date: date | None = None
    references: tuple[Reference, ...] = ()
    contacts: tuple[Contact, ...] = ()
    dates: tuple[DateReference, ...] = ()
    parties: tuple[Party, ...] = ()


# ----------------------------------------------------------------------------------------------------------- 855


@dataclass(frozen=True, slots=True)
class LineAckStatus:
    """ACK: IA accepted, IB backordered, IC accepted with changes, ID deleted, IP price changed,
    IQ quantity changed, IR rejected, DR date rescheduled."""

    status: str
    quantity: Decimal | None = None
    uom: str | None = None
    date: date | None = None


@dataclass(frozen=True, slots=True)
class PurchaseOrderAckLine:
    """PO1 loop of an 855, with the supplier's per-line ACK statuses."""

    line_number: str
    quantity: Decimal
    uom: str
    unit_price: Decimal | None = None
    product_ids: tuple[ProductId, ...] = ()
    statuses: tuple[LineAckStatus, ...] = ()


@dataclass(frozen=True, slots=True)
class PurchaseOrderAck:
    """855: BAK02 AC with changes, AD no changes, AE exceptions only, AK no detail, RD/RJ rejected."""

    po_number: str
    po_date: date
    ack_type: str
    lines: tuple[PurchaseOrderAckLine, ...] = ()
    purpose: Purpose = Purpose.ORIGINAL
    seller_order_number: str | None = None
    ack_date: date | None = None
    references: tuple[Reference, ...] = ()
    parties: tuple[Party, ...] = ()


# ----------------------------------------------------------------------------------------------------------- 856


@dataclass(frozen=True, slots=True)
class ShipmentItem:
    """I level: LIN + SN1 (+ lot and serial numbers where the supplier sends them)."""

    line_number: str
    quantity_shipped: Decimal
    uom: str
    product_ids: tuple[ProductId, ...] = ()
    quantity_ordered: Decimal | None = None
    lot_number: str | None = None
    serial_numbers: tuple[str, ...] = ()
    description: str | None = None


@dataclass(frozen=True, slots=True)
class ShipmentPack:
    """P level: a carton or pallet (MAN GM SSCC-18 or CP carrier package ID) and the items in it."""

    items: tuple[ShipmentItem, ...]
    marks_qualifier: str | None = None
    marks: str | None = None


@dataclass(frozen=True, slots=True)
class ShipmentOrder:
    """O level: one buyer PO (PRF01) in the shipment; items sit in packs (S/O/P/I) or directly (S/O/I)."""

    po_number: str
    po_date: date | None = None
    packs: tuple[ShipmentPack, ...] = ()
    items: tuple[ShipmentItem, ...] = ()

    def all_items(self) -> tuple[ShipmentItem, ...]:
        return self.items + tuple(item for pack in self.packs for item in pack.items)


@dataclass(frozen=True, slots=True)
class ShipNotice:
    """856 Ship Notice/Manifest: one shipment (BSN02), one or more orders."""

    shipment_id: str
    ship_date: date
    ship_time: time
    orders: tuple[ShipmentOrder, ...]
    purpose: Purpose = Purpose.ORIGINAL
    structure: str = "0001"
    dates: tuple[DateReference, ...] = ()
    packaging_code: str | None = None
    lading_quantity: Decimal | None = None
    gross_weight: Decimal | None = None
    weight_uom: str | None = None
    carrier_scac: str | None = None
    transport_method: str | None = None
    references: tuple[Reference, ...] = ()
    parties: tuple[Party, ...] = ()


# ----------------------------------------------------------------------------------------------------------- 810


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """IT1 loop."""

    line_number: str
    quantity: Decimal
    uom: str
    unit_price: Decimal
    product_ids: tuple[ProductId, ...] = ()
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Charge:
    """SAC: A allowance or C charge, SAC02 code (D240 freight …), amount in currency units."""

    indicator: str
    code: str
    amount: Decimal
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Invoice:
    """810 Invoice; `total_amount` is TDS01 in currency units (TDS01 itself carries implied 2 decimals)."""

    invoice_number: str
    invoice_date: date
    po_number: str | None
    lines: tuple[InvoiceLine, ...]
    total_amount: Decimal
    po_date: date | None = None
    transaction_type: str | None = None
    currency: str | None = None
    references: tuple[Reference, ...] = ()
    parties: tuple[Party, ...] = ()
    charges: tuple[Charge, ...] = ()
    terms_net_days: int | None = None


# ----------------------------------------------------------------------------------------------------------- 997


@dataclass(frozen=True, slots=True)
class ElementError:
    """AK4: position in segment, data element reference number, AK403 error code (1–10), copy of the bad value."""

    position: int
    code: str
    reference: str | None = None
    bad_value: str | None = None
    component: int | None = None


@dataclass(frozen=True, slots=True)
class SegmentError:
    """AK3: segment ID, position in the set (ST = 1), loop ID, AK304 error code (1–8), and its AK4s."""

    segment_id: str
    position: int
    code: str | None
    loop_id: str | None = None
    elements: tuple[ElementError, ...] = ()


@dataclass(frozen=True, slots=True)
class SetAck:
    """AK2 … AK5: A accepted, E accepted with errors, R rejected; AK502+ set error codes."""

    set_id: str
    control_number: str
    status: str
    segment_errors: tuple[SegmentError, ...] = ()
    error_codes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FunctionalAck:
    """997: acknowledges one functional group (AK1 = its GS01 + GS06)."""

    functional_id: str
    group_control_number: str
    status: str
    sets: tuple[SetAck, ...] = ()
    sets_included: int = 0
    sets_received: int = 0
    sets_accepted: int = 0
    error_codes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class InterchangeAck:
    """TA1: the answer to one whole interchange (ISA … IEA). `interchange_control` is the ISA13 it answers;
    `status` A accepted, E accepted with errors, R rejected; `note_code` the TA105 reason ("000" … "031");
    `reason` that code in plain words."""

    interchange_control: str
    date: str
    time: str
    status: str
    note_code: str
    reason: str
    sender_qualifier: str = ""
    sender_id: str = ""

    @property
    def accepted(self) -> bool:
        return self.status in ("A", "E")

    @property
    def message(self) -> str:
        """One line for an exception or a log: who said what about which interchange."""
        who = self.sender_id or "the partner"
        verdict = {"A": "accepted", "E": "accepted with errors", "R": "rejected"}.get(self.status, "answered")
        return f"{who} {verdict} interchange {self.interchange_control}: {self.reason} (TA1 code {self.note_code})"


Document = PurchaseOrder | PurchaseOrderChange | PurchaseOrderAck | ShipNotice | Invoice | FunctionalAck


# ------------------------------------------------------------------------------------------------------ envelope


@dataclass(frozen=True, slots=True)
class Delimiters:
    """Per-partner delimiters; `segment_suffix` (e.g. "\\n") is written after each terminator for readability."""

    element: str = "*"
    component: str = ">"
    segment: str = "~"
    repetition: str = "^"
    segment_suffix: str = ""


@dataclass(frozen=True, slots=True)
class EnvelopeParties:
    """Who sends to whom: ISA05–08 (qualifier + ID, padded to 15 by the writer) and GS02/GS03."""

    sender_qualifier: str
    sender_id: str
    receiver_qualifier: str
    receiver_id: str
    application_sender: str | None = None
    application_receiver: str | None = None
    usage: str = "P"
    version: str = "00401"
    delimiters: Delimiters = field(default_factory=Delimiters)
    ack_requested: bool = False


class ControlNumbers(Protocol):
    """The caller's source of control numbers (the store allocates them in the same transaction as the outbox)."""

    def next_interchange(self) -> int: ...

    def next_group(self) -> int: ...
