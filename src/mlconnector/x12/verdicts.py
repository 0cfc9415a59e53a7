"""`x12 validate`'s verdicts, without Typer: the command line's fast path and the Typer command share this code.

One line per file (VALID/INVALID, the sets it holds, the first errors, the warnings) or a JSON list; the exit code
is 0 when every file is valid, 1 when any is invalid, 2 when a file cannot be read.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import TextIO

from mlconnector.x12.report import ValidationReport
from mlconnector.x12.validate import validate_stream

FIRST_ERRORS = 3


def summary(path: Path, report: ValidationReport) -> str:
    """One line a clerk can act on: the verdict, what the file holds, the first errors and warnings."""
    kinds = Counter(s.set_id for ic in report.interchanges for g in ic.groups for s in g.sets)
    sets = ", ".join(f"{k}×{n}" for k, n in sorted(kinds.items())) or "none"
    count = sum(kinds.values())
    line = f"{path}: {'VALID' if report.valid else 'INVALID'} ({count} set{'s' if count != 1 else ''}: {sets})"
    errors = report.all_errors()
    if errors:
        shown = "; ".join(e.message for e in errors[:FIRST_ERRORS])
        more = f" (+{len(errors) - FIRST_ERRORS} more)" if len(errors) > FIRST_ERRORS else ""
        line += f" — {shown}{more}"
    warnings = report.all_warnings()
    if warnings:
        line += f" [{len(warnings)} warning{'s' if len(warnings) != 1 else ''}: {warnings[0].message}]"
    return line


def validate_files(
    files: list[Path],
    *,
    as_json: bool = False,
    lenient: bool = False,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Validate each file as a stream and print its verdict; return the exit code (0 valid, 1 invalid, 2 unread)."""
    out = out or sys.stdout
    err = err or sys.stderr
    missing = [f for f in files if not f.is_file()]
    for f in missing:
        print(f"error: {f} is not a readable file", file=err)
    if missing:
        return 2
    results: list[dict[str, object]] = []
    all_valid = True
    for path in files:
        try:
            with path.open("rb") as stream:
                report = validate_stream(stream, lenient=lenient)
        except OSError as exc:
            print(f"error: cannot read {path}: {exc.strerror or exc}", file=err)
            return 2
        all_valid = all_valid and report.valid
        if as_json:
            results.append({"file": str(path), **report.to_dict()})
        else:
            print(summary(path, report), file=out, flush=True)
    if as_json:
        print(json.dumps(results, indent=2), file=out)
    return 0 if all_valid else 1
