"""A connector-shaped worker for the engine tests: jobs whose side effects are rows in an `effects` table.

Run as a subprocess so each test gets its own DBOS instance:
    python worker.py SYSTEM_DB_URL EFFECTS_DB_URL WORKER_ID MODE SECONDS
MODE `schedule` runs the schedules for SECONDS; MODE `now` triggers every job once and exits.
"""

from __future__ import annotations

import sys
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


engine = Engine(
    system_url,
    [Job("documents", 1, collect_documents, handle_document), Job("reference", 2, collect_reference)],
    worker_id=worker_id,
)
engine.start(schedules=mode == "schedule")
if mode == "now":
    print(engine.run_now(["documents", "reference"]), flush=True)
else:
    time.sleep(float(seconds))
engine.stop()
