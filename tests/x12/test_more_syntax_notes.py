"""Syntax notes added for PAM (P0405 … P1314) and MTX (C0102 C0302): a broken note is rejected with AK403 2,
a segment that keeps them passes, in both releases."""

from __future__ import annotations

import pytest

from mlconnector.x12 import validate
from mlconnector.x12.schemas import segment_def

from .helpers import ISA, PO_BODY, interchange, transaction_set

ISA_5010 = ISA.replace("*U*00401*", "*^*00501*")


def _po(*heading: str, adv: tuple[str, ...] = (), version: str = "004010") -> str:
    """The baseline 850 with `heading` segments after BEG and an ADV loop (`adv`) before the first PO1."""
    body = [PO_BODY[0], *heading, PO_BODY[1], *adv, *PO_BODY[2:]]
    if version == "005010":
        return interchange([transaction_set(body)], isa=ISA_5010, gs08="005010")
    return interchange([transaction_set(body)])


def _errors(text: str) -> list[tuple[str, int | None, str]]:
    return [(e.segment, e.element, e.code) for e in validate(text).all_errors()]


def test_the_notes_are_in_the_tables() -> None:
    for version in ("004010", "005010"):
        pam = segment_def("PAM", version)
        mtx = segment_def("MTX", version)
        assert pam is not None and mtx is not None
        assert {n.text for n in pam.notes} >= {"P010203", "R020514", "P0405", "P0607", "L070809", "C0807", "C0907"}
        assert {n.text for n in pam.notes} >= {"L101112", "C1110", "P1314"}
        assert {n.text for n in mtx.notes} == {"C0102", "C0302"}


@pytest.mark.parametrize("version", ["004010", "005010"])
@pytest.mark.parametrize(
    ("segment", "element"),
    [
        ("PAM*****100", 4),  # P0405: an amount without its qualifier
        ("PAM****1*100*MO", 7),  # P0607: a period without a date qualifier
        ("PAM****1*100**007", 8),  # L070809: a date qualifier without a date or time
        ("PAM****1*100***20260301", 7),  # C0807 (and P0607's partner is absent too)
        ("PAM****1*100*********5", 13),  # P1314: a percent without its qualifier
        ("PAM****1*100*****007", 11),  # L101112
    ],
)
def test_pam_notes(version: str, segment: str, element: int) -> None:
    assert ("PAM", element, "2") in _errors(_po(segment, version=version))


@pytest.mark.parametrize("version", ["004010", "005010"])
def test_pam_and_mtx_that_keep_their_notes_pass(version: str) -> None:
    text = _po(
        "PAM****1*100*MO*007*20260301",
        adv=("ADV*AD*NP", "MTX*GEN*FREE TEXT*MORE TEXT"),
        version=version,
    )
    report = validate(text)
    assert report.valid, [e.message for e in report.all_errors()]


@pytest.mark.parametrize("version", ["004010", "005010"])
@pytest.mark.parametrize(("mtx", "element"), [("MTX*GEN", 2), ("MTX***MORE TEXT", 2)])
def test_mtx_notes(version: str, mtx: str, element: int) -> None:
    assert ("MTX", element, "2") in _errors(_po(adv=("ADV*AD*NP", mtx), version=version))
