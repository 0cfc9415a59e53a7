"""Envelope, structure, element and syntax-note checks, one broken thing at a time."""

from __future__ import annotations

import io

import pytest

from mlconnector.x12 import read_documents, validate, validate_stream
from mlconnector.x12.reader import tokens_from_data

from .helpers import ISA, PO_BODY, interchange, transaction_set


def errors_of(text: str, **kwargs: bool) -> list[tuple[str, int | None, str]]:
    return [(e.segment, e.element, e.code) for e in validate(text, **kwargs).all_errors()]


def test_the_baseline_interchange_is_valid() -> None:
    report = validate(interchange())
    assert report.valid, [e.message for e in report.all_errors()]
    assert report.to_dict()["interchanges"][0]["groups"][0]["sets"][0] == {
        "id": "850",
        "control": "0001",
        "valid": True,
        "errors": [],
    }


def test_control_number_and_count_mismatches() -> None:
    text = interchange([transaction_set(PO_BODY, count=99)])
    assert ("SE", 1, "4") in errors_of(text)
    text = interchange().replace("SE*7*0001", "SE*7*0002")
    assert ("SE", 2, "3") in errors_of(text)
    text = interchange().replace("GE*1*7", "GE*2*7")
    assert ("GE", 1, "5") in errors_of(text)
    text = interchange().replace("GE*1*7", "GE*1*8")
    assert ("GE", 2, "4") in errors_of(text)
    text = interchange().replace("IEA*1*000000042", "IEA*1*000000043")
    [error] = validate(text).all_errors()
    assert error.segment == "IEA" and "ISA13" in error.message
    text = interchange().replace("IEA*1*", "IEA*3*")
    assert "IEA01 says 3 groups" in validate(text).all_errors()[0].message


def test_missing_trailers_are_reported() -> None:
    text = interchange().replace("SE*7*0001~\n", "")
    assert ("SE", None, "2") in errors_of(text)
    text = interchange().replace("IEA*1*000000042~\n", "")
    assert any("no IEA trailer" in e.message for e in validate(text).all_errors())


def test_missing_final_terminator_is_only_a_warning() -> None:
    text = interchange(terminator="~").rstrip("~")
    report = validate(text)
    assert report.valid
    assert any("no segment terminator" in w.message for w in report.all_warnings())


def test_bom_crlf_and_blank_lines_between_segments_are_tolerated() -> None:
    text = "\ufeff" + interchange(terminator="~\r\n\r\n  ")
    assert validate(text.encode()).valid


def test_several_interchanges_with_their_own_delimiters() -> None:
    first = interchange()
    second = interchange(isa=ISA.replace("000000042", "000000043"), terminator="~").replace(
        "IEA*1*000000042", "IEA*1*000000043"
    )
    second = second.replace("*", "|").replace("|>", "|:")
    report = validate(first + "\n" + second)
    assert report.valid, [e.message for e in report.all_errors()]
    assert [ic.control for ic in report.interchanges] == ["000000042", "000000043"]
    assert report.interchanges[1].separators.element == "|"


def test_gs08_suffix_and_unsupported_version() -> None:
    assert validate(interchange(gs08="004010VICS")).valid
    report = validate(interchange(gs08="003060"))
    assert not report.valid
    message = report.all_errors()[0].message
    assert "unsupported version '003060'" in message and "004010" in message


def test_unsupported_set_and_functional_id_mismatch() -> None:
    report = validate(interchange([transaction_set(["BGN*00*1*20260301"], set_id="824")], gs01="AG"))
    assert not report.valid and "824" in report.all_errors()[0].message
    report = validate(interchange(gs01="IN"))
    assert report.valid
    assert "belongs in a 'PO' group" in report.all_warnings()[0].message


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (["N1*ST*WAREHOUSE", *PO_BODY[2:]], ("BEG", None, "3")),  # mandatory segment missing
        ([PO_BODY[0], "ZZZ*1", *PO_BODY[1:]], ("ZZZ", None, "1")),  # unrecognized segment
        ([PO_BODY[0], "BSN*00*X*20260301*1200", *PO_BODY[1:]], ("BSN", None, "6")),  # not in the 850's definition
        ([*PO_BODY[:3], "BEG*00*SA*X**20260301", *PO_BODY[3:]], ("BEG", None, "7")),  # out of order
        ([PO_BODY[0], *["PER*BD"] * 4, *PO_BODY[1:]], ("PER", None, "5")),  # exceeds max use
        ([*PO_BODY[:2], "CTT*0"], ("PO1", None, "3")),  # mandatory loop missing
    ],
)
def test_structure_errors_carry_their_ak304_code(body: list[str], expected: tuple) -> None:
    assert expected in errors_of(interchange([transaction_set(body)]))


