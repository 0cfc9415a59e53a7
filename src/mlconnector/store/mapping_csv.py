"""The vendor-mapping CSV (`vendor_no,partner,change_document,edi`), read the same way by `ml-connector map import`
and the console's upload: all rows checked before any is applied, each error naming its line."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from sqlalchemy.orm import Session

from mlconnector.store.ops import map_vendor, mark_not_edi

CSV_COLUMNS = ("vendor_no", "partner", "change_document", "edi")


@dataclass(frozen=True)
class MappingRow:
    vendor_no: str
    partner: str
    change_document: str | None
    edi: bool


class MappingCSVError(ValueError):
    """One line a clerk can fix: `message` says what is wrong, `hint` what to write instead."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


def parse_mappings(text: str, source: str = "the file") -> list[MappingRow]:
    """Every row of the CSV, or `MappingCSVError` for the first bad one (nothing is applied then)."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("vendor_no", "partner") if c not in (reader.fieldnames or [])]
    if missing:
        raise MappingCSVError(
            f"{source}: no column {', '.join(missing)}.", f"The first line must be: {','.join(CSV_COLUMNS)}"
        )
    rows = []
    for line, raw in enumerate(reader, start=2):
        vendor = (raw.get("vendor_no") or "").strip()
        partner = (raw.get("partner") or "").strip()
        change = (raw.get("change_document") or "").strip() or None
        edi = (raw.get("edi") or "yes").strip().lower()
        if not vendor and not partner and not any((v or "").strip() for v in raw.values() if isinstance(v, str)):
            continue  # a blank line a spreadsheet left behind
        if not vendor:
            raise MappingCSVError(f"{source} line {line}: vendor_no is empty.")
        if len(vendor) > 32 or len(partner) > 64:
            raise MappingCSVError(f"{source} line {line}: {vendor[:40]!r} / {partner[:40]!r} is too long.")
        if edi not in ("yes", "no"):
            raise MappingCSVError(f"{source} line {line}: edi = {edi!r}.", "Use yes or no.")
        if change not in (None, "850", "860"):
            raise MappingCSVError(
                f"{source} line {line}: change_document = {change!r}.", "Use 850, 860 or leave it empty."
            )
        if edi == "yes" and not partner:
            raise MappingCSVError(
                f"{source} line {line}: vendor {vendor} has no partner.", "Give the alias, or edi = no."
            )
        rows.append(MappingRow(vendor, partner, change, edi == "yes"))
    return rows


def apply_mappings(session: Session, rows: list[MappingRow]) -> tuple[int, int, int]:
    """Map each EDI vendor, mark the others as not trading by EDI. Returns (mapped, not EDI, held POs skipped)."""
    mapped = not_edi = skipped = 0
    for row in rows:
        if row.edi:
            map_vendor(session, row.vendor_no, row.partner, change_document=row.change_document)
            mapped += 1
        else:
            skipped += mark_not_edi(session, row.vendor_no)[0]
            not_edi += 1
    return mapped, not_edi, skipped
