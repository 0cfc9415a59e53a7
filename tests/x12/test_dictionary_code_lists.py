"""The 004010 lists taken from the full element dictionary (`element_codes.py`): the qualifiers the connector's
documents carry most (REF01 128, PO103 355, PO106 235, DTM01 374, MAN01 88, HL03 735, AMT01 522, SAC02 1300, ITD01
336, …) reject a code the dictionary does not have with AK403 7 and accept every listed one; under 005010 the
005010 lists (`element_codes_5010.py`) do the same."""

from __future__ import annotations

import pytest

from mlconnector.x12 import functional_acks, validate
from mlconnector.x12.schemas import segment_def
from mlconnector.x12.schemas.element_codes import ELEMENT_CODES_004010, TOLERATED_004010
from mlconnector.x12.schemas.element_codes_5010 import ELEMENT_CODES_005010

from .helpers import ISA, PO_BODY, interchange, transaction_set

ISA_5010 = ISA.replace("*U*00401*", "*^*00501*")


def _errors(
    body: list[str], *, set_id: str = "850", gs01: str = "PO", version: str = "004010"
) -> list[tuple[str, int | None, str]]:
    sets = [transaction_set(body, set_id=set_id)]
    if version == "005010":
        text = interchange(sets, gs01=gs01, isa=ISA_5010, gs08="005010")
    else:
        text = interchange(sets, gs01=gs01)
    return [(e.segment, e.element, e.code) for e in validate(text).all_errors()]


def _po(*extra: str, line: str = PO_BODY[2]) -> list[str]:
    return [PO_BODY[0], *extra, PO_BODY[1], line, *PO_BODY[3:]]


def test_list_sizes_and_samples_of_codes() -> None:
    sizes = {ref: len(ELEMENT_CODES_004010[ref]) for ref in ("128", "355", "235", "374", "522", "1300", "735")}
    assert sizes == {"128": 1504, "355": 794, "235": 477, "374": 1112, "522": 1473, "1300": 1053, "735": 170}
    assert {"DP", "PS", "IA", "VR", "BM", "CN", "IV", "ZZ"} <= ELEMENT_CODES_004010["128"]
    assert {"EA", "CA", "BX", "LB", "PK", "DZ"} <= ELEMENT_CODES_004010["355"]
    assert {"VP", "VN", "BP", "UP", "IN", "SK", "EN", "UK", "CB"} <= ELEMENT_CODES_004010["235"]
    assert {"002", "010", "011", "017", "037", "038", "063", "068"} <= ELEMENT_CODES_004010["374"]
    assert {"S", "O", "P", "I", "T", "Q"} <= ELEMENT_CODES_004010["735"]
    assert {"GM", "CP", "AA", "UC"} <= ELEMENT_CODES_004010["88"]
    assert {"1", "10", "26"} <= ELEMENT_CODES_004010["716"] and "27" not in ELEMENT_CODES_004010["716"]
    assert ELEMENT_CODES_004010["723"] == frozenset(str(n) for n in range(1, 11))
    # gaps in the dictionary stay gaps: 128 has no JG, 374 no 117, 355 no 2D
    assert "JG" not in ELEMENT_CODES_004010["128"] and "117" not in ELEMENT_CODES_004010["374"]
    assert "2D" not in ELEMENT_CODES_004010["355"]
    assert TOLERATED_004010["128"] <= ELEMENT_CODES_004010["128"]


@pytest.mark.parametrize(
    ("extra", "line", "segment", "element"),
    [
        (("REF*JG*123",), PO_BODY[2], "REF", 1),  # 128
        (("DTM*117*20260301",), PO_BODY[2], "DTM", 1),  # 374: a gap in the list
        (("ITD*QQ",), PO_BODY[2], "ITD", 1),  # 336
        (("AMT*QQQ*10",), PO_BODY[2], "AMT", 1),  # 522
        (("SAC*C*Z999",), PO_BODY[2], "SAC", 2),  # 1300
        ((), "PO1*1*10*QZ*2.5*PE*VP*WIDGET-1", "PO1", 3),  # 355
        ((), "PO1*1*10*EA*2.5*PE*Q1*WIDGET-1", "PO1", 6),  # 235
        ((), "PO1*1*10*EA*2.5*QX*VP*WIDGET-1", "PO1", 5),  # 639
    ],
)
def test_a_code_outside_the_dictionary_is_rejected_in_both_versions(
    extra: tuple[str, ...], line: str, segment: str, element: int
) -> None:
    body = _po(*extra, line=line)
    assert (segment, element, "7") in _errors(body)
    assert (segment, element, "7") in _errors(body, version="005010")


def test_listed_codes_pass() -> None:
    body = _po(
        "REF*DP*038",
        "REF*ZZZ*TOLERATED",
        "SAC*A*C310***100",
        "ITD*01*3*2**10",
        "DTM*002*20260310",
        line="PO1*1*10*CA*2.5*PE*UP*012345678905*SK*ABC",
    )
    assert _errors(body) == []


def test_ship_notice_codes() -> None:
    ok = ["BSN*00*SHIP1*20260301*1200", "HL*1**S", "TD5**2*UPSN*M", "MAN*GM*00000715670002152360", "CTT*1"]
    assert _errors(ok, set_id="856", gs01="SH") == []
    for i, bad, element in ((1, "HL*1**ZQ", 3), (2, "TD5**2*UPSN*QQ", 4), (3, "MAN*QQ*123", 1)):
        body = ok.copy()
        body[i] = bad
        assert (bad[:3].rstrip("*"), element, "7") in _errors(body, set_id="856", gs01="SH"), bad


def test_our_997_for_every_code_error_uses_listed_codes() -> None:
    """The 997 answering a code error is itself valid against the new 716/718/723 lists."""
    text = interchange([transaction_set(_po("REF*JG*123"))])
    ack = functional_acks(text)
    assert "AK4*1*128*7*JG" in ack and "AK5*R*5" in ack
    report = validate(ack)
    assert report.valid, [e.message for e in report.all_errors()]


def test_the_lists_are_attached_where_the_elements_are() -> None:
    po1 = segment_def("PO1", "004010")
    hl = segment_def("HL", "004010")
    ak5 = segment_def("AK5", "004010")
    assert po1 is not None and hl is not None and ak5 is not None
    assert po1.elements[2].codes == ELEMENT_CODES_004010["355"]
    assert po1.elements[5].codes == ELEMENT_CODES_004010["235"]
    assert hl.elements[2].codes == ELEMENT_CODES_004010["735"]
    assert ak5.elements[1].codes == ELEMENT_CODES_004010["718"]
    po1_5010 = segment_def("PO1", "005010")
    assert po1_5010 is not None and po1_5010.elements[2].codes == ELEMENT_CODES_005010["355"]
