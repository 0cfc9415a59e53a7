"""The validator remembers clean segment texts within one run (a speed-up): a repeated bad segment is still
reported at every position, a text clean under one set of delimiters is judged afresh under another, and
validating the same bytes twice gives the same report."""

from __future__ import annotations

from mlconnector.x12 import validate

from .helpers import ISA, PO_BODY, interchange, transaction_set


def test_repeated_bad_segment_is_reported_each_time_and_clean_repeats_pass() -> None:
    body = [PO_BODY[0], "DTM*002*20260230", "DTM*002*20260301", "DTM*002*20260301", "DTM*002*20260230", *PO_BODY[1:]]
    report = validate(interchange([transaction_set(body)]))
    bad = [(e.segment, e.position, e.code) for e in report.all_errors()]
    assert bad == [("DTM", 3, "8"), ("DTM", 6, "8")]


def test_same_text_under_other_delimiters_is_checked_again() -> None:
    # REF02 "A>B" is clean where "^" is the component separator, and holds a delimiter where ">" is.
    body = [PO_BODY[0], "REF*DP*A>B", *PO_BODY[1:]]
    first = validate(interchange([transaction_set(body)], isa=ISA.replace("*P*>", "*P*^")))
    assert first.valid, [e.message for e in first.all_errors()]
    second = validate(interchange([transaction_set(body)]))
    assert ("REF", 2, "6") in [(e.segment, e.element, e.code) for e in second.all_errors()]


def test_validating_twice_gives_the_same_report() -> None:
    body = [PO_BODY[0], "DTM*002*20260230", "DTM*002*20260301", *PO_BODY[1:]]
    data = interchange([transaction_set(body)])
    assert validate(data).to_dict() == validate(data).to_dict()