@pytest.mark.parametrize(
    ("segment", "expected"),
    [
        ("PO1*1*10*EA*2.5*PE*VP*WIDGET-1*BP", ("PO1", 9, "2")),  # pair broken (P0809)
        ("PO1*1*10*EA*2.5*PE*VP*WIDGET-1*BP*X*XX", ("PO1", 11, "2")),
        ("PO1*1*1O*EA*2.5*PE*VP*WIDGET-1", ("PO1", 2, "6")),  # letter O in a number
        ("PO1*1*10*EA*2.5*PE*VP*" + "W" * 49, ("PO1", 7, "5")),  # too long
        ("PO1*1*10*E*2.5*PE*VP*WIDGET-1", ("PO1", 3, "4")),  # too short
        ("PO1*1*10*EA*2.5*PE*VP*WIDGET\x01", ("PO1", 7, "6")),  # control character
    ],
)
def test_element_errors_carry_their_ak403_code(segment: str, expected: tuple) -> None:
    body = [*PO_BODY[:2], segment, *PO_BODY[3:]]
    assert expected in errors_of(interchange([transaction_set(body)]))


def test_dates_times_codes_and_mandatory_elements() -> None:
    assert ("BEG", 5, "8") in errors_of(interchange([transaction_set(["BEG*00*SA*PO1**20260231", *PO_BODY[1:]])]))
    assert ("BEG", 1, "7") in errors_of(interchange([transaction_set(["BEG*99*SA*PO1**20260301", *PO_BODY[1:]])]))
    assert ("BEG", 3, "1") in errors_of(interchange([transaction_set(["BEG*00*SA***20260301", *PO_BODY[1:]])]))
    ship = ["BSN*00*SHIP1*20260301*2460", "HL*1**S", "CTT*1"]
    assert ("BSN", 4, "9") in errors_of(interchange([transaction_set(ship, set_id="856")], gs01="SH"))
    assert ("N1", 7, "3") in errors_of(interchange([transaction_set([PO_BODY[0], "N1*ST*A*92*1*X*Y*Z", *PO_BODY[2:]])]))


def test_syntax_note_kinds_r_c_and_messages_name_the_line() -> None:
    errs = validate(interchange([transaction_set([PO_BODY[0], "REF*DP", *PO_BODY[1:]])])).all_errors()
    assert [(e.segment, e.code) for e in errs] == [("REF", "2")]
    assert "at least one of REF02/REF03" in errs[0].message
    body = [*PO_BODY[:2], "PO1*3*10*EA**PE*VP*W", *PO_BODY[3:]]
    [error] = validate(interchange([transaction_set(body)])).all_errors()
    assert (error.element, error.code) == (4, "2")
    assert error.message == "PO1 line 3: price basis PE is given, so PO104 unit price is required (C0504)"


def test_streaming_with_tiny_chunks_matches_in_memory() -> None:
    text = interchange([transaction_set(PO_BODY), transaction_set([*PO_BODY[:2], "CTT*0"], control="0002")])
    whole = validate(text).to_dict()
    assert validate_stream(io.BytesIO(text.encode())).to_dict() == whole
    tokens_big = list(tokens_from_data(text))
    tokens_small = list(tokens_from_data(text, chunk_size=7))
    assert tokens_small == tokens_big


def test_non_x12_input_gets_a_clear_verdict() -> None:
    for data in (b"", b"hello world", b"ISA*00", b"\xff\xfe\x00garbage"):
        report = validate(data)
        assert not report.valid
        assert report.all_errors()[0].message


def test_group_header_dates_and_envelope_errors_invalidate_read_documents() -> None:
    text = interchange().replace("*20260301*1200*7*", "*20261301*1200*7*")
    assert ("GS", 4, "8") in errors_of(text)
    [received] = read_documents(text)
    assert not received.valid and received.document is None
    assert received.errors[0].segment == "GS"


def test_junk_between_interchanges_is_reported_and_the_rest_still_read() -> None:
    second = interchange(isa=ISA.replace("000000042", "000000043")).replace("IEA*1*000000042", "IEA*1*000000043")
    text = interchange() + "NOT X12 AT ALL\n" + second
    report = validate(text)
    assert not report.valid and len(report.interchanges) == 2
    assert "this is not X12" in report.errors[0].message
    assert all(ic.valid for ic in report.interchanges)


def test_the_same_interchange_control_number_twice_is_a_duplicate() -> None:
    report = validate(interchange() + interchange())
    assert report.interchanges[0].valid
    [error] = report.interchanges[1].errors
    assert (error.segment, error.element, error.code) == ("ISA", 13, "025")


def test_syntax_note_kinds_e_and_l() -> None:
    ship = ["BSN*00*SHIP1*20260301*1200", "HL*1**S", "MEA*PD*G*12*LB****01", "CTT*1"]
    errs = validate(interchange([transaction_set(ship, set_id="856")], gs01="SH")).all_errors()
    assert [(e.segment, e.element, e.code) for e in errs] == [("MEA", 3, "10")]
    assert "only one of MEA08/MEA03 may be given" in errs[0].message
    ship[2] = "MEA*PD*G***1**01"
    errs = validate(interchange([transaction_set(ship, set_id="856")], gs01="SH")).all_errors()
    assert [(e.element, e.code) for e in errs] == [(4, "2")]  # C0504: a range minimum needs its unit
    body = [*PO_BODY[:3], "PO4*1*1*EA**********IN", *PO_BODY[3:]]
    errs = validate(interchange([transaction_set(body)])).all_errors()
    assert [(e.segment, e.element, e.code) for e in errs] == [("PO4", 10, "2")]  # L13101112


def test_a_text_stream_is_accepted_too() -> None:
    assert validate_stream(io.StringIO(interchange())).valid  # type: ignore[arg-type]
