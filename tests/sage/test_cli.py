"""`ml-connector sage-sim` and `ml-connector agent`: clear one-line errors, a demo driven by hand, a served agent."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlconnector.cli import app
from mlconnector.sage.agent.client import AgentClient
from mlconnector.sage.agent.tls import AgentFiles
from mlconnector.sage.models import ReceiptLine

runner = CliRunner()


def test_sage_sim_demo_by_hand(tmp_path: Path) -> None:
    data = str(tmp_path / "sim")
    assert runner.invoke(app, ["sage-sim", "init", "--data", data, "--purchase-orders", "2"]).exit_code == 0
    created = runner.invoke(app, ["sage-sim", "po", "create", "--data", data, "--lines", "3", "--seed", "1"])
    assert created.exit_code == 0 and "Created purchase order 0000003" in created.stdout
    assert runner.invoke(app, ["sage-sim", "po", "change", "0000003", "--data", data, "--qty", "7"]).exit_code == 0
    shown = runner.invoke(app, ["sage-sim", "po", "show", "0000003", "--data", data])
    assert shown.exit_code == 0 and "7.0" in shown.stdout
    listed = runner.invoke(app, ["sage-sim", "po", "list", "--data", data])
    assert listed.exit_code == 0 and "0000003" in listed.stdout
    assert runner.invoke(app, ["sage-sim", "lock", "0000001", "--data", data, "--seconds", "0"]).exit_code == 0
    held = runner.invoke(app, ["sage-sim", "po", "change", "0000001", "--data", data, "--qty", "2"])
    assert held.exit_code == 1 and held.stderr.strip().startswith("error:") and "in use" in held.stderr
    assert "Traceback" not in held.output
    assert runner.invoke(app, ["sage-sim", "unlock", "0000001", "--data", data]).exit_code == 0
    assert runner.invoke(app, ["sage-sim", "po", "change", "0000001", "--data", data, "--qty", "2"]).exit_code == 0
    for command in ("receipts", "invoices"):
        assert runner.invoke(app, ["sage-sim", command, "--data", data]).exit_code == 0


def test_sage_sim_errors_are_one_clear_line(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["sage-sim", "po", "list", "--data", str(tmp_path / "none")])
    assert missing.exit_code == 1 and "sage-sim init" in missing.stderr and len(missing.stderr.splitlines()) == 1
    data = str(tmp_path / "sim")
    runner.invoke(app, ["sage-sim", "init", "--data", data, "--purchase-orders", "1"])
    unknown = runner.invoke(app, ["sage-sim", "po", "show", "0000099", "--data", data])
    assert unknown.exit_code == 1 and "0000099 is not on file" in unknown.stderr
    vendor = runner.invoke(app, ["sage-sim", "po", "create", "--data", data, "--vendor", "NOPE"])
    assert vendor.exit_code == 1 and "Vendor NOPE is not on file" in vendor.stderr


def test_agent_init_writes_private_files_and_install_service_is_windows_only(tmp_path: Path) -> None:
    result = runner.invoke(app, ["agent", "init", "--dir", str(tmp_path / "a")])
    assert result.exit_code == 0
    files = AgentFiles(tmp_path / "a")
    for path in (files.cert, files.key, files.hmac_key_file):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert files.hmac_key_file.read_text().strip() not in result.stdout
    assert files.fingerprint() in result.stdout
    again = runner.invoke(app, ["agent", "init", "--dir", str(tmp_path / "a")])
    assert again.exit_code == 1 and "--force" in again.stderr
    if sys.platform != "win32":
        svc = runner.invoke(app, ["agent", "install-service", "--dir", str(tmp_path / "a")])
        assert svc.exit_code == 1 and "Windows-only" in svc.stderr
        com = runner.invoke(
            app, ["agent", "serve", "--backend", "com", "--home", "C:/Sage", "--dir", str(tmp_path / "a")]
        )
        assert com.exit_code == 1 and "needs Windows with pywin32" in com.stderr


@pytest.mark.slow
def test_agent_serve_subprocess(tmp_path: Path) -> None:
    data, conf = tmp_path / "sim", tmp_path / "agent"
    runner.invoke(app, ["sage-sim", "init", "--data", str(data), "--purchase-orders", "2"])
    runner.invoke(app, ["agent", "init", "--dir", str(conf)])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = Path(sys.executable).with_name("ml-connector")
    cmd = [
        str(exe),
        "agent",
        "serve",
        "--backend",
        "simulator",
        "--dir",
        str(conf),
        "--data",
        str(data),
        "--port",
        str(port),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        files = AgentFiles(conf)
        with AgentClient(
            f"https://127.0.0.1:{port}",
            files.hmac_key(),
            files.fingerprint(),
            "ml",
            "ml-demo",
            "ABC",
            attempts=300,  # a loaded machine takes seconds to start a Python process
            wait_initial=0.1,
            wait_max=0.1,
        ) as client:
            assert client.purchase_order("0000002").purchase_order_no == "0000002"
            doc = client.receive_goods("0000002", [ReceiptLine(line_key="000001", quantity=1)], key="served-1")
            assert doc.created and client.find_by_source_key("served-1") is not None
    finally:
        proc.terminate()
        out = proc.communicate(timeout=15)[0].decode()
    assert "ml-demo" not in out and "Traceback" not in out
