"""The tenant-care commands: init, credentials, vendor mapping, exceptions; one clear line on errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlconnector.cli import app
from mlconnector.commands.context import Context
from mlconnector.store.ops import raise_exception

SECRET = "Pa55-word-never-shown"


@pytest.fixture
def tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLC_MASTER_KEY", raising=False)
    monkeypatch.setenv("COLUMNS", "200")  # rich tables wrap at the terminal width
    result = CliRunner().invoke(app, ["init", "--tenant", "demo", "--data-dir", "var"])
    assert result.exit_code == 0, result.output
    return tmp_path


def run(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args), input=stdin)


def test_init_writes_config_key_and_database(tenant: Path) -> None:
    assert 'tenant = "demo"' in (tenant / "ml-connector.toml").read_text()
    assert (tenant / "var" / "master.key").exists()
    assert (tenant / "var" / "ml-connector.sqlite").exists()


def test_credentials_from_stdin_are_encrypted_and_never_echoed(tenant: Path) -> None:
    body = json.dumps({"user": "edi", "password": SECRET, "company": "ABC"})
    result = run("credentials", "set", "sage", "--stdin", stdin=body)
    assert result.exit_code == 0 and SECRET not in result.output
    assert "sage   stored" in run("credentials", "list").output
    assert SECRET.encode() not in (tenant / "var" / "ml-connector.sqlite").read_bytes()
    assert SECRET not in (tenant / "ml-connector.toml").read_text()


def test_credentials_missing_field_is_one_clear_line(tenant: Path) -> None:
    result = run("credentials", "set", "sage", "--stdin", stdin=json.dumps({"user": "edi"}))
    assert result.exit_code == 1
    assert "Missing password, company" in result.output
    assert "Traceback" not in result.output


def test_rotate_key_keeps_credentials_readable(tenant: Path) -> None:
    run("credentials", "set", "cleo", "--stdin", stdin=json.dumps({"username": "u", "password": SECRET}))
    old_key = (tenant / "var" / "master.key").read_text()
    assert run("credentials", "rotate-key").exit_code == 0
    assert (tenant / "var" / "master.key").read_text() != old_key
    assert Context.open().vault.get("cleo")["password"].reveal() == SECRET


def test_exceptions_list_show_resolve(tenant: Path) -> None:
    ctx = Context.open()
    with ctx.store.transaction() as session:
        record = raise_exception(
            session,
            kind="unmapped_vendor",
            what="PO 0000042 held",
            why="Vendor 01-ACME has no Cleo trading partner.",
            suggested_fix="ml-connector map vendor 01-ACME PARTNER",
            document_ref="PO:0000042",
        )
        session.flush()
        exception_id = record.id
    assert "unmapped_vendor" in run("exceptions", "list").output
    shown = run("exceptions", "show", str(exception_id)).output
    assert "Vendor 01-ACME has no Cleo trading partner." in shown
    assert run("exceptions", "resolve", str(exception_id)).exit_code == 0
    assert "No open exceptions." in run("exceptions", "list").output
    missing = run("exceptions", "show", "999")
    assert missing.exit_code == 1 and "No exception 999" in missing.output


def test_without_init_the_missing_key_is_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLC_MASTER_KEY", raising=False)
    result = run("credentials", "list")
    assert result.exit_code == 1
    assert "ml-connector init" in result.output
