"""Random and mutated bytes always get a verdict: no exception from validate, acks, reads or the CLI; and the
compiled fast path accepts exactly what the element-by-element definition accepts."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from mlconnector.cleo.models import Message
from mlconnector.cli import app
from mlconnector.flows.inbound import inbound_key
from mlconnector.x12 import (
    functional_ack_documents,
    functional_acks,
    interchange_ack_documents,
    interchange_acks,
    read_documents,
    read_interchange_acks,
    validate,
)
from mlconnector.x12.elements import Context, SegmentChecker
from mlconnector.x12.schemas import DICTIONARY

from .conftest import SAMPLES
from .helpers import ISA, interchange

SAMPLE_BYTES = [p.read_bytes() for p in sorted(SAMPLES.glob("*.edi"))]
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Inputs that broke an entry point once: a Unicode digit or 5,000 digits in GE01, ISA16 = element separator.
REGRESSIONS = [
    interchange().replace("GE*1*7", "GE*\u00b2*7").encode(),
    interchange().replace("GE*1*7", "GE*" + "9" * 5000 + "*7").encode(),
    interchange().replace("IEA*1*", "IEA*" + "\u0663" * 3 + "*").encode(),
    interchange().replace("*P*>", "*P**").encode(),
    interchange().replace("*260301*1200*", "*260301*\u00b2\u00b2\u00b2\u00b2*").encode(),
]


def test_the_fuzz_corpus_is_not_empty() -> None:
    """The properties below draw from the samples; an empty directory would make them vacuous."""
    assert len(SAMPLE_BYTES) >= 10 and all(b"ISA" in data for data in SAMPLE_BYTES)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SAMPLE_BYTES)))
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["flip", "delete", "insert", "truncate", "digits", "separator"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif op == "delete" and data:
            del data[at : at + draw(st.integers(1, 40))]
        elif op == "insert":
            data[at:at] = draw(st.binary(max_size=20)) or b"*~"
        elif op == "digits":
            data[at:at] = draw(st.sampled_from(["\u00b2", "\u0663", "9" * 5000, "-0", " "])).encode()
        elif op == "separator" and len(data) > 105:
            data[draw(st.sampled_from([82, 104, 105]))] = data[3]
        else:
            data = data[:at]
    return bytes(data)


inputs = st.one_of(mutated(), st.binary(max_size=400), st.binary(max_size=300).map(lambda b: ISA.encode() + b))


def _every_entry_point(data: bytes) -> None:
    """Each public X12 entry point answers with a result, never an exception (not even one of ours)."""
    for lenient in (False, True):
        report = validate(data, lenient=lenient)
        assert isinstance(report.valid, bool)
        report.to_dict()
        received = read_documents(data, lenient=lenient)
        assert len(received) == report.set_count()
        assert all(r.valid or r.document is None for r in received)
        assert all(r.valid or r.errors for r in received)  # an invalid set always says why
        functional_ack_documents(report)
        interchange_ack_documents(report)
    functional_acks(data)
    interchange_acks(data)
    read_interchange_acks(data)
    key = inbound_key(Message("m1", "IN", "ACME", "850", "new"), data.decode("utf-8", "replace"))
    assert key.startswith("ACME:")


@pytest.mark.parametrize(
    "data", REGRESSIONS, ids=["ge01-superscript", "ge01-5000-digits", "iea01-arabic", "isa16", "isa10"]
)
def test_known_poison_inputs_get_a_verdict(data: bytes) -> None:
    _every_entry_point(data)
    assert not validate(data).valid


@FAST
@given(inputs)
def test_any_bytes_get_a_verdict_from_every_entry_point(data: bytes) -> None:
    _every_entry_point(data)


@settings(max_examples=20, deadline=None)
@given(mutated())
def test_cli_never_shows_a_traceback(tmp_path_factory, data: bytes) -> None:  # type: ignore[no-untyped-def]
    path: Path = tmp_path_factory.mktemp("fuzz") / "in.edi"
    path.write_bytes(data)
    runner = CliRunner()
    for args in (["x12", "validate", str(path)], ["x12", "ack", str(path)], ["x12", "show", str(path)]):
        result = runner.invoke(app, args)
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        assert result.exit_code in (0, 1)


VALUES = st.one_of(
    st.text("0123456789", max_size=12),
    st.text("0123456789.-", max_size=10),
    st.text("ABCXYZ09 .>^~|", max_size=6),
    st.sampled_from(
        ["", "20260229", "20250229", "2460", "1259", "125960", "00", "IA", "\x07", "\ufffd", "٣", "sa", "s"]
    ),
    st.sampled_from(["PC>11.1", "PCX>11.1", "PC>X", ">".join(["EA"] * 17), "EA>>>CA", "DP>A1>PO", "DP>A1>PO>", "  "]),
)
TAGS = sorted(tag for tag, seg in DICTIONARY.items() if tag not in ("ISA",) and seg.elements)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(TAGS), st.lists(VALUES, max_size=8))
def test_fast_path_accepts_exactly_what_the_definition_accepts(tag: str, values: list[str]) -> None:
    seg = DICTIONARY[tag]
    chk = SegmentChecker(seg, "*", ">", "^")
    raw = "*".join([tag, *[v.replace("*", "") for v in values]])
    # The regex admits a trailing separator; `check` sends such a segment to the slow path before trusting it.
    fast_ok = chk.fast is not None and chk.fast(raw) is not None and not raw.endswith("*") and raw.isprintable()
    slow_errors = chk.slow(raw.split("*"), Context(tag, 1))
    if fast_ok:
        # The regex admits day 31 in every month; the calendar check runs after it (`SegmentChecker._dates`).
        calendar = [e for e in slow_errors if e.code == "8"]
        if calendar:
            assert chk.check(raw, None, 1) is not None, raw
        assert not [e for e in slow_errors if e.code != "8"], (raw, [e.message for e in slow_errors])
    else:
        assert slow_errors, raw
