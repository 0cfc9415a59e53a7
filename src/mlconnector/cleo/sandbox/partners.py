"""Simulated trading partners: one per demo vendor, read from a TOML or JSON file (format in docs/cleo.md).

On an 850 a partner answers, after its configured delays, with a 997, an 855, one or more 856s and 810s, as its
profile says:

- `perfect`          997 accepted, 855 AD (all lines IA), one 856 (S/O/P/I, several cartons), a matching 810
- `partial-shipper`  855 AC with a backordered line (IB), two 856s (now + the backorder later), an 810 per shipment
- `price-variance`   855 AC with a changed price (IP) on line 1, one 856, an 810 billing the changed price
- `sloppy`           855 AC with a changed quantity (IQ) and a rejected line (IR); its 856 is invalid (bad SE01)
- `silent`           like `perfect`, but never a 997 (the outbound FA status goes overdue)

An invalid 850 gets only the 997 (rejected, with AK3/AK4 from `mlconnector.x12.functional_acks`). Documents are
built as typed `mlconnector.x12` documents and written by `write_interchange`, so every valid one passes our
validator; the plan is a pure function of the 850, the partner and its control numbers.
"""

from __future__ import annotations

import json
import tomllib
import zlib
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mlconnector.x12 import functional_acks, read_documents, validate, write_interchange
from mlconnector.x12.documents import (
    DateReference,
    EnvelopeParties,
    FunctionalAck,
    Invoice,
    InvoiceLine,
    LineAckStatus,
    Party,
    PurchaseOrder,
    PurchaseOrderAck,
    PurchaseOrderAckLine,
    PurchaseOrderLine,
    Purpose,
    Reference,
    ShipmentItem,
    ShipmentOrder,
    ShipmentPack,
    ShipNotice,
)

if TYPE_CHECKING:
    from mlconnector.cleo.sandbox.store import SandboxStore

PROFILES = ("perfect", "partial-shipper", "price-variance", "sloppy", "silent")
CENT = Decimal("0.01")
FA_STATUS = {"A": "accepted", "E": "accepted_with_errors", "R": "rejected", "P": "rejected", "M": "rejected"}


@dataclass(frozen=True, slots=True)
class Delays:
    """Seconds after the 850 arrives at which each answer shows up in the tenant's inbound messages."""

    delivered: float = 0.5
    functional_ack: float = 2.0
    acknowledgment: float = 10.0
    ship_notice: float = 60.0
    second_ship_notice: float = 300.0
    invoice: float = 120.0


@dataclass(frozen=True, slots=True)
class SimulatedPartner:
    """One demo vendor as a trading partner: its Cleo record plus how it behaves."""

    alias: str
    name: str
    isa_id: str
    gs_id: str
    profile: str = "perfect"
    isa_qualifier: str = "ZZ"
    erp_vendor: str | None = None
    as2_id: str | None = None
    delays: Delays = field(default_factory=Delays)
    units_per_carton: int = 12
    carrier_scac: str = "UPSN"
    price_change_percent: Decimal = Decimal("5")

    def record(self) -> dict[str, Any]:
        """The partner as the sandbox seeds it into each tenant (the §9 partner JSON)."""
        body = {
            "alias": self.alias,
            "name": self.name,
            "isaQualifier": self.isa_qualifier,
            "isaId": self.isa_id,
            "gsId": self.gs_id,
            "as2Id": self.as2_id,
            "erpVendor": self.erp_vendor,
            "address": {},
        }
        return {key: value for key, value in body.items() if value is not None}


@dataclass(frozen=True, slots=True)
class PartnerBook:
    partners: tuple[SimulatedPartner, ...]

    def get(self, alias: str) -> SimulatedPartner | None:
        return next((p for p in self.partners if p.alias == alias), None)


_PARTNER_KEYS = {f.name for f in fields(SimulatedPartner)}
_DELAY_KEYS = {f.name for f in fields(Delays)}


