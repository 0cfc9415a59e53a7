"""The benchmarks refuse to print figures for a run that did not finish: an incomplete run exits non-zero.

The benchmarks themselves are run by hand (they time things); these tests only exercise their guards, with no timing.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


def bench_module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def outbound() -> ModuleType:
    return bench_module("outbound")


@pytest.fixture(scope="module")
def x12_throughput() -> ModuleType:
    return bench_module("x12_throughput")


@pytest.mark.parametrize(
    ("sent", "held", "in_cleo"),
    [(9, 1, 9), (10, 0, 9), (9, 0, 10), (0, 0, 0)],
    ids=["one-held", "one-missing-in-cleo", "one-not-recorded-sent", "nothing"],
)
def test_outbound_bench_exits_1_without_rates_when_not_every_po_arrived(
    outbound: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str], sent: int, held: int, in_cleo: int
) -> None:
    log = tmp_path / "connector-bench.log"
    log.write_text("the connector's last words\n")
    with pytest.raises(SystemExit) as info:
        outbound.require_complete(10, sent, held, in_cleo, log)
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert f"INCOMPLETE RUN: 10 POs generated, {sent} sent, {held} held, {in_cleo} in Cleo; no rate is printed" in err
    assert "the connector's last words" in err


def test_outbound_bench_goes_on_when_every_po_is_sent_and_in_cleo(outbound: ModuleType, tmp_path: Path) -> None:
    assert outbound.require_complete(10, 10, 0, 10, tmp_path / "absent.log") is None


def test_x12_bench_stops_non_zero_when_a_timed_command_fails_or_is_not_valid(x12_throughput: ModuleType) -> None:
    failing = [sys.executable, "-c", "import sys; print('f.edi: VALID (1 set)'); sys.exit(3)"]
    with pytest.raises(SystemExit) as info:
        x12_throughput._process(failing, 1)
    assert info.value.code not in (None, 0) and "exited 3" in str(info.value.code)
    invalid = [sys.executable, "-c", "print('f.edi: INVALID (0 sets: none)')"]
    with pytest.raises(x12_throughput.Incomplete):
        x12_throughput._process(invalid, 1)
    assert x12_throughput._process([sys.executable, "-c", "print('f.edi: VALID (1 set)')"], 1) > 0


def test_x12_bench_times_every_side_with_one_function(x12_throughput: ModuleType) -> None:
    """Best of `repeat` for every side: the function runs exactly `repeat` times and the minimum is kept."""
    calls: list[int] = []
    wall, cpu = x12_throughput._time(lambda: calls.append(1), 3)
    assert len(calls) == 3 and 0 <= wall < float("inf") and 0 <= cpu < float("inf")
