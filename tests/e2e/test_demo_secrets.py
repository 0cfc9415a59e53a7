"""After a demo run, no credential appears in plain text in a database, config file, log or process listing."""

from __future__ import annotations

import base64
from pathlib import Path

import psutil
import pytest

from mlconnector.demo import Processes, run_demo

pytestmark = pytest.mark.slow

# Files that ARE key stores, readable by their owner only: the agent's own certificate key and HMAC key (on the
# Sage server), and the connector's master key. Everything else in the demo's tree must be free of secrets.
KEY_STORES = {"master.key", "agent-hmac.key", "agent-key.pem"}


def test_demo_leaves_no_credential_in_plain_text(tmp_path: Path) -> None:
    listings: list[str] = []

    def observe(processes: Processes) -> None:
        for process in processes.running.values():
            proc = psutil.Process(process.pid)
            listings.append(" ".join(proc.cmdline()))

    workdir = tmp_path / "demo"
    summary = run_demo(workdir, purchase_orders=3, observe=observe)
    assert summary.sent_850 == 3 and summary.held == 1
    assert len(listings) == 3, "agent, sandbox and connector were all observed running"

    secrets = [s for s in summary.passwords if s]
    assert len(secrets) == 3
    variants = {s.encode() for s in secrets} | {base64.b64decode(secrets[2])}  # the agent key, raw and encoded

    for line in listings:
        for secret in secrets:
            assert secret not in line, f"a credential is visible in the process listing: {line[:80]}…"

    scanned = 0
    for path in workdir.rglob("*"):
        if not path.is_file() or path.name in KEY_STORES:
            continue
        data = path.read_bytes()
        scanned += 1
        for secret in variants:
            assert secret not in data, f"a credential is in plain text in {path.relative_to(workdir)}"
    assert scanned >= 8, "the databases, config, partner file and logs were all scanned"
    names = {p.name for p in workdir.rglob("*") if p.is_file()}
    assert {"ml-connector.sqlite", "ml-connector.toml", "connector.log", "sandbox.sqlite"} <= names
