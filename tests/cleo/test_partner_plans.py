"""What each partner profile decides for an 850 (the 855 line statuses, shipments, cartons, invoice prices), checked on
the typed documents before any X12 is written."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from mlconnector.cleo.sandbox.partners import AnswerPlan, SimulatedPartner, corrupt_segment_count, sscc18
from mlconnector.x12.documents import ProductId, PurchaseOrder, PurchaseOrderLine

WHEN = datetime(2026, 11, 26, 15, 30, tzinfo=UTC)
PO = PurchaseOrder(
    po_number="PO7001",
    po_date=date(2026, 11, 26),
    lines=(
        PurchaseOrderLine("1", Decimal("30"), "EA", Decimal("2.50"), product_ids=(ProductId("VP", "WID-1"),)),
        PurchaseOrderLine("2", Decimal("4"), "BX", Decimal("19.99"), product_ids=(ProductId("VP", "BOX-9"),)),
        PurchaseOrderLine("3", Decimal("1"), "EA", Decimal("100.00")),
    ),
)


class Counters:
    def __init__(self) -> None:
        self.numbers = itertools.count(1)

    def next_interchange(self) -> int:
        return next(self.numbers)

    def next_group(self) -> int:
        return next(self.numbers)

    def next_serial(self) -> int:
        return next(self.numbers)


def plan(profile: str) -> AnswerPlan:
    partner = SimulatedPartner(alias="ACME", name="Acme", isa_id="ACMESUPPLY", gs_id="ACMESUPPLY", profile=profile)
    return AnswerPlan(partner, PO, Counters(), WHEN)


def statuses(profile: str) -> list[list[tuple[str, Decimal | None]]]:
    ack, _ = plan(profile).decide()
    return [[(s.status, s.quantity) for s in line.statuses] for line in ack.lines]


def shipped(profile: str) -> list[list[tuple[str, Decimal, Decimal]]]:
    _, shipments = plan(profile).decide()
    return [[(s.line.line_number, s.quantity, s.price) for s in shipment] for shipment in shipments]


def test_perfect_accepts_everything_and_ships_once() -> None:
    ack, _ = plan("perfect").decide()
    assert ack.ack_type == "AD" and ack.po_number == "PO7001"
    assert statuses("perfect") == [[("IA", Decimal("30"))], [("IA", Decimal("4"))], [("IA", Decimal("1"))]]
    assert shipped("perfect") == [
        [
            ("1", Decimal("30"), Decimal("2.50")),
            ("2", Decimal("4"), Decimal("19.99")),
            ("3", Decimal("1"), Decimal("100.00")),
        ]
    ]


def test_partial_shipper_backorders_half_a_line_and_ships_it_later() -> None:
    assert plan("partial-shipper").decide()[0].ack_type == "AC"
    assert statuses("partial-shipper")[0] == [("IA", Decimal("15")), ("IB", Decimal("15"))]
    first, second = shipped("partial-shipper")
    assert first[0] == ("1", Decimal("15"), Decimal("2.50")) and len(first) == 3
    assert second == [("1", Decimal("15"), Decimal("2.50"))]


def test_price_variance_raises_line_one_in_the_855_and_bills_it() -> None:
    ack, _ = plan("price-variance").decide()
    assert ack.ack_type == "AC" and ack.lines[0].unit_price == Decimal("2.63")
    assert statuses("price-variance")[0] == [("IP", Decimal("30"))]
    assert shipped("price-variance")[0][0] == ("1", Decimal("30"), Decimal("2.63"))
    invoice = plan("price-variance").invoice(plan("price-variance").decide()[1][0], 1)
    assert invoice.total_amount == Decimal("30") * Decimal("2.63") + Decimal("4") * Decimal("19.99") + Decimal("100.00")


def test_sloppy_changes_a_quantity_and_rejects_the_last_line() -> None:
    assert statuses("sloppy") == [[("IQ", Decimal("29"))], [("IA", Decimal("4"))], [("IR", Decimal("0"))]]
    assert shipped("sloppy") == [[("1", Decimal("29"), Decimal("2.50")), ("2", Decimal("4"), Decimal("19.99"))]]


def test_cartons_hold_at_most_units_per_carton_and_carry_valid_sscc_labels() -> None:
    p = plan("perfect")
    notice = p.ship_notice(p.decide()[1][0], 1)
    packs = notice.orders[0].packs
    assert [[(i.line_number, i.quantity_shipped) for i in pack.items] for pack in packs] == [
        [("1", Decimal("12"))],
        [("1", Decimal("12"))],
        [("1", Decimal("6"))],
        [("2", Decimal("4"))],
        [("3", Decimal("1"))],
    ]
    assert notice.lading_quantity == Decimal("5") and notice.structure == "0001"
    assert all(pack.marks_qualifier == "GM" and len(pack.marks or "") == 18 for pack in packs)
    assert len({pack.marks for pack in packs}) == 5


def test_a_single_line_shipment_still_uses_two_cartons() -> None:
    p = plan("perfect")
    packs = p.cartons(p.decide()[1][0][1:2])  # line 2 alone: 4 boxes fit one carton
    assert [[i.quantity_shipped for i in pack.items] for pack in packs] == [[Decimal("2")], [Decimal("2")]]


@pytest.mark.parametrize("serial", [1, 42, 987654321])
def test_sscc18_check_digit_follows_gs1(serial: int) -> None:
    partner = SimulatedPartner(alias="ACME", name="Acme", isa_id="A", gs_id="A")
    code = sscc18(partner, serial)
    digits = [int(d) for d in code]
    weighted = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(digits[:-1]))
    assert len(code) == 18 and (weighted + digits[-1]) % 10 == 0


def test_corrupt_segment_count_bumps_se01_only() -> None:
    isa = f"ISA*00*{'':10}*00*{'':10}*ZZ*{'A':<15}*ZZ*{'B':<15}*261126*1200*U*00401*000000001*0*T*>~"
    good = (
        isa + "GS*SH*A*B*20261126*1200*1*X*004010~ST*856*0001~BSN*00*X*20261126*1200~SE*3*0001~GE*1*1~IEA*1*000000001~"
    )
    bad = corrupt_segment_count(good)
    assert bad == good.replace("SE*3*0001", "SE*4*0001")
