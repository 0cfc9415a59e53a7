"""List the gaps in the X12 tables: ID elements without a code list, and segments without syntax notes.

Run by hand: `.venv/bin/python bench/x12_code_gaps.py [--version 004010|005010]`. Prints one line per data element
number (with the segment positions that use it) whose ID elements carry no code list in that version, then the
counts, then the segments that declare conditional (X) elements but no syntax notes. An element is "covered" when
every ID use of it has a code list; external lists (postal code 116, industry code 1271) are listed apart.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

from mlconnector.x12.schemas import (
    COMPOSITES,
    DICTIONARY,
    DICTIONARY_5010,
    EXTERNAL_CODE_SOURCES,
    ID,
    ElementDef,
    segment_def,
)

# Checked outside the element tables: the ISA code lists in `validate.isa_problems` (TA105 codes), AK301 (a segment
# ID: any tag of the set), ST01 (the supported sets, AK502 1) besides its 143 list.
CHECKED_ELSEWHERE = frozenset({"I01", "I03", "I05", "I11", "I13", "I14", "721"})


def _uses(version: str) -> list[tuple[str, str, ElementDef]]:
    """(where, element number, definition) for every ID element and ID component of every segment."""
    tags = sorted(DICTIONARY_5010 if version == "005010" else DICTIONARY)
    found = []
    for tag in tags:
        seg = segment_def(tag, version)
        if seg is None:
            continue
        for el in seg.elements:
            if el.kind == ID:
                found.append((f"{tag}{el.position:02d}", el.ref or "?", el))
            for comp in el.components:
                if comp.kind == ID:
                    found.append((f"{tag}{el.position:02d}-{comp.position}", comp.ref or "?", comp))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--version", choices=("004010", "005010"), default="004010")
    args = parser.parse_args()
    by_ref: dict[str, list[tuple[str, bool]]] = defaultdict(list)
    for where, ref, el in _uses(args.version):
        by_ref[ref].append((where, el.codes is not None))
    covered = sorted(
        r for r, uses in by_ref.items() if (all(ok for _, ok in uses) or r in CHECKED_ELSEWHERE) and r != "?"
    )
    external = sorted(r for r in by_ref if r in EXTERNAL_CODE_SOURCES)
    missing = sorted(
        (r for r, uses in by_ref.items() if r not in covered and r not in external), key=lambda r: (r == "?", r)
    )
    for ref in missing:
        places = [w for w, ok in by_ref[ref] if not ok]
        print(f"no list {ref:>5}: {len(places):3d} uses  {' '.join(places)}")
    print(f"version={args.version} id_elements={len(by_ref) - ('?' in by_ref)} covered={len(covered)}", end=" ")
    unnumbered = sum(1 for _, ok in by_ref.get("?", []) if not ok)
    print(f"without_list={len(missing) - ('?' in by_ref)} external={len(external)} unnumbered_uses={unnumbered}")
    no_notes = []
    for tag in sorted(DICTIONARY_5010 if args.version == "005010" else DICTIONARY):
        seg = segment_def(tag, args.version)
        if seg and not seg.notes and len(seg.elements) > 1:
            flag = "X" if any(_conditional(tag, el) for el in seg.elements) else ""
            no_notes.append(tag + flag)
    print(f"segments_without_notes={len(no_notes)} (X: has conditional elements) {' '.join(no_notes)}")
    composites_without = [
        ref for ref, (comps, notes) in COMPOSITES.items() if not notes and any(not c.mandatory for c in comps)
    ]
    print(f"composites_with_optional_components_but_no_notes={' '.join(composites_without) or '-'}")


def _conditional(tag: str, el: ElementDef) -> bool:
    """X (conditional) elements are only meaningful with syntax notes; the parser keeps M/O in `mandatory` only."""
    return _REQ.get((tag, el.position)) == "X"


_REQ: dict[tuple[str, int], str] = {}


def _load_requirements() -> None:
    from mlconnector.x12.schemas.segments import SEGMENT_TEXT, SHORT_TEXT

    tag = ""
    pos = 0
    for raw in SEGMENT_TEXT.strip().splitlines():
        line = raw.strip()
        if not raw.startswith(" "):
            tag, pos = line.split()[0], 0
        elif line.startswith("+PAIRS"):
            for _ in range(int(line.split()[1]) * 2):
                pos += 1
                _REQ[(tag, pos)] = "X"
        elif not line.startswith("="):
            pos += 1
            _REQ[(tag, pos)] = line.split()[0]
    for line in SHORT_TEXT.replace("\\\n", "").strip().splitlines():
        tag, _, rest = line.partition(" ")
        for i, spec in enumerate(rest.partition("=")[0].split(","), 1):
            _REQ[(tag, i)] = spec.split()[0]


if __name__ == "__main__":
    _load_requirements()
    main()
