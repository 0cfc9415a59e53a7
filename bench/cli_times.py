"""Whole-process times of the commands an operator and a monitor run (cold start included), by hand.

    .venv/bin/python bench/cli_times.py [--runs 7]

Prints the median and best of each against a bare `python -c pass` measured in the same run (the machine's own
start-up cost), for: `ml-connector --help`; `status` with the agent and Cleo up (the demo stack: simulated Sage
behind the agent over HTTPS, the Cleo sandbox); `status` with both down (nothing listens: refused at once); and
`status` with both unreachable (an address that never answers: the 1 s connect timeout). Goals (issue 13):
--help ≤ 0.5 s, status up ≤ 1 s, status down ≤ 2 s. The environment is kept as the caller has it
(PYTHONDONTWRITEBYTECODE included): the bytecode is the one `make install` wrote, as a user's install has it; the
header says how many modules of the project lack theirs. One warm-up run per command fills the OS's file cache; the
CPU column (user + sys of the process) is what a busy machine cannot inflate.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mlconnector.demo import demo_environment, free_port, start_stack

EXE = str(Path(sys.executable).with_name("ml-connector"))


def timed(argv: list[str], env: dict[str, str], cwd: Path, runs: int, expect: int) -> tuple[float, float, float]:
    """Median and best wall time, and the median CPU time (user + sys) of the process, which load does not inflate."""
    subprocess.run(argv, env=env, cwd=cwd, capture_output=True)  # warm-up: the OS's file cache
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if done.returncode != expect:
            raise SystemExit(f"{argv} exited {done.returncode}, expected {expect}:\n{done.stderr.decode()}")
    return statistics.median(walls), min(walls), statistics.median(cpus)


def _without_bytecode() -> int:
    import importlib.util

    import mlconnector

    package = Path(mlconnector.__file__).parent
    return sum(not Path(importlib.util.cache_from_source(str(p))).exists() for p in package.rglob("*.py"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    # No MLC_ settings from the caller's shell; everything else as it is.
    keep = {k: v for k, v in os.environ.items() if not k.startswith("MLC_")}
    base_env = keep | {"MLC_KEYRING": "off"}
    rows: list[tuple[str, float, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rows.append(("python -c pass (baseline)", *timed([sys.executable, "-c", "pass"], base_env, work, runs, 0)))
        rows.append(("ml-connector --help", *timed([EXE, "--help"], base_env, work, runs, 0)))
        with demo_environment(work / "stack") as processes:
            stack = start_stack(work / "stack", processes)
            env = base_env | stack.connector_env()
            cwd = stack.config.parent
            rows.append(("status, agent and Cleo up", *timed([EXE, "status"], env, cwd, runs, 0)))
            down = env | {
                "MLC_AGENT__URL": f"https://127.0.0.1:{free_port()}",
                "MLC_CLEO__BASE_URL": f"http://127.0.0.1:{free_port()}",
            }
            rows.append(("status, agent and Cleo down (refused)", *timed([EXE, "status"], down, cwd, runs, 1)))
            silent = env | {
                "MLC_AGENT__URL": "https://10.255.255.1:8711",
                "MLC_CLEO__BASE_URL": "http://10.255.255.1:8712",
            }
            rows.append(("status, agent and Cleo unreachable (timeout)", *timed([EXE, "status"], silent, cwd, runs, 1)))
    baseline = rows[0][1]
    load = os.getloadavg()[0]
    print(f"{runs} runs each, load average {load:.1f} on {os.cpu_count()} CPUs")
    print(
        f"PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r}; "
        f"{_without_bytecode()} of the project's modules have no .pyc (`make install` writes them)"
    )
    print(f"{'command':48} {'median':>8} {'best':>8} {'× python':>9} {'CPU':>8}")
    for name, median, best, cpu in rows:
        print(f"{name:48} {median:7.2f}s {best:7.2f}s {median / baseline:8.1f}× {cpu:7.2f}s")


if __name__ == "__main__":
    main()
