"""X12 engine: pure functions over bytes/text; no Sage, no Cleo, no I/O beyond the data handed in."""

from __future__ import annotations

from mlconnector.x12.report import GroupResult, InterchangeResult, SetResult, ValidationReport, X12Error
from mlconnector.x12.validate import validate, validate_stream

__all__ = [
    "GroupResult",
    "InterchangeResult",
    "SetResult",
    "ValidationReport",
    "X12Error",
    "validate",
    "validate_stream",
]
