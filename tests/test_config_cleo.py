"""`[cleo] base_url`: plain HTTP only on this machine; anywhere else it must be https://, refused in one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from mlconnector.config import CleoSettings, Settings, write_config


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8712",
        "http://localhost:8712",
        "http://[::1]:8712",
        "https://127.0.0.1:8712",
        "https://acme.cleo.example.com",
        "https://10.0.0.5:8443/api",
    ],
)
def test_loopback_http_and_any_https_are_accepted(url: str) -> None:
    assert CleoSettings(base_url=url).base_url == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "http://acme.cleo.example.com",
            "Cleo URL http://acme.cleo.example.com is plain HTTP to another machine; use its https:// address",
        ),
        ("http://10.0.0.5:8712", "Cleo URL http://10.0.0.5:8712 is plain HTTP to another machine"),
        ("http://127.0.0.1.example.com", "is plain HTTP to another machine"),
        ("ftp://acme.cleo.example.com", "Cleo URL 'ftp://acme.cleo.example.com' is not an http(s):// address"),
        ("acme.cleo.example.com", "is not an http(s):// address"),
    ],
)
def test_plain_http_to_another_machine_is_refused_in_one_line(url: str, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        CleoSettings(base_url=url)
    (error,) = info.value.errors()
    text = error["msg"].removeprefix("Value error, ")
    assert message in text and "\n" not in text


def test_the_check_applies_to_the_config_file_and_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "ml-connector.toml"
    write_config(config, cleo_url="http://acme.cleo.example.com")
    monkeypatch.setenv("MLC_CONFIG", str(config))
    with pytest.raises(ValidationError, match="plain HTTP to another machine"):
        Settings()
    monkeypatch.setenv("MLC_CLEO__BASE_URL", "https://acme.cleo.example.com")
    assert Settings().cleo.base_url == "https://acme.cleo.example.com"
    monkeypatch.setenv("MLC_CLEO__BASE_URL", "http://192.168.1.20:8712")
    with pytest.raises(ValidationError, match="plain HTTP to another machine"):
        Settings()


def test_the_certificate_to_trust_is_read_from_the_cleo_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "ml-connector.toml"
    write_config(config, cleo_url="https://127.0.0.1:8712")
    text = config.read_text().replace("[cleo]\n", f'[cleo]\nca_file = "{tmp_path / "cleo.pem"}"\n')
    config.write_text(text)
    monkeypatch.setenv("MLC_CONFIG", str(config))
    assert Settings().cleo.ca_file == tmp_path / "cleo.pem"


def test_a_command_refuses_plain_http_to_another_machine_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the clerk sees: one `error:` line naming the URL and what to use instead, exit 1, no traceback."""
    from typer.testing import CliRunner

    from mlconnector.cli import app

    config = tmp_path / "ml-connector.toml"
    write_config(config, cleo_url="http://acme.cleo.example.com", data_dir=str(tmp_path / "var"))
    monkeypatch.setenv("MLC_CONFIG", str(config))
    monkeypatch.delenv("MLC_CLEO__BASE_URL", raising=False)
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit), result.exception
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.output
    expected = "Cleo URL http://acme.cleo.example.com is plain HTTP to another machine; use its https:// address"
    assert expected in errors[0]
