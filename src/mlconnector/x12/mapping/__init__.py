"""Typed documents ⇄ X12 segments, one module per transaction set; this module only dispatches."""

from __future__ import annotations

from mlconnector.x12.documents import (
    Document,
    FunctionalAck,
    Invoice,
    PurchaseOrder,
    PurchaseOrderAck,
    PurchaseOrderChange,
    ShipNotice,
)
from mlconnector.x12.mapping.common import MappingError, Segment
from mlconnector.x12.mapping.fa997 import functional_ack_in, functional_ack_segments
from mlconnector.x12.mapping.invoice import invoice_in, invoice_out
from mlconnector.x12.mapping.purchasing import (
    purchase_order_ack_in,
    purchase_order_ack_out,
    purchase_order_change_in,
    purchase_order_change_out,
    purchase_order_in,
    purchase_order_out,
)
from mlconnector.x12.mapping.shipping import ship_notice_in, ship_notice_out
from mlconnector.x12.schemas import FUNCTIONAL_IDS

__all__ = ["MappingError", "Segment", "from_segments", "functional_id", "set_id_of", "to_segments"]


def set_id_of(document: Document) -> str:
    """The transaction set a typed document travels as."""
    if isinstance(document, PurchaseOrder):
        return "850"
    if isinstance(document, PurchaseOrderChange):
        return "860"
    if isinstance(document, PurchaseOrderAck):
        return "855"
    if isinstance(document, ShipNotice):
        return "856"
    if isinstance(document, Invoice):
        return "810"
    if isinstance(document, FunctionalAck):
        return "997"
    raise MappingError(f"{type(document).__name__} is not an X12 document type")


def functional_id(set_id: str) -> str:
    """GS01 for a transaction set (850 → PO, 856 → SH …)."""
    return FUNCTIONAL_IDS[set_id]


def to_segments(document: Document, *, version: str = "004010") -> tuple[str, list[Segment]]:
    """(set ID, segments between ST and SE) for a typed document."""
    set_id = set_id_of(document)
    if isinstance(document, PurchaseOrder):
        return set_id, purchase_order_out(document)
    if isinstance(document, PurchaseOrderChange):
        return set_id, purchase_order_change_out(document)
    if isinstance(document, PurchaseOrderAck):
        return set_id, purchase_order_ack_out(document)
    if isinstance(document, ShipNotice):
        return set_id, ship_notice_out(document)
    if isinstance(document, Invoice):
        return set_id, invoice_out(document)
    assert isinstance(document, FunctionalAck)
    return set_id, functional_ack_segments(document)


def from_segments(set_id: str, segments: list[list[str]], *, component: str = ">") -> Document:
    """The typed document for one set's segments (ST and SE may be included; they are ignored)."""
    body = [s for s in segments if s and s[0] not in ("ST", "SE")]
    if set_id == "850":
        return purchase_order_in(body)
    if set_id == "860":
        return purchase_order_change_in(body, component)
    if set_id == "855":
        return purchase_order_ack_in(body)
    if set_id == "856":
        return ship_notice_in(body)
    if set_id == "810":
        return invoice_in(body)
    if set_id == "997":
        return functional_ack_in(body, component)
    raise MappingError(f"transaction set {set_id!r} has no typed document")
