"""The partner file: TOML and JSON, defaults merged per partner, and errors that name the bad entry."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

import mlconnector.cleo.sandbox as sandbox_pkg
from mlconnector.cleo.sandbox.partners import Delays, load_partner_book, parse_partner_book


def test_the_shipped_example_loads_with_defaults_merged() -> None:
    book = load_partner_book(Path(sandbox_pkg.__file__).parent / "partners.example.toml")
    acme, bolt = book.partners
    assert (acme.alias, acme.profile, acme.erp_vendor) == ("ACME", "perfect", "01-ACME")
    assert acme.delays == Delays(0.5, 2, 10, 60, 300, 120)
    assert bolt.profile == "partial-shipper"
    assert bolt.delays.second_ship_notice == 600 and bolt.delays.invoice == 120
    assert bolt.price_change_percent == Decimal("5")
    assert book.get("BOLTCO") is bolt and book.get("NOPE") is None
    assert acme.record() == {
        "alias": "ACME",
        "name": "Acme Industrial Supply",
        "isaQualifier": "ZZ",
        "isaId": "ACMESUPPLY",
        "gsId": "ACMESUPPLY",
        "erpVendor": "01-ACME",
        "address": {},
    }


def test_json_files_work_too(tmp_path: Path) -> None:
    path = tmp_path / "partners.json"
    entry = {"alias": "V1", "name": "V One", "isa_id": "V1", "gs_id": "V1", "profile": "silent"}
    path.write_text(json.dumps({"partners": [entry]}), encoding="utf-8")
    (partner,) = load_partner_book(path).partners
    assert partner.profile == "silent" and partner.delays == Delays()


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, "non-empty 'partners' list"),
        ({"partners": [{"alias": "A", "name": "A", "isa_id": "A"}]}, "partner #1 (A): 'gs_id' is required"),
        ({"partners": [{"alias": "A", "name": "A", "isa_id": "A", "gs_id": "A", "profile": "lazy"}]}, "profile"),
        ({"partners": [{"alias": "A", "name": "A", "isa_id": "A", "gs_id": "A", "colour": "red"}]}, "colour"),
        ({"partners": [{"alias": "A", "name": "A", "isa_id": "A", "gs_id": "A", "delays": {"ack": 1}}]}, "ack"),
        ({"partners": [{"alias": "A", "name": "A", "isa_id": "A", "gs_id": "A"}] * 2}, "unique"),
    ],
)
def test_bad_partner_files_name_the_problem(data: dict[str, object], error: str) -> None:
    with pytest.raises(ValueError, match=re.escape(error)):
        parse_partner_book(data)
