"""The README's "Using it" block, run line by line as written (parsed from README.md, so the two cannot drift).

Only the ports differ: the test picks free ones and says so through MLC_ variables the commands read
(MLC_AGENT_PORT, MLC_CLEO_SANDBOX_PORT for the stand-ins; MLC_AGENT__URL, MLC_CLEO__BASE_URL for the connector).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def using_it_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Using it", 1)[1]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    lines = (re.sub(r"\s+#\s.*$", "", line).strip() for line in block.splitlines())  # drop the comments
    return [line for line in lines if line and not line.startswith("#")]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(port: int, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"stopped with exit code {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"nothing listens on {port} after {timeout} s")


def test_the_readme_block_is_what_a_new_user_needs() -> None:
    commands = using_it_commands()
    assert commands[0].startswith("ml-connector sage-sim init")
    assert sum(c.endswith("&") for c in commands) == 2  # the agent and the sandbox
    assert any(c.startswith("ml-connector init ") for c in commands)
    assert any("sync now pos" in c for c in commands)


def test_what_the_readme_says_of_the_demo_is_what_it_does() -> None:
    from mlconnector.demo import DEMO_SCHEDULE, DemoSummary

    text = " ".join((ROOT / "README.md").read_text().split())
    fast, slow = DEMO_SCHEDULE["purchase_orders"], DEMO_SCHEDULE["vendors"]
    assert DEMO_SCHEDULE["inbound"] == fast and DEMO_SCHEDULE["gl"] == slow
    assert f"with POs and inbound every {fast} seconds (vendors and GL every {slow} s)" in text
    quoted = re.search(r"Its last line looks like `([^`]+)`", text)
    assert quoted, "the README quotes the demo's last line"
    example = DemoSummary(pos=1, sent_850=1, held=0, ack_997=1, exceptions=0, seconds=1.0).line()
    assert [pair.split("=")[0] for pair in quoted.group(1).split()] == [p.split("=")[0] for p in example.split()]


@pytest.mark.slow
@pytest.mark.timeout(900)  # ~20 processes; minutes on a loaded 2-core machine
def test_the_readme_walk_through_runs_as_written(tmp_path: Path) -> None:
    work = tmp_path / "site"
    (work / "docs").mkdir(parents=True)
    shutil.copy(ROOT / "docs" / "sandbox-partners.toml", work / "docs")
    agent_port, cleo_port = _free_port(), _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MLC_")},
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "MLC_KEYRING": "off",
        "MLC_AGENT_PORT": str(agent_port),
        "MLC_CLEO_SANDBOX_PORT": str(cleo_port),
        "MLC_AGENT__URL": f"https://127.0.0.1:{agent_port}",
        "MLC_CLEO__BASE_URL": f"http://127.0.0.1:{cleo_port}",
        "COLUMNS": "200",
    }
    background: list[subprocess.Popen] = []
    outputs: dict[str, str] = {}
    try:
        for command in using_it_commands():
            if command.endswith("&"):
                line = command.rstrip("&").strip()
                log = (work / f"bg{len(background)}.log").open("w")
                process = subprocess.Popen(["bash", "-c", f"exec {line}"], cwd=work, env=env, stdout=log, stderr=log)
                background.append(process)
                _wait_for(agent_port if " agent " in f" {line} " else cleo_port, process)
                continue
            done = subprocess.run(["bash", "-c", command], cwd=work, env=env, capture_output=True, text=True)
            assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
            assert "Traceback" not in done.stderr and "Warning" not in done.stderr, done.stderr
            outputs[command] = done.stdout
    finally:
        for process in background:
            process.terminate()
            process.wait(timeout=20)
    sync = next(out for cmd, out in outputs.items() if cmd.endswith("sync now pos"))
    (pos_line,) = [line for line in sync.splitlines() if line.startswith("pos:")]
    assert "850 sent 1" in pos_line and "850 skipped 1" in pos_line, sync  # counted from the audit log
    assert "sync pos" in sync  # the progress bar
    messages = next(out for cmd, out in outputs.items() if cmd.endswith("cleo-sandbox messages"))
    assert "HARBOR" in messages and "850" in messages
    status = next(out for cmd, out in outputs.items() if cmd.endswith("status"))
    assert re.search(r"outbound sent\W+1\b", status) and "agent: OK" in status and "Cleo: OK" in status
    assert "No open exceptions." in next(out for cmd, out in outputs.items() if cmd.endswith("exceptions list"))
