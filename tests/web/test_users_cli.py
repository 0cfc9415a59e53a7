"""`ml-connector users …`: add, list, passwd, remove; bad input is one clear line and exit code 1."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlconnector.cli import app
from mlconnector.commands.context import Context
from mlconnector.web.users import authenticate

PASSWORD = "a-long-console-password"


@pytest.fixture
def tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLC_MASTER_KEY", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    assert CliRunner().invoke(app, ["init", "--tenant", "demo", "--data-dir", "var"]).exit_code == 0
    return tmp_path


def run(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args), input=stdin)


def test_add_list_passwd_remove(tenant: Path) -> None:
    added = run("users", "add", "alice", "--role", "operator", "--password-stdin", stdin=PASSWORD + "\n")
    assert added.exit_code == 0 and PASSWORD not in added.output
    listing = run("users", "list").output
    assert "alice" in listing and "operator" in listing and PASSWORD not in listing
    assert PASSWORD.encode() not in (tenant / "var" / "ml-connector.sqlite").read_bytes()
    assert run("users", "passwd", "alice", "--password-stdin", stdin="another-long-password\n").exit_code == 0
    store = Context.open().store
    with store.transaction() as session:
        assert authenticate(session, "alice", PASSWORD) is None
        assert authenticate(session, "alice", "another-long-password").role == "operator"
    store.close()
    assert run("users", "remove", "alice").exit_code == 0
    assert "No console users yet" in run("users", "list").output


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("users", "add", "bob", "--role", "boss", "--password-stdin"), PASSWORD, "Unknown role 'boss'"),
        (("users", "add", "bob", "--password-stdin"), "short", "at least 10 characters"),
        (("users", "add", "bad name!", "--password-stdin"), PASSWORD, "is not a usable user name"),
        (("users", "remove", "nobody"), None, "No user nobody"),
    ],
)
def test_bad_input_is_one_clear_line(tenant: Path, args: tuple[str, ...], stdin: str | None, message: str) -> None:
    result = run(*args, stdin=None if stdin is None else stdin + "\n")
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output


def test_a_second_add_of_the_same_name_is_refused(tenant: Path) -> None:
    assert run("users", "add", "carol", "--password-stdin", stdin=PASSWORD + "\n").exit_code == 0
    again = run("users", "add", "carol", "--password-stdin", stdin=PASSWORD + "\n")
    assert again.exit_code == 1 and "exists" in again.output
