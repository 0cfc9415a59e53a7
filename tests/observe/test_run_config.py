"""`ml-connector run` refuses bad observability settings with one line, and alert secrets go to the vault."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlconnector.cli import app
from mlconnector.commands.context import Context
from mlconnector.observability import logging as logs

WEBHOOK = "https://hooks.example.com/services/T000/B000/XXXXSECRETXXXX"


@pytest.fixture(autouse=True)
def detach_logs() -> Iterator[None]:
    """`run` configures the process's logging; take it down again so later tests log as before."""
    yield
    logs.shutdown()


@pytest.fixture
def tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLC_MASTER_KEY", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    result = CliRunner().invoke(app, ["init", "--tenant", "demo", "--data-dir", "var"])
    assert result.exit_code == 0, result.output
    for name, fields in {
        "sage": {"user": "edi", "password": "pw-sage", "company": "ABC"},
        "cleo": {"username": "demo", "password": "pw-cleo"},
        "agent": {"key": "ab" * 32},
    }.items():
        assert CliRunner().invoke(app, ["credentials", "set", name, "--stdin"], input=json.dumps(fields)).exit_code == 0
    return tmp_path


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"MLC_LOG__LEVEL": "LOUD"}, "[log] level"),
        ({"MLC_METRICS__SAGE_TIMEZONE": "Mars/Olympus"}, "sage_timezone"),
        ({"MLC_ALERTS__ENABLED": "true", "MLC_ALERTS__EVERY_SECONDS": "7"}, "[alerts] every_seconds"),
        (
            {"MLC_ALERTS__ENABLED": "true", "MLC_ALERTS__EMAIL_TO": '["a@example.com"]'},
            "smtp_host is empty",
        ),
        ({"MLC_ALERTS__ENABLED": "true", "MLC_ALERTS__WEBHOOK": "true"}, "credentials set webhook"),
        ({"MLC_METRICS__ENABLED": "true", "MLC_METRICS__HOST": "0.0.0.0"}, "without a token"),
    ],
)
def test_bad_settings_stop_run_with_one_line(
    tenant: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], words: str
) -> None:
    monkeypatch.setenv("MLC_AGENT__FINGERPRINT", "00" * 32)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(app, ["run"])
    assert result.exit_code == 1
    assert words in result.output
    assert "Traceback" not in result.output


def test_webhook_url_is_stored_encrypted(tenant: Path) -> None:
    result = CliRunner().invoke(app, ["credentials", "set", "webhook", "--stdin"], input=json.dumps({"url": WEBHOOK}))
    assert result.exit_code == 0, result.output
    assert WEBHOOK not in result.output
    assert WEBHOOK.encode() not in (tenant / "var" / "ml-connector.sqlite").read_bytes()
    assert Context.open().vault.get("webhook")["url"].reveal() == WEBHOOK
