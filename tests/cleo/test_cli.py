"""`ml-connector cleo-sandbox`: serve from the shell, list messages, show one, drop a file in as a partner."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from mlconnector.cleo import CleoClient, CleoCredentials
from mlconnector.cleo.sandbox import SandboxStore, running_sandbox
from mlconnector.cli import app

from .support import FAST_RETRY, PASSWORD, USER, hand_850

runner = CliRunner()


def _data_dir_with_partner(tmp_path: Path) -> Path:
    store = SandboxStore(tmp_path / "sandbox.sqlite")
    store.create_partner("demo", {"alias": "ACME", "name": "Acme", "isaId": "ACMESUPPLY", "gsId": "ACMESUPPLY"})
    store.close()
    return tmp_path


def test_drop_then_list_then_show(tmp_path: Path) -> None:
    data = _data_dir_with_partner(tmp_path)
    edi = tmp_path / "asn.edi"
    edi.write_text(hand_850(77).replace("ST*850", "ST*856"), encoding="utf-8")
    dropped = runner.invoke(app, ["cleo-sandbox", "drop", str(edi), "--partner", "ACME", "--data", str(data)])
    assert dropped.exit_code == 0, dropped.output
    assert "856 from ACME is new" in dropped.stdout
    listed = runner.invoke(app, ["cleo-sandbox", "messages", "--data", str(data), "--json", "--direction", "inbound"])
    assert listed.exit_code == 0, listed.output
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(r["documentType"], r["status"], r["icn"]) for r in rows] == [("856", "new", "000000077")]
    shown = runner.invoke(app, ["cleo-sandbox", "show", rows[0]["id"], "--data", str(data)])
    assert shown.exit_code == 0 and shown.stdout.strip() == edi.read_text().strip()
    table = runner.invoke(app, ["cleo-sandbox", "messages", "--data", str(data)])
    assert table.exit_code == 0 and rows[0]["id"] in table.stdout


def test_drop_from_an_unknown_partner_fails_with_a_message(tmp_path: Path) -> None:
    data = _data_dir_with_partner(tmp_path)
    edi = tmp_path / "x.edi"
    edi.write_text(hand_850(1), encoding="utf-8")
    result = runner.invoke(app, ["cleo-sandbox", "drop", str(edi), "--partner", "GHOST", "--data", str(data)])
    assert result.exit_code == 1
    assert "Unknown partner 'GHOST'" in result.output
    missing = runner.invoke(app, ["cleo-sandbox", "messages", "--data", str(tmp_path / "nothing")])
    assert missing.exit_code == 2 and "no sandbox data" in missing.output


def test_serve_from_the_shell_answers_a_client(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [str(Path(sys.executable).parent / "ml-connector"), "cleo-sandbox", "serve", "--port", str(port)]
    command += ["--data", str(tmp_path), "--user", "buyer:shell-pw"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/api/partners", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
                assert time.monotonic() < deadline, "sandbox did not come up"
                time.sleep(0.1)
        with CleoClient.connect(base, CleoCredentials("buyer", "shell-pw"), retry=FAST_RETRY) as client:
            assert client.list_partners() == []
            assert client.logins == 1
        assert (tmp_path / "sandbox.sqlite").exists()
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_faults_and_token_expiry_armed_from_the_shell_reach_the_running_server(tmp_path: Path) -> None:
    with running_sandbox(data_dir=tmp_path) as sandbox:
        client = CleoClient.connect(sandbox.base_url, CleoCredentials(USER, PASSWORD), retry=FAST_RETRY)
        with client:
            client.list_partners()
            armed = runner.invoke(
                app, ["cleo-sandbox", "fault", "429", "--count", "2", "--retry-after", "0.01", "--data", str(tmp_path)]
            )
            assert armed.exit_code == 0, armed.output
            assert json.loads(armed.stdout) == {
                "kind": "429",
                "when": "before",
                "retryAfter": 0.01,
                "delay": 1.0,
                "status": 502,
                "remaining": 2,
            }
            expired = runner.invoke(app, ["cleo-sandbox", "expire-tokens", "--data", str(tmp_path)])
            assert expired.exit_code == 0 and expired.stdout.strip() == "1 token(s) expired"
            assert client.list_partners() == []
            assert sandbox.admin().stats()["fault.429"] == 2
            assert client.logins == 2
    bad = runner.invoke(app, ["cleo-sandbox", "fault", "meteor", "--data", str(tmp_path)])
    assert bad.exit_code == 2 and "invalid fault: kind" in bad.output
