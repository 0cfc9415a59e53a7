"""997 generation: the right AK codes, statuses A/E/R/P, swapped parties, 997 groups left alone."""

from __future__ import annotations

from datetime import datetime

from mlconnector.x12 import (
    SequentialControlNumbers,
    functional_ack_documents,
    functional_acks,
    read_documents,
    validate,
)
from mlconnector.x12.documents import FunctionalAck

from .conftest import SAMPLES, bots_valid
from .helpers import PO_BODY, interchange, transaction_set

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


def test_group_header_element_errors_reject_without_inventing_ak905_codes() -> None:
    ack = _ack_of(interchange().replace("*20260301*1200*7*", "*20261301*1200*7*"))
    assert ack.status == "R" and ack.error_codes == () and ack.sets_accepted == 0
