"""Random and mutated bytes always get a verdict: no exception from validate, acks, reads or the CLI; and the
compiled fast path accepts exactly what the element-by-element definition accepts."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from mlconnector.cli import app
from mlconnector.x12 import functional_acks, read_documents, validate
from mlconnector.x12.elements import Context, SegmentChecker
from mlconnector.x12.schemas import DICTIONARY

from .conftest import SAMPLES

SAMPLE_BYTES = [p.read_bytes() for p in sorted(SAMPLES.glob("*.edi"))]
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SAMPLE_BYTES)))
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["flip", "delete", "insert", "truncate"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif op == "delete" and data:
            del data[at : at + draw(st.integers(1, 40))]
        elif op == "insert":
            data[at:at] = draw(st.binary(max_size=20)) or b"*~"
        else:
            data = data[:at]
    return bytes(data)


def _no_crash(data: bytes) -> None:
    report = validate(data)
    assert isinstance(report.valid, bool)
    report.to_dict()
    functional_acks(data)
    for received in read_documents(data):
        assert received.valid or received.document is None


@FAST
@given(mutated())
def test_mutated_samples_get_a_verdict(data: bytes) -> None:
    _no_crash(data)


@FAST
@given(st.binary(max_size=400))
def test_random_bytes_get_a_verdict(data: bytes) -> None:
    _no_crash(data)
    _no_crash(b"ISA*00*          *00*" + data)


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
    st.sampled_from(["", "20260229", "20250229", "2460", "1259", "125960", "00", "IA", "\x07", "\ufffd", "٣"]),
)
TAGS = sorted(tag for tag, seg in DICTIONARY.items() if tag not in ("ISA",) and seg.elements)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(TAGS), st.lists(VALUES, max_size=8))
def test_fast_path_accepts_exactly_what_the_definition_accepts(tag: str, values: list[str]) -> None:
    seg = DICTIONARY[tag]
    chk = SegmentChecker(seg, "*", ">", "^")
    raw = "*".join([tag, *[v.replace("*", "") for v in values]])
    fast_ok = chk.fast is not None and chk.fast(raw) is not None and raw.isprintable()
    slow_errors = chk.slow(raw.split("*"), Context(tag, 1))
    if fast_ok:
        # The regex admits day 31 in every month; the calendar check runs after it (`SegmentChecker._dates`).
        calendar = [e for e in slow_errors if e.code == "8"]
        assert chk.check(raw, None, 1) is not None if calendar else True
        assert not [e for e in slow_errors if e.code != "8"], (raw, [e.message for e in slow_errors])
    else:
        assert slow_errors, raw
