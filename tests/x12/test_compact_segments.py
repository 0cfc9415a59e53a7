"""The compact segment rows carry element numbers now (SLN03 662, TXI01 963, CTP01 687, QTY01 673, …), so their ID
elements get each version's code list like the long-form rows; ADV, SR and SPI have their syntax notes; GS01
accepts every functional identifier either release lists."""

from __future__ import annotations

import pytest

from mlconnector.x12 import validate
from mlconnector.x12.elements import checker
from mlconnector.x12.schemas import DICTIONARY, ID, segment_def
from mlconnector.x12.schemas.element_codes import ELEMENT_CODES_004010
from mlconnector.x12.schemas.element_codes_5010 import ELEMENT_CODES_005010

from .helpers import ISA, PO_BODY, interchange, transaction_set

ISA_5010 = ISA.replace("*U*00401*", "*^*00501*")


def _errors(body: list[str], version: str = "004010", gs01: str = "PO") -> list[tuple[str, int | None, str]]:
    sets = [transaction_set(body)]
    if version == "005010":
        text = interchange(sets, isa=ISA_5010, gs08="005010", gs01=gs01)
    else:
        text = interchange(sets, gs01=gs01)
    return [(e.segment, e.element, e.code) for e in validate(text).all_errors()]


def _line(*after_po1: str, heading: tuple[str, ...] = (), adv: tuple[str, ...] = ()) -> list[str]:
    """The baseline 850: `heading` after BEG, an ADV loop before PO1, `after_po1` inside the first PO1 loop."""
    return [PO_BODY[0], *heading, PO_BODY[1], *adv, PO_BODY[2], *after_po1, *PO_BODY[3:]]


def test_the_compact_rows_have_element_numbers() -> None:
    unnumbered = [
        f"{tag}{el.position:02d}"
        for tag, seg in DICTIONARY.items()
        for el in seg.elements
        if el.kind == ID and not el.ref
    ]
    # the segments no public source at hand numbers (856/860 only): CLD ETD G53 GF LH1 PAL TSD, and R407
    assert {u[:-2] for u in unnumbered} <= {"CLD", "ETD", "G53", "GF", "LH1", "PAL", "TSD", "R4"}, unnumbered
    sln = segment_def("SLN")
    txi = segment_def("TXI", "005010")
    assert sln is not None and txi is not None
    assert [sln.elements[i].ref for i in (2, 6, 7, 8)] == ["662", "639", "662", "235"]
    assert sln.elements[2].codes == ELEMENT_CODES_004010["662"] == frozenset("ADIOS")
    assert txi.elements[0].codes == ELEMENT_CODES_005010["963"] != ELEMENT_CODES_004010["963"]


@pytest.mark.parametrize("version", ["004010", "005010"])
@pytest.mark.parametrize(
    ("segment", "element"),
    [
        ("SLN*1**Q*1*EA", 3),  # 662 relationship code
        ("SLN*1**I*1*EA*2***Q1*X", 9),  # 235 on a compact row
        ("TXI*QQ*10", 1),  # 963 tax type
        ("TXI*ST*10**QQ*X", 4),  # 955 tax jurisdiction qualifier
        ("CTP*QQ*RES*10", 1),  # 687 class of trade
        ("QTY*9B*1", 1),  # 673 quantity qualifier (a gap in the list)
        ("TD4*QQQ", 1),  # 152 special handling
    ],
)
def test_a_compact_code_outside_the_list_is_rejected(version: str, segment: str, element: int) -> None:
    assert (segment.split("*")[0], element, "7") in _errors(_line(segment), version)


@pytest.mark.parametrize("version", ["004010", "005010"])
def test_listed_compact_codes_pass(version: str) -> None:
    body = _line("CTP*RS*RES*10", "TD4*AK", "TXI*ST*10**CD*X*1", "QTY*01*1", "SLN*1**I*1*EA*2***VP*X")
    assert _errors(body, version) == []


def test_version_specific_compact_codes() -> None:
    # 963 gained AC and 955 gained ST in 005010; 673 lost 3U
    assert ("TXI", 1, "7") in _errors(_line("TXI*AC*10"))
    assert _errors(_line("TXI*AC*10"), "005010") == []
    assert _errors(_line("QTY*3U*1")) == []
    assert ("QTY", 1, "7") in _errors(_line("QTY*3U*1"), "005010")


def test_mea02_has_a_list_in_both_versions() -> None:
    assert _errors(_line("MEA*PD*WT*10*LB")) == [] == _errors(_line("MEA*PD*WT*10*LB"), "005010")
    assert ("MEA", 2, "7") in _errors(_line("MEA*PD*QQQ*10*LB"))
    assert _errors(_line("MEA*PD*ZA*10*LB")) == []  # 738 lost ZA in 005010
    assert ("MEA", 2, "7") in _errors(_line("MEA*PD*ZA*10*LB"), "005010")


def test_gs01_accepts_either_releases_functional_ids() -> None:
    # AB is a functional ID in both releases but not one the connector sends; UA is 005010 only (and a warning here:
    # it is not the 850's PO). QQ is in neither list.
    for gs01 in ("AB", "UA"):
        assert _errors(PO_BODY, gs01=gs01) == []
    assert ("GS", 1, "7") in _errors(PO_BODY, gs01="QQ") or any(e[0] == "GS" for e in _errors(PO_BODY, gs01="QQ"))


@pytest.mark.parametrize("version", ["004010", "005010"])
def test_adv_and_spi_notes(version: str) -> None:
    assert ("ADV", 6, "2") in _errors(_line(adv=("ADV*AD*NP*****CM",)), version)  # P0607
    assert _errors(_line(adv=("ADV*AD*NP****CM*10",)), version) == []
    assert ("SPI", 3, "2") in _errors(_line("SPI*00*DP"), version)  # P0203: SPI03 is missing
    assert _errors(_line("SPI*00*DP*038"), version) == []


def test_sr_notes() -> None:
    sr = segment_def("SR")
    assert sr is not None and [n.text for n in sr.notes] == ["C0403", "C0908"]
    check = checker(sr, "*", ">", "^").check
    assert check("SR*1**1200*1300", None, 1) is None and check("SR*1", None, 1) is None
    assert check("SR*1*******20260301*20260302", None, 1) is None
    problems = check("SR*1***1300", None, 1) or []
    assert [(p.element, p.code) for p in problems] == [(3, "2")]
    problems = check("SR*1********20260302", None, 1) or []
    assert [(p.element, p.code) for p in problems] == [(8, "2")]
