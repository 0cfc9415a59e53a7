"""005010 has code lists of its own (`schemas/element_codes_5010.py`): a code 005010 added passes only there, a code
005010 removed is rejected only there, the position lists the connector acts on are widened by the 005010 lists,
and the codes a second source lists for 005010 are tolerated."""

from __future__ import annotations

import re

import pytest

from mlconnector.x12 import functional_acks, validate
from mlconnector.x12.elements import codes_pattern
from mlconnector.x12.schemas import DICTIONARY_5010, ID, segment_def
from mlconnector.x12.schemas.codes import CODE_LISTS
from mlconnector.x12.schemas.element_codes import ELEMENT_CODES_004010
from mlconnector.x12.schemas.element_codes_5010 import ELEMENT_CODES_005010, TOLERATED_005010

from .helpers import ISA, PO_BODY, interchange, transaction_set

ISA_5010 = ISA.replace("*U*00401*", "*^*00501*")


def _errors(body: list[str], version: str) -> list[tuple[str, int | None, str]]:
    sets = [transaction_set(body)]
    text = interchange(sets, isa=ISA_5010, gs08="005010") if version == "005010" else interchange(sets)
    return [(e.segment, e.element, e.code) for e in validate(text).all_errors()]


def _po(*extra: str, beg: str = PO_BODY[0]) -> list[str]:
    return [beg, *extra, *PO_BODY[1:]]


def test_sizes_and_samples_of_the_005010_lists() -> None:
    sizes = {ref: len(ELEMENT_CODES_005010[ref]) for ref in ("98", "128", "355", "374", "522", "1300", "738")}
    assert sizes == {"98": 1503, "128": 1733, "355": 844, "374": 1280, "522": 1765, "1300": 1090, "738": 998}
    assert len(ELEMENT_CODES_004010["738"]) == 920 and len(ELEMENT_CODES_005010["673"]) == 1123
    assert {"ST", "BT", "BY", "SF", "VN", "0G", "AA1"} <= ELEMENT_CODES_005010["98"]
    assert {"DP", "PO", "IA", "01A", "ZTS"} <= ELEMENT_CODES_005010["128"]
    assert "57" in ELEMENT_CODES_005010["353"] and "57" not in ELEMENT_CODES_004010["353"]
    assert ELEMENT_CODES_005010["723"] == frozenset({"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "12", "13"})
    assert {"WT", "VOL", "ZZZ"} <= ELEMENT_CODES_005010["738"]


def test_every_005010_list_is_attached_to_005010_elements_and_no_004010_list_leaks_in() -> None:
    used: dict[str, frozenset[str] | None] = {}
    for tag in DICTIONARY_5010:
        seg = segment_def(tag, "005010")
        assert seg is not None
        for el in seg.elements:
            for part in (el, *el.components):
                if part.kind == ID and part.ref in ELEMENT_CODES_005010 and (tag, part.position) not in CODE_LISTS:
                    used.setdefault(part.ref, part.codes)
    assert set(ELEMENT_CODES_005010) - set(used) <= {"143", "248", "353", "455", "478", "479", "587", "668"} | {
        "670",
        "715",
        "717",
        "720",
        "736",
        "1073",
    }
    for ref, codes in used.items():
        if codes is not None:
            assert codes == ELEMENT_CODES_005010[ref], ref


@pytest.mark.parametrize(
    ("extra", "beg", "segment", "element"),
    [
        (("N1*0G*WAREHOUSE",), PO_BODY[0], "N1", 1),  # 98 gained 0G
        (("REF*01A*123",), PO_BODY[0], "REF", 1),  # 128 gained 01A
        ((), PO_BODY[0].replace("BEG*00*", "BEG*57*"), "BEG", 1),  # 353 gained 57 (a position list, widened)
        (("MEA*PD*CHB*10*LB",), PO_BODY[0], "MEA", 2),  # 738 gained CHB
    ],
)
def test_a_code_005010_added_passes_there(extra: tuple[str, ...], beg: str, segment: str, element: int) -> None:
    body = _po(*extra, beg=beg)
    assert _errors(body, "005010") == []
    assert (segment, element, "7") in _errors(body, "004010")


@pytest.mark.parametrize(
    ("extra", "segment", "element"),
    [
        (("REF*6W*123",), "REF", 1),  # 128 lost 6W
        (("N1*8Z*WAREHOUSE",), "N1", 1),  # 98 lost 8Z
        (("N1*ST*WAREHOUSE*UM*0001",), "N1", 3),  # 66 lost UM
        (("MEA*PD*ZA*10*LB",), "MEA", 2),  # 738 lost ZA
    ],
)
def test_a_code_005010_removed_is_rejected_there(extra: tuple[str, ...], segment: str, element: int) -> None:
    body = _po(*extra)
    assert (segment, element, "7") in _errors(body, "005010")
    assert _errors(body, "004010") == []


def test_codes_a_second_source_lists_are_tolerated() -> None:
    assert {"A6", "ZZZ"} <= TOLERATED_005010["128"] <= ELEMENT_CODES_005010["128"]
    body = _po("REF*A6*123", "REF*ZZZ*X", "N1*PTP*PLAN")
    assert _errors(body, "005010") == []


def test_005010_trie_accepts_exactly_the_list() -> None:
    codes = ELEMENT_CODES_005010["128"]
    pattern = re.compile(codes_pattern(codes))
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    candidates = [a + b for a in alphabet for b in alphabet] + [c + "A" for c in codes] + ["", "Z", "ZZZZ"]
    for value in candidates:
        assert (pattern.fullmatch(value) is not None) == (value in codes), value


def test_functional_id_lists_are_widened_and_our_005010_997_stays_valid() -> None:
    ak1 = segment_def("AK1", "005010")
    assert ak1 is not None and ak1.elements[0].codes is not None
    assert ELEMENT_CODES_005010["479"] <= ak1.elements[0].codes
    text = interchange([transaction_set(_po("REF*6W*123"))], isa=ISA_5010, gs08="005010")
    ack = functional_acks(text)
    assert "AK4*1*128*7*6W" in ack
    report = validate(ack)
    assert report.valid, [e.message for e in report.all_errors()]
