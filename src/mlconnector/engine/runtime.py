"""The durable engine: the only code that imports DBOS.

A job is two plain functions from the flows: `collect()` (one checkpointed step that finds the work and returns an
idempotency key per item) and `handle(key)` (one item). Each scheduled tick is a DBOS workflow whose id is
`sched-<job>-<time>`, so several workers on one PostgreSQL database run a tick once; each item is a child workflow
whose id is `<job>:<key>#<attempt>` (the flows return `key#attempt`), so a restart resumes it and a second enqueue of
the same attempt is a no-op, while a new attempt after a transient failure is a new workflow: DBOS never hands a
failed attempt's result back as final (the flows count attempts and keep the backoff in the store).
The flows own every side effect's idempotency (ICN de-dup at Cleo, the key stored in the Sage record), because DBOS
steps are at-least-once: a step in flight when the process dies runs again.

Tenants. A hosted tenant's jobs are named `<tenant>.<job>` (so its workflow ids never meet another tenant's), each
on its own schedule; its items go to one partitioned queue with the tenant as partition key, and
`partition_worker_concurrency` caps how many of one tenant's items a worker runs at once, so a tenant's burst (or a
tenant whose agent is offline, each item waiting out its timeout) leaves the other slots to the other tenants. Every
`reconcile_seconds` a worker asks the registry which tenants are enabled: a new one is loaded and its schedules
applied, a disabled one's schedules are deleted and its ticks do nothing from then on (items already queued finish).

Scale-out. DBOS recovers a worker's unfinished workflows only when a worker with the same executor id starts again.
So each worker also writes a heartbeat; a worker whose heartbeat is older than the lease is claimed by one survivor
(a conditional UPDATE), which re-enqueues the dead worker's pending workflows (`DBOS._recover_pending_workflows`; its
re-enqueue matches only workflows still PENDING on the dead executor, so a second recovery is a no-op).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from dbos import DBOS, DBOSConfig, SetEnqueueOptions, SetWorkflowID

from mlconnector.engine import Job, cron_every

ITEM_QUEUE = "documents"
TENANT_QUEUE = "tenant-documents"  # partitioned by tenant
DEFAULT_TENANT = "default"
log = logging.getLogger("mlconnector.engine")


_jobs: dict[str, Job] = {}
_active: set[str] = set()  # the jobs whose ticks do work (a disabled tenant's are not)
_loader: Callable[[str], None] | None = None  # loads a tenant this worker has not seen yet (a tick got here first)
_partitioned = False  # set by Engine.start: every tenant's items (the default's too) on the partitioned queue


def job_name(tenant: str, job: str) -> str:
    return job if tenant == DEFAULT_TENANT else f"{tenant}.{job}"


def tenant_of(name: str) -> str:
    return name.split(".", 1)[0] if "." in name else DEFAULT_TENANT


def _job(name: str) -> Job | None:
    job = _jobs.get(name)
    if job is None and _loader is not None:
        _loader(tenant_of(name))
        job = _jobs.get(name)
    return job


class TenantSource(Protocol):
    """Where the hosted tenants come from (the registry) and how one tenant's jobs are built."""

    def enabled(self) -> dict[str, str]:
        """Enabled tenant id → a version that changes when its config or status changes."""
        ...

    def jobs(self, tenant: str) -> list[Job]:
        """The tenant's jobs, unprefixed (`pos`, `inbound`, …), built from its own config and store."""
        ...


class Leases(Protocol):
    """The workers' heartbeats (store.platform.Platform)."""

    def beat(self, executor_id: str) -> None: ...

    def claim_dead(self, me: str, lease_seconds: float) -> list[str]: ...

    def forget(self, executor_id: str, claimed_by: str) -> None: ...


@DBOS.step()
def _collect(job_name: str) -> dict[str, Any] | None:
    """The keys, and how to run them; None when the job's tenant is not served (disabled, or gone)."""
    job = _job(job_name)
    if job is None or job_name not in _active:
        return None
    try:
        keys = list(job.collect())
    except Exception as exc:
        log.error("job %s failed: %s", job_name, exc)
        raise
    queue = ITEM_QUEUE if tenant_of(job_name) == DEFAULT_TENANT and not _partitioned else TENANT_QUEUE
    return {"keys": keys, "per_item": job.handle is not None, "finish": job.finish is not None, "queue": queue}


@DBOS.step()
def _handle(job_name: str, key: str) -> str:
    job = _job(job_name)
    if job is None or job.handle is None:
        raise RuntimeError(f"job {job_name} is not known to this worker")
    handle = job.handle
    try:
        return handle(key)
    except Exception as exc:
        log.error("job %s, document %s failed: %s", job_name, key, exc)
        raise


