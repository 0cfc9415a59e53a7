"""Under CI a missing PostgreSQL fails the run with one clear line; locally it skips with the reason."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

CONFTEST = Path(__file__).with_name("conftest.py")

NEEDS_POSTGRES = """
def test_uses_postgres(postgres_url):
    assert postgres_url

def test_plain():
    assert True
"""

NEEDS_POSTGRES_LATE = """
def test_asks_for_postgres_at_run_time(request):
    assert request.getfixturevalue("postgres_url")
"""


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_pytest(tmp_path: Path, body: str, *, ci: bool) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text(CONFTEST.read_text())
    (tmp_path / "test_tiny.py").write_text(body)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    env["MLC_TEST_PG_URL"] = f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/test"
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_ci_stops_the_run_before_any_test_when_postgres_is_missing(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, NEEDS_POSTGRES, ci=True)
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert "PostgreSQL not reachable at postgresql+psycopg://postgres@127.0.0.1:" in out
    assert "CI=true, so the PostgreSQL tests must run" in out
    assert "passed" not in out and "skipped" not in out, out


def test_ci_fails_a_test_that_asks_for_postgres_at_run_time(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, NEEDS_POSTGRES_LATE, ci=True)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "1 failed" in out and "CI=true, so the PostgreSQL tests must run" in out
    assert "Traceback" not in out


def test_locally_a_missing_postgres_skips_with_the_reason(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, NEEDS_POSTGRES, ci=False)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "1 passed, 1 skipped" in out
    assert "SKIPPED" in out and "PostgreSQL not reachable at" in out
