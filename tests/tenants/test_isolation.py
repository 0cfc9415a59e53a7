"""Tenant isolation on one PostgreSQL: what tenant A holds (documents, exceptions, audit lines, mapping, cursors,
control numbers, credentials) never shows for tenant B — through the store, the vault and the CLI under `--tenant`."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select, text

from mlconnector.store.models import (
    AuditEntry,
    ControlNumberCounter,
    Credential,
    Cursor,
    ExceptionRecord,
    OutboundDocument,
    PartnerMapping,
)
from mlconnector.store.ops import allocate_control_numbers, audit, map_vendor, raise_exception, set_cursor
from mlconnector.vault import VaultError

from .hosting import Hosted

pytestmark = pytest.mark.postgres

A_MARK = "ACME-ONLY-4711"  # appears in every row tenant A gets, so a leak is found by a plain text search
A_SECRET = "acme-cleo-password-9f2c"
MODELS = (AuditEntry, ExceptionRecord, OutboundDocument, PartnerMapping, Cursor, ControlNumberCounter, Credential)


def _add(hosted: Hosted, tenant: str) -> None:
    result = hosted.cli(
        "tenants", "add", tenant, "--cleo-url", "https://127.0.0.1:9", "--agent-url", "https://127.0.0.1:9"
    )
    assert result.exit_code == 0, result.output


def _seed_a(hosted: Hosted) -> None:
    with hosted.store("a").transaction() as session:
        audit(session, direction="OUT", document_type="850", source_id=A_MARK, status="staged", message=A_MARK)
        raise_exception(
            session,
            kind="unmapped_vendor",
            what=f"PO {A_MARK} has no trading partner",
            why=A_MARK,
            suggested_fix="map it",
            document_ref=A_MARK,
        )
        session.add(
            OutboundDocument(
                idempotency_key=f"850:{A_MARK}",
                document_type="850",
                po_number=A_MARK[:32],
                vendor_no="01-ACME",
                version_hash="x" * 64,
                purpose="00",
            )
        )
        map_vendor(session, "01-ACME", A_MARK)
        set_cursor(session, "purchase_orders", A_MARK)
        allocate_control_numbers(session, A_MARK)
    hosted.vault("a").put("cleo", {"username": "acme", "password": A_SECRET})


def test_store_and_vault_show_tenant_b_nothing_of_tenant_a(hosted: Hosted) -> None:
    _add(hosted, "a")
    _add(hosted, "b")
    _seed_a(hosted)
    a, b = hosted.store("a"), hosted.store("b")
    with a.transaction() as session:
        assert all(session.scalar(select(func.count()).select_from(m)) >= 1 for m in MODELS)
    with b.transaction() as session:
        for model in MODELS:  # the ORM, and plain SQL text: the scope is the session's, not each query's
            assert session.scalar(select(func.count()).select_from(model)) == 0, model.__tablename__
            assert session.scalar(text(f"SELECT count(*) FROM {model.__tablename__}")) == 0
        assert session.scalar(text("SHOW search_path")) == "t_b"
    vault_b = hosted.vault("b")
    assert vault_b.names() == []
    with pytest.raises(VaultError):
        vault_b.get("cleo")
    # A's ciphertext copied into B's table does not decrypt for B: each entry is bound to its tenant.
    with a.transaction() as session:
        stolen = session.get(Credential, ("a", "cleo"))
        assert stolen is not None
        row = (stolen.key_id, stolen.nonce, stolen.ciphertext)
    with b.transaction() as session:
        session.add(Credential(tenant="b", name="cleo", key_id=row[0], nonce=row[1], ciphertext=row[2]))
    with pytest.raises(VaultError, match="do not decrypt"):
        vault_b.get("cleo")
    assert hosted.vault("a").get("cleo")["password"].reveal() == A_SECRET


def test_cli_under_tenant_b_shows_nothing_of_tenant_a(hosted: Hosted) -> None:
    _add(hosted, "a")
    _add(hosted, "b")
    _seed_a(hosted)
    seen_by_a = hosted.cli("--tenant", "a", "exceptions", "list", "--json")
    assert seen_by_a.exit_code == 0, seen_by_a.output
    assert [x["document_ref"] for x in json.loads(seen_by_a.output)] == [A_MARK]  # the seed is visible to its owner
    outputs = []
    for args in (
        ("exceptions", "list", "--all", "--json"),
        ("audit", "list", "--json"),
        ("map", "list", "--json"),
        ("credentials", "list"),
        ("status", "--json"),
    ):
        result = hosted.cli("--tenant", "b", *args)
        assert "Traceback" not in result.output
        outputs.append(result.output)
        if args[-1] == "--json" and args[0] != "status":
            assert json.loads(result.output) == [], args
    status = json.loads(outputs[-1])
    assert status["outbound"] == {} and status["open_exceptions"] == {}
    assert "cleo   missing" in outputs[3]
    everything = "\n".join(outputs)
    assert A_MARK not in everything and A_SECRET not in everything
    # nor does the single-tenant default (the file's own tenant, PostgreSQL's default schema) see A
    default = hosted.cli("exceptions", "list", "--json")
    assert default.exit_code == 0 and json.loads(default.output) == []


def test_tenant_commands_fail_in_one_line(hosted: Hosted, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _add(hosted, "a")
    bad = tmp_path / "bad.toml"
    bad.write_text('[schedule]\npurchase_orders_seconds = 7\n[cleo]\nbase_url = "https://cleo.example"\n')
    unknown_key = tmp_path / "unknown.toml"
    unknown_key.write_text('[cleo]\nbase_ur = "https://cleo.example"\n')
    cases = {
        ("tenants", "add", "a"): "already exists",
        ("tenants", "add", "Not-An-Id"): "cannot be a tenant id",
        ("tenants", "add", "default"): "cannot be a tenant id",
        ("tenants", "add", "c", "--config", str(bad)): "schedule.purchase_orders_seconds = 7",
        ("tenants", "add", "c", "--config", str(unknown_key)): "cleo.base_ur",
        ("tenants", "add", "c", "--config", str(tmp_path / "missing.toml")): "Cannot read",
        ("tenants", "disable", "nope"): "No tenant 'nope'",
        ("--tenant", "nope", "exceptions", "list"): "No tenant 'nope'",
    }
    for args, words in cases.items():
        result = hosted.cli(*args)
        assert result.exit_code == 1, (args, result.output)
        assert "Traceback" not in result.output
        assert result.output.startswith("error: ") and words in result.output.splitlines()[0], (args, result.output)
    listed = json.loads(hosted.cli("tenants", "list", "--json").output)
    assert [(t["id"], t["status"], t["schema"]) for t in listed] == [("a", "enabled", "t_a")]  # nothing half-added


def test_tenants_need_postgresql(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from mlconnector.config import write_config

    config = tmp_path / "ml-connector.toml"
    write_config(config, data_dir=str(tmp_path / "var"))
    monkeypatch.setenv("MLC_CONFIG", str(config))
    from typer.testing import CliRunner

    from mlconnector.cli import app

    result = CliRunner().invoke(app, ["tenants", "list"])
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == "error: Tenants need PostgreSQL; this connector uses SQLite (one tenant)."
