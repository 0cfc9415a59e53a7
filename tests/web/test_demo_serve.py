"""`ml-connector demo --serve` as a person runs it: the cycle, then the console's URL and a demo login on the
terminal; the overview's figures are the demo's own; SIGTERM stops every process it started."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow

CONSOLE_LINE = re.compile(r"Console: (http://127\.0\.0\.1:(\d+))\s+sign in as demo / (\S+)")
SUMMARY_LINE = re.compile(r"pos=(\d+) sent_850=(\d+) held=(\d+) ack_997=(\d+) .* exceptions=(\d+)")


def number(page: str, attribute: str) -> int:
    found = re.search(rf"{attribute}>(\d+)<", page)
    assert found, attribute
    return int(found.group(1))


def test_demo_serve_prints_the_console_and_a_login_and_stops_everything_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "200", "MLC_KEYRING": "off", "PYTHONUNBUFFERED": "1"}
    env.pop("MLC_CONFIG", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlconnector",
            "demo",
            "--serve",
            "--workdir",
            str(tmp_path / "demo"),
            "--purchase-orders",
            "3",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(process.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    try:
        deadline = time.monotonic() + 420
        match = None
        while match is None and time.monotonic() < deadline and process.poll() is None:
            match = next((m for m in map(CONSOLE_LINE.search, list(lines)) if m), None)
            time.sleep(0.5)
        assert match, "no console line:\n" + "".join(lines[-40:])
        url, port, password = match.group(1), int(match.group(2)), match.group(3)
        with httpx.Client(base_url=url, timeout=20) as client:
            assert client.get("/").status_code == 303  # the login page first
            token = client.get("/login").text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            signed_in = client.post("/login", data={"csrf_token": token, "username": "demo", "password": password})
            assert signed_in.status_code == 303, signed_in.text
            overview = client.get("/").text
            # Settings → Test connection, from the real `ml-connector web` process: a BOI session through the
            # agent (the GL chart read) and a Cleo login, in plain words.
            token = overview.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            tested = client.post("/settings/test", data={"csrf_token": token}).text
            tests = tested.split('id="tests"', 1)[1].split("</ul>", 1)[0]
            assert "Agent and Sage: signed in to" in tests and "GL accounts" in tests, tests
            assert "Cleo: login accepted, inbox readable" in tests, tests
        created_today = number(overview, 'data-key="today-OUT-850"')
        open_exceptions = number(overview, 'id="open-exceptions"')
        accepted = number(overview, 'data-fa="accepted"')
    finally:
        process.send_signal(signal.SIGTERM)  # what a service manager does; Ctrl-C is SIGINT, handled the same way
        try:
            process.wait(90)
        finally:
            if process.poll() is None:
                process.kill()
        reader.join(10)
    output = "".join(lines)
    summary = SUMMARY_LINE.search(output)
    assert summary, output[-3000:]
    pos, sent, held, acked, exceptions = (int(g) for g in summary.groups())
    # The overview says what the demo says: every PO it made is an 850 created today (sent, or held for the
    # unmapped vendor), each sent one accepted by a 997, and the same open exceptions.
    assert (created_today, accepted, open_exceptions) == (pos, acked, exceptions) and sent + held == pos
    assert "Stopping" in output and process.returncode == 0, output[-3000:]
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=3)  # the console is gone with the demo
    assert started_by_the_demo(tmp_path / "demo") == [], "processes of the demo still running"


def started_by_the_demo(workdir: Path) -> list[str]:
    """Processes whose command line or environment names the demo's directory (agent, sandbox, connector, console)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            text = (proc / "cmdline").read_bytes() + (proc / "environ").read_bytes()
        except OSError:
            continue
        if str(workdir).encode() in text:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            found.append(f"{proc.name}: {command[:200]}")
    return found
