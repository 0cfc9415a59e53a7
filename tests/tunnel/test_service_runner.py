"""The Windows service's runner, run here in a thread: with a hub named it dials out (no listening port) and
serves; without, it serves HTTPS; either way `stop()` from another thread ends it. Only the pywin32 wrapper that
calls `run()`/`stop()` is left unrun (Windows)."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import httpx
import psutil
import pytest
from typer.testing import CliRunner

from mlconnector.cli import app
from mlconnector.sage.agent.cli import hub_options
from mlconnector.sage.agent.client import AgentClient
from mlconnector.sage.agent.service import service_runner

from .conftest import COMPANY, PASSWORD, USER, Proc, make_site, start_hub


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _options(site_dir: Path, data: Path, **extra: str) -> dict[str, str]:
    return {"backend": "simulator", "dir": str(site_dir), "data": str(data), **extra}


def _listening(pid: int) -> list[int]:
    return [c.laddr.port for c in psutil.Process(pid).net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]


def test_with_a_hub_the_service_dials_out_serves_and_stops(tmp_path: Path, stopping: list[Proc]) -> None:
    site = make_site(tmp_path, "abc")
    hub = start_hub(tmp_path)
    stopping.append(hub.proc)
    hub.register(site)
    listening_before = _listening(psutil.Process().pid)
    options = hub_options(hub.agents_url, "abc", hub.files.fingerprint(), None)
    runner = service_runner(_options(site.agent_dir, site.data, **options))
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    try:
        hub.proc.wait_for(r"hub.agent_connected.*tenant=abc", timeout=60)
        assert _listening(psutil.Process().pid) == listening_before  # the service opened no port
        with hub.client(site) as client:
            assert client.purchase_order("0000001").purchase_order_no == "0000001"
    finally:
        runner.stop()
        thread.join(20)
    assert not thread.is_alive()
    hub.proc.wait_for(r"hub.agent_disconnected.*tenant=abc")


def test_without_a_hub_the_service_serves_https_and_stops(tmp_path: Path) -> None:
    site = make_site(tmp_path, "abc")
    port = free_port()
    runner = service_runner(_options(site.agent_dir, site.data, host="127.0.0.1", port=str(port)))
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    try:
        url, key, pin = f"https://127.0.0.1:{port}", site.files.hmac_key(), site.files.fingerprint()
        with AgentClient(url, key, pin, USER, PASSWORD, COMPANY, wait_initial=0.2, attempts=20) as client:
            assert client.purchase_order("0000001").purchase_order_no == "0000001"
    finally:
        runner.stop()
        thread.join(20)
    assert not thread.is_alive()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"https://127.0.0.1:{port}/v1/health", verify=False, timeout=2)


def test_a_runner_stopped_before_it_started_returns_at_once(tmp_path: Path) -> None:
    site = make_site(tmp_path, "abc", purchase_orders=0)
    options = hub_options("wss://127.0.0.1:9/agents", "abc", "ab" * 32, None)
    runner = service_runner(_options(site.agent_dir, site.data, **options))
    runner.stop()
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    thread.join(10)
    assert not thread.is_alive()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--hub", "https://hub:8713/agents", "--tenant", "abc", "--hub-fingerprint", "ab" * 32], "wss://"),
        (["--hub", "wss://hub:8713/agents", "--hub-fingerprint", "ab" * 32], "--hub needs --tenant"),
        (["--hub", "wss://hub:8713/agents", "--tenant", "abc"], "exactly one of --hub-fingerprint or --hub-ca"),
        (["--hub", "wss://hub:8713/agents", "--tenant", "abc", "--hub-fingerprint", "abc"], "64 hex digits"),
        (["--tenant", "abc"], "go with --hub"),
        (["--hub", "wss://hub:8713/agents", "--tenant", "abc", "--hub-ca", "/nonexistent.pem"], "No CA file"),
    ],
)
def test_install_service_checks_the_hub_options_in_one_line(args: list[str], words: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["agent", "install-service", "--dir", str(tmp_path), *args])
    assert result.exit_code != 0
    assert words in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


def test_install_service_with_good_hub_options_reaches_the_windows_only_step(tmp_path: Path) -> None:
    args = ["--hub", "wss://hub:8713/agents", "--tenant", "abc", "--hub-fingerprint", "ab" * 32]
    result = CliRunner().invoke(app, ["agent", "install-service", "--dir", str(tmp_path), *args])
    assert result.exit_code != 0 and "Windows-only" in result.output and "agent connect" in result.output
