"""`make dist` builds a wheel and an sdist; the wheel installs into a fresh virtual environment and runs."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest

from mlconnector import __version__

ROOT = Path(__file__).resolve().parents[1]
UV = ROOT / ".tools" / "bin" / "uv"


@pytest.mark.slow
def test_the_wheel_installs_into_a_fresh_venv_and_runs(tmp_path: Path) -> None:
    if not UV.exists():
        pytest.skip("no pinned uv in .tools/ (`make install` creates it)")
    dist = tmp_path / "dist"
    subprocess.run([UV, "build", "--out-dir", dist, ROOT], check=True, capture_output=True)
    (wheel,) = dist.glob("ml_connector-*.whl")
    assert list(dist.glob("ml_connector-*.tar.gz")), "no sdist"
    venv = tmp_path / "venv"
    subprocess.run([UV, "venv", "--quiet", venv], check=True, capture_output=True)
    # The versions pinned in uv.lock (as `make install` has them), taken from uv's cache; the registry is asked only
    # for what the cache lacks.
    pins = tmp_path / "requirements.txt"
    export = [UV, "export", "--frozen", "--no-dev", "--no-hashes", "--no-emit-project", "--quiet", "-o", pins]
    subprocess.run(export, check=True, capture_output=True, cwd=ROOT)
    python = venv / "bin" / "python"
    subprocess.run([UV, "pip", "install", "--quiet", "--python", python, "-r", pins, wheel], check=True)
    exe = venv / "bin" / "ml-connector"
    version = subprocess.run([exe, "--version"], check=True, capture_output=True, text=True, cwd=tmp_path)
    assert version.stdout.strip() == f"ml-connector {__version__}"
    agent = subprocess.run([exe, "agent", "--help"], check=True, capture_output=True, text=True, cwd=tmp_path)
    assert "install-service" in agent.stdout and "serve" in agent.stdout
    # The package data the connector needs at run time travel in the wheel (migrations run at first start).
    names = zipfile.ZipFile(wheel).namelist()
    assert not [n for n in names if n.endswith(".pyc")], "`make install` compiles src/: its .pyc must not ship"
    assert "mlconnector/store/migrations/script.py.mako" in names
    assert len([n for n in names if n.startswith("mlconnector/store/migrations/versions/0")]) >= 3