def parse_partner_book(data: dict[str, Any]) -> PartnerBook:
    """`{"defaults": {...}, "partners": [{...}, ...]}`; per-partner keys override defaults; errors name the entry."""
    defaults = dict(data.get("defaults") or {})
    entries = data.get("partners")
    if not isinstance(entries, list) or not entries:
        raise ValueError("partner file needs a non-empty 'partners' list ([[partners]] in TOML)")
    partners: list[SimulatedPartner] = []
    for number, entry in enumerate(entries, start=1):
        merged = {**defaults, **entry, "delays": {**(defaults.get("delays") or {}), **(entry.get("delays") or {})}}
        where = f"partner #{number} ({merged.get('alias', 'no alias')})"
        unknown = set(merged) - _PARTNER_KEYS
        if unknown:
            raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
        bad_delays = set(merged["delays"]) - _DELAY_KEYS
        if bad_delays:
            raise ValueError(f"{where}: unknown delays {sorted(bad_delays)}; known: {sorted(_DELAY_KEYS)}")
        for key in ("alias", "name", "isa_id", "gs_id"):
            if not isinstance(merged.get(key), str) or not merged[key]:
                raise ValueError(f"{where}: '{key}' is required")
        if merged.get("profile", "perfect") not in PROFILES:
            raise ValueError(f"{where}: profile must be one of {', '.join(PROFILES)}")
        delays = Delays(**{k: float(v) for k, v in merged.pop("delays").items()})
        if "price_change_percent" in merged:
            merged["price_change_percent"] = Decimal(str(merged["price_change_percent"]))
        partners.append(SimulatedPartner(**merged, delays=delays))
    aliases = [p.alias for p in partners]
    if len(set(aliases)) != len(aliases):
        raise ValueError("partner aliases must be unique")
    return PartnerBook(tuple(partners))


def load_partner_book(path: Path) -> PartnerBook:
    """Read a `.toml` or `.json` partner file."""
    text = path.read_text(encoding="utf-8")
    data = tomllib.loads(text) if path.suffix.lower() == ".toml" else json.loads(text)
    return parse_partner_book(data)


# ------------------------------------------------------------------------------------------------ simulation


