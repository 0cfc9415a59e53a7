"""A connector-shaped worker for the engine tests: jobs whose side effects are rows in an `effects` table.

Run as a subprocess so each test gets its own DBOS instance:
    python worker.py SYSTEM_DB_URL EFFECTS_DB_URL WORKER_ID MODE SECONDS
MODE `schedule` runs the schedules for SECONDS; MODE `now` triggers every job once and exits.
MODE `slow` (PostgreSQL; the test creates a `work` table of item names): one job every second whose collect takes
1.5 s and returns the items of `work` not handled yet; item `block` is handled only once `release` is in `work`; the
worker stops when `stop` is in `work` (or after SECONDS). A collect that starts while another one (of any worker)
holds the advisory lock records `overlap`. MODE `slots`: four jobs every second, each collect taking 0.5 s, on an
engine of concurrency 2; prints the most collects that ran at once.
"""

from __future__ import annotations

import sys
import threading
import time

from dbos import DBOS  # only to label which tick ran
from sqlalchemy import create_engine, text

from mlconnector.engine import Job
from mlconnector.engine.runtime import Engine

system_url, effects_url, worker_id, mode, seconds = sys.argv[1:6]
effects = create_engine(effects_url)  # the test creates the `effects` table before starting workers


def record(kind: str, item: str) -> None:
    with effects.begin() as c:
        c.execute(text("INSERT INTO effects VALUES (:k, :i, :w)"), {"k": kind, "i": item, "w": worker_id})


def collect_documents() -> list[str]:
    record("collect", f"documents {DBOS.workflow_id}")
    return [f"doc-{n}" for n in range(5)]


def handle_document(key: str) -> str:
    record("handle", key)
    return f"sent {key}"


def collect_reference() -> list[str]:
    record("collect", "reference")
    return []


def in_work(item: str) -> bool:
    with effects.connect() as c:
        return bool(c.scalar(text("SELECT count(*) FROM work WHERE item = :i"), {"i": item}))


def collect_slowly() -> list[str]:
    with effects.begin() as c:
        if not c.scalar(text("SELECT pg_try_advisory_xact_lock(4242)")):
            record("overlap", str(DBOS.workflow_id))
        record("collect", str(DBOS.workflow_id))
        time.sleep(1.5)
        rows = c.execute(
            text(
                "SELECT item FROM work WHERE item NOT IN ('release', 'stop')"
                " AND item NOT IN (SELECT item FROM effects WHERE kind = 'handle') ORDER BY item"
            )
        )
        return [row[0] for row in rows]


def handle_slowly(key: str) -> str:
    if key == "block":
        record("blocking", key)
        deadline = time.monotonic() + 120
        while not in_work("release") and time.monotonic() < deadline:
            time.sleep(0.2)
    record("handle", key)
    return key


active, most = [0], [0]
counting = threading.Lock()


def collect_counted() -> list[str]:
    with counting:
        active[0] += 1
        most[0] = max(most[0], active[0])
    time.sleep(0.5)
    with counting:
        active[0] -= 1
    return []


if mode == "slow":
    jobs = [Job("documents", 1, collect_slowly, handle_slowly)]
elif mode == "slots":
    jobs = [Job(f"job{n}", 1, collect_counted) for n in range(4)]
else:
    jobs = [Job("documents", 1, collect_documents, handle_document), Job("reference", 2, collect_reference)]
engine = Engine(system_url, jobs, worker_id=worker_id, concurrency=2 if mode == "slots" else 8)
engine.start(schedules=mode in ("schedule", "slow", "slots"))
if mode == "now":
    print(engine.run_now(["documents", "reference"]), flush=True)
elif mode == "slow":
    deadline = time.monotonic() + float(seconds)
    while not in_work("stop") and time.monotonic() < deadline:
        time.sleep(0.2)
else:
    time.sleep(float(seconds))
engine.stop()
if mode == "slots":
    print(f"most collects at once: {most[0]}", flush=True)
