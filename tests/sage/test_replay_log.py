"""The agent's replay log on its own: a nonce is refused again after the file is reopened, and entries older than the
signature window are pruned so the file stays small."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mlconnector.sage.agent.signing import MAX_SKEW_SECONDS, NonceStore


def test_a_nonce_is_refused_again_after_reopening_and_old_ones_are_pruned(tmp_path: Path) -> None:
    path = tmp_path / "agent-nonces.sqlite3"
    store = NonceStore(path)
    assert store.add("a" * 32, now=1_000.0) and not store.add("a" * 32, now=1_001.0)
    store.close()
    reopened = NonceStore(path)
    assert not reopened.add("a" * 32, now=1_002.0)  # what a restart sees
    later = 1_002.0 + 2 * MAX_SKEW_SECONDS + 61
    assert reopened.add("b" * 32, now=later)
    reopened.close()
    rows = sqlite3.connect(path).execute("SELECT nonce FROM nonces").fetchall()
    assert rows == [("b" * 32,)]  # outside the window a request is refused as stale anyway


def test_an_unreadable_replay_log_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "agent-nonces.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(OSError, match=r"Cannot open the agent's replay log .*move it aside"):
        NonceStore(path)
