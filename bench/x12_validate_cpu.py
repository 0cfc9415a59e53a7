"""In-process `validate()` CPU time on the two benchmark shapes, for comparing two source trees (run by hand).

`.venv/bin/python bench/x12_validate_cpu.py [SRC_TREE]` — SRC_TREE defaults to this checkout; pass another checkout
(e.g. `git worktree add --detach /tmp/old COMMIT`, then `/tmp/old`) to time that commit's validator on the same
bytes. Prints the number of element code lists loaded and the best CPU time of 5 per shape, for the 004010 files
and for their 005010 copies (ISA11 ^, ISA12 00501, GS08 005010: the shapes' segments are the same in both).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    tree = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parent
    sys.path.insert(0, str(tree / "src"))
    sys.path.insert(0, str(HERE))
    import mlconnector.x12.schemas.element_codes as element_codes
    from mlconnector.x12 import validate
    from x12_throughput import build_interchange, build_one_huge_set

    shapes = [("sets50", build_interchange(250_000)), ("one_set", build_one_huge_set(5000))]
    shapes += [(name + "_5010", (_as_5010(text), n)) for name, (text, n) in shapes]
    for name, (text, segments) in shapes:
        best = float("inf")
        for _ in range(5):
            start = time.process_time()
            report = validate(text)
            best = min(best, time.process_time() - start)
        assert report.valid
        lists = len(element_codes.ELEMENT_CODES_004010)
        rate = f"{name}_cpu_s={best:.3f} {name}_cpu_segments_per_s={segments / best:.0f}"
        print(f"tree={tree.name} lists={lists} lists_5010={_lists_5010()} {rate}")


def _lists_5010() -> int:
    try:
        from mlconnector.x12.schemas.element_codes_5010 import ELEMENT_CODES_005010
    except ImportError:  # a tree from before 005010 had lists of its own
        return 0
    return len(ELEMENT_CODES_005010)


def _as_5010(text: str) -> str:
    return text.replace("*U*00401*", "*^*00501*").replace("*X*004010", "*X*005010")


if __name__ == "__main__":
    main()