class PartnerCounters(Protocol):
    """Control numbers (the x12 `ControlNumbers` protocol) plus SSCC-18 serials for carton labels."""

    def next_interchange(self) -> int: ...

    def next_group(self) -> int: ...

    def next_serial(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Answer:
    """One document a partner will send: after `delay` seconds; a 997 also sets the outbound FA status."""

    delay: float
    document_type: str
    payload: str
    fa_status: str | None = None


def _whole(quantity: Decimal) -> bool:
    return quantity == quantity.to_integral_value()


def sscc18(partner: SimulatedPartner, serial: int) -> str:
    """SSCC-18: extension digit, a 7-digit company prefix stable per partner, a serial, and the GS1 check digit."""
    body = f"0{zlib.crc32(partner.alias.encode()) % 10_000_000:07d}{serial % 1_000_000_000:09d}"
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


@dataclass(frozen=True, slots=True)
class ShippedLine:
    line: PurchaseOrderLine
    quantity: Decimal
    price: Decimal


class AnswerPlan:
    """Builds one partner's answers to one 850."""

    def __init__(self, partner: SimulatedPartner, po: PurchaseOrder, counters: PartnerCounters, when: datetime):
        self.partner, self.po, self.counters, self.when = partner, po, counters, when

    def price(self, line: PurchaseOrderLine) -> Decimal:
        return line.unit_price if line.unit_price is not None else Decimal("0")

    def changed_price(self, line: PurchaseOrderLine) -> Decimal:
        old = self.price(line)
        new = old * (1 + self.partner.price_change_percent / 100) if old else Decimal("1")
        return new.quantize(CENT, ROUND_HALF_UP)

    def decide(self) -> tuple[PurchaseOrderAck, list[list[ShippedLine]]]:
        """The 855 and the shipments (each a list of shipped lines) the profile calls for."""
        profile, lines = self.partner.profile, self.po.lines
        ack_lines: list[PurchaseOrderAckLine] = []
        now: list[ShippedLine] = []
        later: list[ShippedLine] = []
        backorder_line = None
        if profile == "partial-shipper":
            backorder_line = next((ln for ln in lines if ln.quantity >= 2 and _whole(ln.quantity)), None)
            if backorder_line is None and len(lines) > 1:
                backorder_line = lines[-1]
        for index, line in enumerate(lines):
            qty, price = line.quantity, self.price(line)
            statuses: tuple[LineAckStatus, ...] = (LineAckStatus("IA", qty, line.uom),)
            if line is backorder_line:
                held = (qty // 2) if qty >= 2 else qty
                statuses = tuple(
                    s
                    for s in (LineAckStatus("IA", qty - held, line.uom), LineAckStatus("IB", held, line.uom))
                    if s.quantity
                )
                if qty - held:
                    now.append(ShippedLine(line, qty - held, price))
                later.append(ShippedLine(line, held, price))
            elif profile == "price-variance" and index == 0:
                price = self.changed_price(line)
                statuses = (LineAckStatus("IP", qty, line.uom),)
                now.append(ShippedLine(line, qty, price))
            elif profile == "sloppy" and index == len(lines) - 1 and len(lines) > 1:
                statuses = (LineAckStatus("IR", Decimal("0"), line.uom),)
            elif profile == "sloppy" and index == 0 and qty > 1:
                qty = qty - 1
                statuses = (LineAckStatus("IQ", qty, line.uom),)
                now.append(ShippedLine(line, qty, price))
            else:
                now.append(ShippedLine(line, qty, price))
            ack_lines.append(
                PurchaseOrderAckLine(line.line_number, line.quantity, line.uom, price, line.product_ids, statuses)
            )
        changed = any(s.status != "IA" for al in ack_lines for s in al.statuses)
        ack = PurchaseOrderAck(
            po_number=self.po.po_number,
            po_date=self.po.po_date,
            ack_type="AC" if changed else "AD",
            lines=tuple(ack_lines),
            seller_order_number=f"SO-{self.po.po_number}",
            ack_date=self.when.date(),
        )
        return ack, [shipment for shipment in (now, later) if shipment]

    def cartons(self, shipped: list[ShippedLine]) -> tuple[ShipmentPack, ...]:
        """Pack each line into cartons of at most `units_per_carton`; a one-carton shipment of 2+ units uses two."""
        size = Decimal(max(self.partner.units_per_carton, 1))
        loads: list[list[ShipmentItem]] = []
        for item in shipped:
            left = item.quantity
            while left > 0:
                take = min(left, size) if _whole(left) else left
                loads.append([self.item(item, take)])
                left -= take
        if len(loads) == 1 and len(loads[0]) == 1:
            only = loads[0][0]
            if only.quantity_shipped >= 2 and _whole(only.quantity_shipped):
                first = only.quantity_shipped // 2
                loads = [
                    [replace(only, quantity_shipped=first)],
                    [replace(only, quantity_shipped=only.quantity_shipped - first)],
                ]
        return tuple(
            ShipmentPack(tuple(items), "GM", sscc18(self.partner, self.counters.next_serial())) for items in loads
        )

    def item(self, shipped: ShippedLine, quantity: Decimal) -> ShipmentItem:
        line = shipped.line
        return ShipmentItem(line.line_number, quantity, line.uom, line.product_ids, quantity_ordered=line.quantity)

    def ship_notice(self, shipped: list[ShippedLine], number: int) -> ShipNotice:
        packs = self.cartons(shipped)
        ship_to = self.po.party("ST")
        parties = tuple(p for p in (ship_to, Party("SF", self.partner.name)) if p is not None)
        return ShipNotice(
            shipment_id=f"{self.po.po_number}-S{number}",
            ship_date=self.when.date(),
            ship_time=self.when.time().replace(second=0, microsecond=0),
            orders=(ShipmentOrder(self.po.po_number, self.po.po_date, packs=packs),),
            dates=(DateReference("011", self.when.date()),),
            packaging_code="CTN25",
            lading_quantity=Decimal(len(packs)),
            gross_weight=Decimal(len(packs) * 12),
            weight_uom="LB",
            carrier_scac=self.partner.carrier_scac,
            transport_method="M",
            references=(Reference("BM", f"BOL{self.po.po_number}{number}"),),
            parties=parties,
        )

    def invoice(self, shipped: list[ShippedLine], number: int) -> Invoice:
        lines = tuple(
            InvoiceLine(s.line.line_number, s.quantity, s.line.uom, s.price, s.line.product_ids) for s in shipped
        )
        total = sum((line.quantity * line.unit_price for line in lines), Decimal("0")).quantize(CENT, ROUND_HALF_UP)
        return Invoice(
            invoice_number=f"INV-{self.po.po_number}-{number}",
            invoice_date=self.when.date(),
            po_number=self.po.po_number,
            po_date=self.po.po_date,
            lines=lines,
            total_amount=total,
            parties=(Party("RI", self.partner.name),),
            terms_net_days=30,
        )


def corrupt_segment_count(interchange: str) -> str:
    """The classic sloppy-partner error: SE01 one higher than the segments really in the set."""
    element, terminator = interchange[3], interchange[105]
    segments = interchange.split(terminator)
    for index, segment in enumerate(segments):
        parts = segment.split(element)
        if parts[0].strip() == "SE" and len(parts) > 2 and parts[1].isdigit():
            parts[1] = str(int(parts[1]) + 1)
            segments[index] = element.join(parts)
            break
    return terminator.join(segments)


def plan_answers(
    partner: SimulatedPartner, payload: str, counters: PartnerCounters, *, when: datetime | None = None
) -> list[Answer]:
    """Everything `partner` will send back for the interchange `payload` (normally one 850), with delays."""
    when = when or datetime.now(UTC)
    delays = partner.delays
    answers: list[Answer] = []
    ack = functional_acks(payload, control_numbers=counters, when=when) if partner.profile != "silent" else ""
    if ack:
        status = next(
            (
                FA_STATUS.get(d.document.status, "rejected")
                for d in read_documents(ack)
                if isinstance(d.document, FunctionalAck)
            ),
            None,
        )
        answers.append(Answer(delays.functional_ack, "997", ack, status))
    if not validate(payload).valid:
        return answers
    for received in read_documents(payload):
        po = received.document
        if not isinstance(po, PurchaseOrder) or po.purpose == Purpose.CANCELLATION or not po.lines:
            continue
        # Answer whoever sent the 850: its ISA05/ISA06 and GS02 become our receiver.
        parties = EnvelopeParties(
            sender_qualifier=partner.isa_qualifier,
            sender_id=partner.isa_id,
            receiver_qualifier=received.sender_qualifier,
            receiver_id=received.sender_id,
            application_sender=partner.gs_id,
            application_receiver=received.application_sender,
        )
        plan = AnswerPlan(partner, po, counters, when)
        poa, shipments = plan.decide()
        answers.append(Answer(delays.acknowledgment, "855", write_interchange([poa], parties, counters, when=when)))
        for number, shipped in enumerate(shipments, start=1):
            base = delays.ship_notice if number == 1 else delays.second_ship_notice
            notice = write_interchange([plan.ship_notice(shipped, number)], parties, counters, when=when)
            if partner.profile == "sloppy":
                notice = corrupt_segment_count(notice)
            answers.append(Answer(base, "856", notice))
            invoice = write_interchange([plan.invoice(shipped, number)], parties, counters, when=when)
            answers.append(Answer(base + max(delays.invoice - delays.ship_notice, 0.0), "810", invoice))
    return answers


class StoreCounters:
    """Per-partner control numbers and carton serials kept in the sandbox store, so restarts never reuse them."""

    def __init__(self, store: SandboxStore, tenant: str, partner: str) -> None:
        self.store, self.tenant, self.partner = store, tenant, partner

    def next_interchange(self) -> int:
        return self.store.next_counter(self.tenant, self.partner, "interchange")

    def next_group(self) -> int:
        return self.store.next_counter(self.tenant, self.partner, "group")

    def next_serial(self) -> int:
        return self.store.next_counter(self.tenant, self.partner, "sscc")


class PartnerSimulator:
    """Hooks the partner book into the sandbox: seeds partner records and schedules each partner's answers."""

    def __init__(self, book: PartnerBook) -> None:
        self.book = book

    def seed_partners(self) -> list[dict[str, Any]]:
        return [partner.record() for partner in self.book.partners]

    def on_outbound(self, store: SandboxStore, tenant: str, message: dict[str, Any], partner: dict[str, Any]) -> None:
        simulated = self.book.get(partner["alias"])
        store.schedule(tenant, simulated.delays.delivered if simulated else 0.0, "deliver", message_id=message["id"])
        if simulated is None or message["document_type"] != "850":
            return
        counters = StoreCounters(store, tenant, simulated.alias)
        for answer in plan_answers(simulated, message["payload"], counters):
            store.schedule(
                tenant,
                answer.delay,
                "inbound",
                message_id=message["id"],
                partner=simulated.alias,
                document_type=answer.document_type,
                payload=answer.payload,
                fa_status=answer.fa_status,
            )
