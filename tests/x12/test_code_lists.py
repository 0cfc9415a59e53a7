"""The 004010 element code lists (`schemas/element_codes.py`): runs expand as documented, every list is used by
the dictionary, a code outside a list is rejected under 004010 with AK403 7 (and under 005010 by its own lists,
`test_code_lists_5010.py`)."""

from __future__ import annotations

import re

import pytest

from mlconnector.x12 import validate
from mlconnector.x12.elements import codes_pattern
from mlconnector.x12.schemas import COMPOSITES, DICTIONARY, segment_def
from mlconnector.x12.schemas.element_codes import ELEMENT_CODES_004010, expand, parse_code_lists
from mlconnector.x12.schemas.element_codes_5010 import ELEMENT_CODES_005010

from .helpers import ISA, PO_BODY, interchange, transaction_set

ISA_5010 = ISA.replace("*U*00401*", "*^*00501*")


def test_runs_expand_over_digits_then_letters() -> None:
    assert expand("10-1C") == ["10", "11", "12", "13", "14", "15", "16", "17", "18", "19", "1A", "1B", "1C"]
    assert expand("1-3") == ["1", "2", "3"]
    assert expand("AAS-AAV") == ["AAS", "AAT", "AAU", "AAV"]
    assert expand("ZZ") == ["ZZ"]
    for bad in ("A1-B2", "AZ-AA", "A-BB"):
        with pytest.raises(ValueError):
            expand(bad)
    with pytest.raises(ValueError):
        parse_code_lists("ZZ 98: ST")


def test_lists_hold_the_codes_partners_send() -> None:
    assert {"ST", "BT", "BY", "SF", "VN", "RI", "SU", "BS", "ZZ", "001", "TTP"} <= ELEMENT_CODES_004010["98"]
    assert "9M" not in ELEMENT_CODES_004010["98"] and "FK" not in ELEMENT_CODES_004010["98"]
    assert {"1", "9", "92", "91", "UL", "ZZ"} <= ELEMENT_CODES_004010["66"]
    assert {"SA", "NE", "DS", "RO", "KN"} <= ELEMENT_CODES_004010["92"]
    assert {"TE", "FX", "EM"} <= ELEMENT_CODES_004010["365"]
    assert {"CC", "PP", "PS"} <= ELEMENT_CODES_004010["146"]
    assert len(ELEMENT_CODES_004010["98"]) == 1312 and len(ELEMENT_CODES_004010["640"]) == 446


def test_every_list_is_attached_to_dictionary_elements_with_each_versions_own_list() -> None:
    used = {el.ref for seg in DICTIONARY.values() for el in seg.elements if el.codes is not None}
    used |= {c.ref for comps, _ in COMPOSITES.values() for c in comps if c.codes is not None}
    assert set(ELEMENT_CODES_004010) <= used
    n1 = segment_def("N1", "004010")
    assert n1 is not None and n1.elements[0].codes == ELEMENT_CODES_004010["98"]
    n1_5010 = segment_def("N1", "005010")
    assert n1_5010 is not None and n1_5010.elements[0].codes == ELEMENT_CODES_005010["98"]
    assert ELEMENT_CODES_005010["98"] != ELEMENT_CODES_004010["98"]
    # a list the connector acts on stays in both versions
    beg_5010 = segment_def("BEG", "005010")
    assert beg_5010 is not None and beg_5010.elements[0].codes is not None


def test_trie_pattern_accepts_exactly_the_list() -> None:
    codes = ELEMENT_CODES_004010["98"]
    pattern = re.compile(codes_pattern(codes))
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    candidates = [a + b for a in alphabet for b in alphabet] + [c + "A" for c in codes] + ["", "S", "STX"]
    for value in candidates:
        assert (pattern.fullmatch(value) is not None) == (value in codes), value


@pytest.mark.parametrize(
    ("line", "segment", "element"),
    [
        ("N1*XQ1*WAREHOUSE*92*0001", "N1", 1),  # 98: no such entity code
        ("N1*ST*WAREHOUSE*Q9*0001", "N1", 3),  # 66
        ("N1*9M*WAREHOUSE*92*0001", "N1", 1),  # 98: a gap in the list
    ],
)
def test_a_code_outside_the_list_is_rejected_in_both_versions(line: str, segment: str, element: int) -> None:
    body = [PO_BODY[0], line, *PO_BODY[2:]]
    errors = [(e.segment, e.element, e.code) for e in validate(interchange([transaction_set(body)])).all_errors()]
    assert (segment, element, "7") in errors
    report_5010 = validate(interchange([transaction_set(body)], isa=ISA_5010, gs08="005010"))
    assert (segment, element, "7") in [(e.segment, e.element, e.code) for e in report_5010.all_errors()]


def test_po_type_and_contact_codes() -> None:
    bad_type = [PO_BODY[0].replace("*SA*", "*QQ*"), *PO_BODY[1:]]
    assert ("BEG", 2, "7") in [
        (e.segment, e.element, e.code) for e in validate(interchange([transaction_set(bad_type)])).all_errors()
    ]
    good = [PO_BODY[0], "PER*BD*JANE*TE*5551234*EM*JANE@EXAMPLE.COM", "FOB*PP", *PO_BODY[1:]]
    report = validate(interchange([transaction_set(good)]))
    assert report.valid, [e.message for e in report.all_errors()]
    bad = [PO_BODY[0], "PER*BD*JANE*TQ*5551234", *PO_BODY[1:]]
    assert ("PER", 3, "7") in [
        (e.segment, e.element, e.code) for e in validate(interchange([transaction_set(bad)])).all_errors()
    ]


def test_more_lists_from_the_same_source() -> None:
    assert {"GEN", "ORI", "ZZZ"} <= ELEMENT_CODES_004010["363"]
    assert {"A01", "A34", "D63", "ZZZ"} <= ELEMENT_CODES_004010["641"] and "A35" not in ELEMENT_CODES_004010["641"]
    assert {"CC", "SS", "ZZ"} <= ELEMENT_CODES_004010["368"] and "CQ" not in ELEMENT_CODES_004010["368"]
    for td5, ok in (("TD5*O*2*UPSN*M**CC", True), ("TD5*O*2*UPSN*M**QQ", False)):
        body = [PO_BODY[0], td5, *PO_BODY[1:]]
        errors = validate(interchange([transaction_set(body)])).all_errors()
        assert (("TD5", 6, "7") not in [(e.segment, e.element, e.code) for e in errors]) is ok, errors