@DBOS.step()
def _finish(job_name: str) -> None:
    job = _job(job_name)
    finish = job.finish if job is not None else None
    if finish is None:  # the tenant is gone from this worker: the next run's collect catches up
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
    found = _collect(job_name)
    if found is None:
        return {"items": 0, "done": 0, "skipped": 1}
    keys, queue = found["keys"], found["queue"]
    if not found["per_item"]:
        return {"items": len(keys), "done": len(keys)}
    handles = []
    for key in keys:
        with SetWorkflowID(f"{job_name}:{key}"):
            if queue == TENANT_QUEUE:
                with SetEnqueueOptions(queue_partition_key=tenant_of(job_name)):
                    handles.append(DBOS.enqueue_workflow(queue, handle_item, job_name, key))
            else:
                handles.append(DBOS.enqueue_workflow(queue, handle_item, job_name, key))
    done = 0
    for handle in handles:
        handle.get_result()
        done += 1
    if found["finish"]:
        _finish(job_name)  # after every item; a failed item fails the run, and the next run's collect catches up
    return {"items": len(keys), "done": done}


def default_worker_id() -> str:
    """Stable per host so a restarted worker recovers its own unfinished workflows (set MLC_WORKER_ID per process)."""
    return os.environ.get("MLC_WORKER_ID") or f"{socket.gethostname()}-1"


