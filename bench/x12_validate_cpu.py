"""In-process `validate()` CPU time on the two benchmark shapes, for comparing two source trees (run by hand).

`.venv/bin/python bench/x12_validate_cpu.py [SRC_TREE]` — SRC_TREE defaults to this checkout; pass another checkout
(e.g. `git worktree add --detach /tmp/old COMMIT`, then `/tmp/old`) to time that commit's validator on the same
bytes. Prints the number of element code lists loaded and the best CPU time of 5 per shape.
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

    for name, (text, segments) in (("sets50", build_interchange(250_000)), ("one_set", build_one_huge_set(5000))):
        best = float("inf")
        for _ in range(5):
            start = time.process_time()
            report = validate(text)
            best = min(best, time.process_time() - start)
        assert report.valid
        lists = len(element_codes.ELEMENT_CODES_004010)
        print(f"tree={tree.name} lists={lists} {name}_cpu_s={best:.3f} {name}_cpu_segments_per_s={segments / best:.0f}")


if __name__ == "__main__":
    main()
