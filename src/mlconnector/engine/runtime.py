"""The durable engine: the only code that imports DBOS.

A job is two plain functions from the flows: `collect()` (one checkpointed step that finds the work and returns an
idempotency key per item) and `handle(key)` (one item). Each scheduled tick is a DBOS workflow whose id is
`sched-<job>-<time>`, so several workers on one PostgreSQL database run a tick once; each item is a child workflow
whose id is `<job>:<key>#<attempt>` (the flows return `key#attempt`), so a restart resumes it and a second enqueue of
the same attempt is a no-op, while a new attempt after a transient failure is a new workflow: DBOS never hands a
failed attempt's result back as final (the flows count attempts and keep the backoff in the store).
The flows own every side effect's idempotency (ICN de-dup at Cleo, the key stored in the Sage record), because DBOS
steps are at-least-once: a step in flight when the process dies runs again.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from dbos import DBOS, DBOSConfig, SetWorkflowID

from mlconnector.engine import Job, cron_every

ITEM_QUEUE = "documents"
log = logging.getLogger("mlconnector.engine")


_jobs: dict[str, Job] = {}


@DBOS.step()
def _collect(job_name: str) -> list[str]:
    try:
        return list(_jobs[job_name].collect())
    except Exception as exc:
        log.error("job %s failed: %s", job_name, exc)
        raise


@DBOS.step()
def _handle(job_name: str, key: str) -> str:
    handle = _jobs[job_name].handle
    if handle is None:  # pragma: no cover - guarded by _tick
        raise RuntimeError(f"job {job_name} has no per-item handler")
    try:
        return handle(key)
    except Exception as exc:
        log.error("job %s, document %s failed: %s", job_name, key, exc)
        raise


@DBOS.step()
def _finish(job_name: str) -> None:
    finish = _jobs[job_name].finish
    if finish is None:  # pragma: no cover - guarded by tick
        return
    try:
        finish()
    except Exception as exc:
        log.error("job %s, finishing the run failed: %s", job_name, exc)
        raise


@DBOS.workflow()
def handle_item(job_name: str, key: str) -> str:
    """One document: its workflow id is its idempotency key."""
    return _handle(job_name, key)


@DBOS.workflow()
def tick(at: datetime, context: Any) -> dict[str, int]:
    """One scheduled run of a job: collect, then one child workflow per item, waiting for all of them."""
    job_name = context["job"]
    keys = _collect(job_name)
    if _jobs[job_name].handle is None:
        return {"items": len(keys), "done": len(keys)}
    handles = []
    for key in keys:
        with SetWorkflowID(f"{job_name}:{key}"):
            handles.append(DBOS.enqueue_workflow(ITEM_QUEUE, handle_item, job_name, key))
    done = 0
    for handle in handles:
        handle.get_result()
        done += 1
    if _jobs[job_name].finish is not None:
        _finish(job_name)  # after every item; a failed item fails the run, and the next run's collect catches up
    return {"items": len(keys), "done": done}


def default_worker_id() -> str:
    """Stable per host so a restarted worker recovers its own unfinished workflows (set MLC_WORKER_ID per process)."""
    return os.environ.get("MLC_WORKER_ID") or f"{socket.gethostname()}-1"


class Engine:
    """DBOS, configured for one tenant, running the connector's jobs on their schedules."""

    def __init__(
        self,
        system_database_url: str,
        jobs: Sequence[Job],
        *,
        worker_id: str | None = None,
        concurrency: int = 8,
        queue_poll_seconds: float = 0.1,
        scheduler_polling_seconds: float = 1.0,
    ) -> None:
        self.system_database_url = system_database_url
        self.jobs = {job.name: job for job in jobs}
        self.worker_id = worker_id or default_worker_id()
        self.concurrency = concurrency
        self.queue_poll_seconds = queue_poll_seconds
        self.scheduler_polling_seconds = scheduler_polling_seconds
        self._launched = False

    def start(self, *, schedules: bool = True) -> None:
        """Launch DBOS (recovering this worker's unfinished workflows) and apply the schedules."""
        _jobs.clear()
        _jobs.update(self.jobs)
        config: DBOSConfig = {
            "name": "ml-connector",
            "system_database_url": self.system_database_url,
            "executor_id": self.worker_id,
            # DBOS prints a traceback for every failed workflow; ours logs one line per failure instead.
            "log_level": os.environ.get("MLC_DBOS_LOG_LEVEL", "CRITICAL"),
            "scheduler_polling_interval_sec": self.scheduler_polling_seconds,
            "notification_listener_polling_interval_sec": 0.2,
        }
        DBOS(config=config)
        DBOS.launch()
        DBOS.register_queue(
            ITEM_QUEUE, worker_concurrency=self.concurrency, polling_interval_sec=self.queue_poll_seconds
        )
        self._launched = True
        if schedules:
            DBOS.apply_schedules(
                [
                    {
                        "schedule_name": job.name,
                        "workflow_fn": tick,
                        "schedule": cron_every(job.every_seconds),
                        "context": {"job": job.name},
                    }
                    for job in self.jobs.values()
                ]
            )

    def run_now(self, names: Sequence[str]) -> dict[str, dict[str, int]]:
        """Trigger jobs at once (`sync now`) and wait for them and their items to finish."""
        unknown = [n for n in names if n not in self.jobs]
        if unknown:
            raise KeyError(f"unknown job(s): {', '.join(unknown)}; known: {', '.join(self.jobs)}")
        results = {}
        for name in names:
            with SetWorkflowID(f"now-{name}-{datetime.now().isoformat()}-{self.worker_id}"):
                handle = DBOS.start_workflow(tick, datetime.now(), {"job": name})
            results[name] = handle.get_result()
        return results

    def stop(self) -> None:
        if self._launched:
            DBOS.destroy(workflow_completion_timeout_sec=5)
            self._launched = False
