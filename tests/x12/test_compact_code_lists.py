"""The code lists of the compact segments' elements (CTP02 236, CRC03 1321, YNQ08 1270, TD301 40, PWK01 755, SI04
… and the 856/860 positions numbered last: ETD 626/627/743, G5301 875, PAL01 883, PAL15 399, LH108 595, LH109 665),
transcribed from EdiFabric's X12 code tables (`EF_X12_004010_Codes.cs`, `EF_X12_005010_Codes.cs`).

The sizes and sample codes below were counted from the `EdiCodes` strings as the source prints them (read with the
repository-search tools, one page of 16,000 characters at a time), independently of the run-format text in
`element_codes*.py`: a code dropped, doubled or mis-joined while transcribing (the lists wrap across lines and
across pages, e.g. 004010 1321 `…HW,H` + `X,HY…` = HX, 005010 1270 `…T25,T2` + `6,T27…` = T26) changes a size or
loses a sample and fails here."""

from __future__ import annotations

import pytest

from mlconnector.x12.schemas import AN, DICTIONARY, DICTIONARY_5010, ID, segment_def
from mlconnector.x12.schemas.element_codes import ELEMENT_CODES_004010
from mlconnector.x12.schemas.element_codes_5010 import ELEMENT_CODES_005010

from .helpers import PO_BODY
from .test_dictionary_code_lists import _errors, _po

# element number: number of codes in the source's EdiCodes string
SOURCE_SIZES_004010 = {
    "40": 134, "102": 5, "115": 30, "208": 13, "236": 164, "249": 5, "295": 9, "344": 50, "345": 30, "371": 30,
    "399": 5, "407": 4, "563": 54, "566": 9, "595": 6, "626": 23, "627": 5, "665": 2, "743": 4, "755": 522,
    "756": 51, "792": 15, "854": 20, "875": 103, "883": 7, "1004": 206, "1066": 15, "1067": 12, "1068": 7,
    "1106": 70, "1136": 341, "1179": 2, "1196": 166, "1270": 558, "1309": 117, "1310": 3, "1321": 1079,
    "1322": 14, "1401": 16, "1525": 7,
}  # fmt: skip
SOURCE_SIZES_005010 = {
    "40": 139, "102": 5, "115": 33, "236": 168, "249": 5, "295": 9, "344": 60, "345": 33, "371": 30, "399": 5,
    "407": 4, "563": 57, "566": 9, "595": 6, "626": 23, "627": 5, "743": 4, "755": 541, "756": 55, "792": 15,
    "854": 20, "875": 123, "883": 9, "1004": 279, "1066": 18, "1067": 12, "1068": 7, "1106": 85, "1136": 426,
    "1179": 2, "1196": 159, "1270": 948, "1309": 117, "1310": 3, "1321": 1316, "1322": 15, "1401": 17,
    "1525": 7,
}  # fmt: skip


@pytest.mark.parametrize(
    ("lists", "sizes"), [(ELEMENT_CODES_004010, SOURCE_SIZES_004010), (ELEMENT_CODES_005010, SOURCE_SIZES_005010)]
)
def test_each_list_has_as_many_codes_as_the_source_prints(
    lists: dict[str, frozenset[str]], sizes: dict[str, int]
) -> None:
    assert {ref: len(lists[ref]) for ref in sizes} == sizes


def test_sample_codes_of_each_release() -> None:
    a, b = ELEMENT_CODES_004010, ELEMENT_CODES_005010
    # codes that straddle a line or page break of the source
    assert {"HX", "5X", "ZZ"} <= a["1321"] and {"T26", "WSD", "UER"} <= b["1270"]
    assert {"AFM", "000", "VTL"} <= b["1321"] and "000" not in a["1321"]
    assert {"WDL", "T21", "HZR"} <= a["1270"] and "T22" not in a["1270"]
    # a code 005010 added is not a 004010 code, and a gap stays a gap
    assert "BID" in b["236"] and "BID" not in a["236"] and "SSP" in b["236"]
    assert "139" not in a["875"] and {"138", "CEP", "PRI", "ZZZ"} <= a["875"] and {"155", "TBV"} <= b["875"]
    assert a["883"] == frozenset("1234567") and b["883"] == frozenset("012345678")
    assert a["208"] == frozenset({"4", "6", "9", "A", "C", "D", "E", "F", "I", "R", "T", "U", "X"})
    assert "2R" in b["40"] and "2R" not in a["40"] and "AA" in b["40"]
    assert {"AA", "AK"} <= b["1106"] and "AA" not in a["1106"] and "42" not in a["1106"]
    assert a["626"] == b["626"] and "ZZ" in a["626"] and "O" not in a["626"]
    assert a["1525"] == b["1525"] == frozenset({"AR", "BA", "HS", "IN", "PR", "RE", "SC"})


def _offenders(version: str) -> set[str]:
    """Elements whose list holds a code that cannot fit some ID use of the element (length outside min/max)."""
    lists = ELEMENT_CODES_005010 if version == "005010" else ELEMENT_CODES_004010
    sizes = SOURCE_SIZES_005010 if version == "005010" else SOURCE_SIZES_004010
    bad = set()
    for tag in DICTIONARY_5010 if version == "005010" else DICTIONARY:
        seg = segment_def(tag, version)
        for el in seg.elements if seg else ():
            fits = el.ref not in sizes or all(el.min_len <= len(c) <= el.max_len for c in lists[el.ref])
            if el.kind == ID and not fits:
                bad.add(el.ref)
    return bad


def test_every_code_fits_the_elements_it_is_used_in() -> None:
    assert _offenders("004010") == set()
    assert _offenders("005010") == set()  # 005010's own CRC/YNQ rows take 1321 at 2/3 (000, AFM, BPD …)


def test_a_three_character_condition_indicator_is_valid_in_005010_only() -> None:
    crc = segment_def("CRC", "005010")
    assert crc is not None and [e.max_len for e in crc.elements[2:]] == [3] * 5
    old = segment_def("CRC", "004010")
    assert old is not None and [e.max_len for e in old.elements[2:]] == [2] * 5


def test_numbered_856_and_860_positions() -> None:
    expected = {
        ("ETD", 1): "626", ("ETD", 2): "627", ("ETD", 3): "128", ("ETD", 5): "743", ("G53", 1): "875",
        ("GF", 1): "128", ("GF", 5): "128", ("GF", 8): "128", ("LH1", 1): "355", ("LH1", 6): "355",
        ("LH1", 8): "595", ("LH1", 9): "665", ("PAL", 1): "883", ("PAL", 6): "355", ("PAL", 15): "399",
        ("CLD", 5): "355",
    }  # fmt: skip
    refs = {(tag, pos): segment_def(tag, "004010").elements[pos - 1].ref for tag, pos in expected}  # type: ignore[union-attr]
    assert refs == expected
    r407 = segment_def("R4", "004010").elements[6]  # type: ignore[union-attr]
    assert (r407.kind, r407.min_len, r407.max_len) == (AN, 1, 4)  # element 113 Pier Number is AN


@pytest.mark.parametrize(
    ("version", "code", "rejected"),
    [
        ("004010", "ZNP", False),
        ("004010", "XYZ", True),
        ("004010", "BID", True),  # added in 005010
        ("005010", "BID", False),
        ("005010", "XYZ", True),
    ],
)
def test_ctp02_is_checked_against_its_release(version: str, code: str, rejected: bool) -> None:
    body = [*_po()[:3], f"CTP**{code}*1.5", *_po()[3:]]
    assert body[2] == PO_BODY[2]
    errors = _errors(body, version=version)
    assert errors == ([("CTP", 2, "7")] if rejected else [])