class Engine:
    """DBOS running the connector's jobs on their schedules: one tenant's (`jobs`, the single-site connector), and,
    given `tenants`, every enabled hosted tenant's, picked up and dropped without a restart."""

    def __init__(
        self,
        system_database_url: str,
        jobs: Sequence[Job],
        *,
        worker_id: str | None = None,
        concurrency: int = 8,
        queue_poll_seconds: float = 0.1,
        scheduler_polling_seconds: float = 1.0,
        tenant: str = DEFAULT_TENANT,
        tenants: TenantSource | None = None,
        tenant_concurrency: int | None = None,
        reconcile_seconds: float = 5.0,
        leases: Leases | None = None,
        heartbeat_seconds: float = 5.0,
        lease_seconds: float = 30.0,
    ) -> None:
        self.system_database_url = system_database_url
        self.tenant = tenant
        self.jobs = {
            job_name(tenant, job.name): dataclasses.replace(job, name=job_name(tenant, job.name)) for job in jobs
        }
        self.worker_id = worker_id or default_worker_id()
        self.concurrency = concurrency
        self.queue_poll_seconds = queue_poll_seconds
        self.scheduler_polling_seconds = scheduler_polling_seconds
        self.tenants = tenants
        self.partitioned = tenants is not None or tenant != DEFAULT_TENANT
        self.tenant_concurrency = min(concurrency, tenant_concurrency or max(1, concurrency // 2))
        self.reconcile_seconds = reconcile_seconds
        self.leases = leases
        self.heartbeat_seconds = heartbeat_seconds
        self.lease_seconds = lease_seconds
        self.served: dict[str, str] = {}  # hosted tenant → the version whose jobs are active here
        self.recovered: dict[str, int] = {}  # dead worker → workflows this worker re-enqueued for it
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._warned: dict[str, str] = {}
        self._launched = False

    def start(self, *, schedules: bool = True) -> None:
        """Launch DBOS (recovering this worker's unfinished workflows) and apply the schedules."""
        global _loader, _partitioned
        _jobs.clear()
        _jobs.update(self.jobs)
        _active.clear()
        _active.update(self.jobs)
        _partitioned = self.partitioned
        _loader = self._load_on_demand if self.tenants is not None else None
        config: DBOSConfig = {
            "name": "ml-connector",
            "system_database_url": self.system_database_url,
            "executor_id": self.worker_id,
            # DBOS prints a traceback for every failed workflow; ours logs one line per failure instead.
            "log_level": os.environ.get("MLC_DBOS_LOG_LEVEL", "CRITICAL"),
            "scheduler_polling_interval_sec": self.scheduler_polling_seconds,
            "notification_listener_polling_interval_sec": 0.2,
        }
        if self.partitioned:
            # Many workers share one PostgreSQL: DBOS's own pool sized to this worker's concurrency (its default of
            # 20 per worker, plus the tenants' pool, runs a small server out of connections at three workers).
            config["sys_db_pool_size"] = self.concurrency + 4
        DBOS(config=config)
        DBOS.launch()
        DBOS.register_queue(
            ITEM_QUEUE, worker_concurrency=self.concurrency, polling_interval_sec=self.queue_poll_seconds
        )
        if self.partitioned:
            DBOS.register_queue(
                TENANT_QUEUE,
                worker_concurrency=self.concurrency,
                partition_worker_concurrency=self.tenant_concurrency,
                polling_interval_sec=self.queue_poll_seconds,
                on_conflict="always_update",
            )
        self._launched = True
        self._stop.clear()
        if schedules:
            self._apply_schedules(list(self.jobs.values()))
            if self.tenants is not None:
                self.reconcile()
                self._thread(self._every(self.reconcile_seconds, self.reconcile), "tenants")
        if self.leases is not None:
            self.leases.beat(self.worker_id)
            self._thread(self._every(self.heartbeat_seconds, self.heartbeat), "heartbeat")

    def _apply_schedules(self, jobs: Sequence[Job]) -> None:
        if not jobs:
            return
        DBOS.apply_schedules(
            [
                {
                    "schedule_name": job.name,
                    "workflow_fn": tick,
                    "schedule": cron_every(job.every_seconds),
                    "context": {"job": job.name},
                }
                for job in jobs
            ]
        )

    def _thread(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=f"mlc-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _every(self, seconds: float, what: Callable[[], None]) -> Callable[[], None]:
        def loop() -> None:
            while not self._stop.wait(seconds):
                try:
                    what()
                except Exception as exc:  # a database blip: the next pass tries again
                    log.error("%s failed: %s", getattr(what, "__name__", what), exc)

        return loop

    # tenants

    def _load(self, tenant: str, *, active: bool) -> list[Job]:
        assert self.tenants is not None
        built = [dataclasses.replace(job, name=job_name(tenant, job.name)) for job in self.tenants.jobs(tenant)]
        with self._lock:
            for name in [n for n in _jobs if tenant_of(n) == tenant]:
                _active.discard(name)
                del _jobs[name]
            _jobs.update({job.name: job for job in built})
            if active:
                _active.update(job.name for job in built)
        return built

    def _load_on_demand(self, tenant: str) -> None:
        """A tick or an item of a tenant this worker has not loaded yet (another worker reconciled first)."""
        assert self.tenants is not None
        with self._lock:
            if any(tenant_of(n) == tenant for n in _jobs):
                return
            enabled = self.tenants.enabled()
            try:
                self._load(tenant, active=tenant in enabled)
            except Exception as exc:
                log.error("tenant %s cannot be loaded: %s", tenant, exc)
                return
            if tenant in enabled:
                self.served[tenant] = enabled[tenant]

    def reconcile(self) -> None:
        """Serve the enabled tenants, each on its own schedules; stop serving the ones no longer enabled."""
        assert self.tenants is not None
        enabled = self.tenants.enabled()
        with self._lock:
            for tenant, version in enabled.items():
                if self.served.get(tenant) == version:
                    continue
                try:
                    jobs = self._load(tenant, active=True)
                    self._apply_schedules(jobs)
                except Exception as exc:  # e.g. no credentials yet: one tenant's problem, the others go on
                    if self._warned.get(tenant) != version:
                        log.error("tenant %s cannot be served yet: %s", tenant, exc)
                        self._warned[tenant] = version
                    continue
                self.served[tenant] = version
                log.info("serving tenant %s", tenant)
            for tenant in [t for t in self.served if t not in enabled]:
                del self.served[tenant]
                for name in [n for n in _jobs if tenant_of(n) == tenant]:
                    _active.discard(name)  # its ticks do nothing from now on; its queued items still finish
                    DBOS.delete_schedule(name)
                log.info("tenant %s disabled: its jobs stopped", tenant)

    # scale-out

    def heartbeat(self) -> None:
        """Say this worker is alive; recover the unfinished work of any worker silent for longer than the lease."""
        assert self.leases is not None
        self.leases.beat(self.worker_id)
        for dead in self.leases.claim_dead(self.worker_id, self.lease_seconds):
            handles = DBOS._recover_pending_workflows([dead])
            self.recovered[dead] = self.recovered.get(dead, 0) + len(handles)
            self.leases.forget(dead, self.worker_id)
            log.warning(
                "worker %s silent for over %s s: %d unfinished workflow(s) recovered by %s",
                dead,
                self.lease_seconds,
                len(handles),
                self.worker_id,
            )

    def run_now(self, names: Sequence[str]) -> dict[str, dict[str, int]]:
        """Trigger jobs at once (`sync now`) and wait for them and their items to finish."""
        qualified = [job_name(self.tenant, n) for n in names]
        unknown = [n for n, q in zip(names, qualified, strict=True) if q not in self.jobs]
        if unknown:
            known = ", ".join(n.split(".", 1)[-1] for n in self.jobs)
            raise KeyError(f"unknown job(s): {', '.join(unknown)}; known: {known}")
        results = {}
        for name, qualified_name in zip(names, qualified, strict=True):
            with SetWorkflowID(f"now-{qualified_name}-{datetime.now().isoformat()}-{self.worker_id}"):
                handle = DBOS.start_workflow(tick, datetime.now(), {"job": qualified_name})
            results[name] = handle.get_result()
        return results

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()
        if self._launched:
            DBOS.destroy(workflow_completion_timeout_sec=0 if _idle_within(5.0) else 1)
            self._launched = False


def _idle_within(seconds: float) -> bool:
    """Wait (up to `seconds`) for the workflows running in this process to finish; True when none is left.

    DBOS.destroy's own wait sleeps a whole second before it first looks, which every `sync now` and every stop of
    `run` paid even with nothing running; this looks every 50 ms. (Private DBOS state: if it moves, destroy waits.)
    """
    import time

    try:
        from dbos._dbos import _get_dbos_instance

        active = _get_dbos_instance()._active_workflows_set
    except (ImportError, AttributeError):  # pragma: no cover - a DBOS upgrade changed its internals
        return False
    deadline = time.monotonic() + seconds
    while active.activeList():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True
