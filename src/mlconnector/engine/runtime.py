"""The durable engine: the only code that imports DBOS.

A job is two plain functions from the flows: `collect()` (one checkpointed step that finds the work and returns an
idempotency key per item) and `handle(key)` (one item). Each run of a job is a DBOS workflow (`tick`) whose id is
`sched-<job>-<time>`, so several workers on one PostgreSQL database run it once; each item is a child workflow
whose id is `<job>:<key>#<attempt>` (the flows return `key#attempt`), so a restart resumes it and a second enqueue of
the same attempt is a no-op, while a new attempt after a transient failure is a new workflow: DBOS never hands a
failed attempt's result back as final (the flows count attempts and keep the backoff in the store).
The flows own every side effect's idempotency (ICN de-dup at Cleo, the key stored in the Sage record), because DBOS
steps are at-least-once: a step in flight when the process dies runs again.

Runs never pile up. A scheduled run that finds an earlier run of its job still PENDING (on a worker that is beating)
does nothing: the next run collects whatever is new, so nothing is stranded. A run of a job without a `finish` step
enqueues only the keys that have no workflow yet and returns without waiting for them (they are durable in the
queue); `sync now` and jobs with a `finish` wait. At most half of `concurrency` collects run at once per worker.

Tenants. A hosted tenant's jobs are named `<tenant>.<job>` (so its workflow ids never meet another tenant's), each
on its own interval, fired by one ticker thread per worker: each job by the worker its name hashes to among the
workers beating (not a DBOS schedule, which is a thread per job on every worker). A per-item job without a `finish`
(the PO job, every few seconds for every tenant) is run by the ticker's own collect threads, not as a `tick`
workflow: its collect keeps its state in the store and returns whatever is due, so a run needs no record of its
own, and the workflow's records were most of an idle run's cost. Such a run is skipped while another worker runs
the same job (a PostgreSQL advisory lock, `Leases.exclusive`, gone the moment a killed worker's connection is).
The other jobs (GL, vendors, inbound with its `finish`) stay `tick` workflows. Its items go to one partitioned
queue with the tenant as partition key, and `partition_worker_concurrency` caps how many of one tenant's items a
worker runs at once, so a tenant's burst (or a tenant whose agent is offline, each item waiting out its timeout)
leaves the other slots to the other tenants. Every `reconcile_seconds` a worker asks the registry which tenants are
enabled: a new one is loaded and fired from then on, a disabled one's jobs are no longer fired and a run under way
does nothing (items already queued finish).

Scale-out. DBOS recovers a worker's unfinished workflows only when a worker with the same executor id starts again.
So each worker also writes a heartbeat (its own thread and connection); a worker whose heartbeat is older than the
lease and that has neither started nor finished a workflow within it is claimed by one survivor (a conditional
UPDATE), which re-enqueues the dead worker's pending workflows (`DBOS._recover_pending_workflows`; its re-enqueue
matches only workflows still PENDING on the dead executor, so a second recovery is a no-op). A live worker that is
only slow (late heartbeats, workflows still moving) is not claimed.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import queue
import socket
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from dbos import DBOS, DBOSConfig, SetEnqueueOptions, SetWorkflowID

from mlconnector.engine import Job, cron_every

TICKER_SECONDS = 0.25  # how often the hosted ticker looks for due jobs
ITEM_QUEUE = "documents"
TENANT_QUEUE = "tenant-documents"  # partitioned by tenant
DEFAULT_TENANT = "default"
log = logging.getLogger("mlconnector.engine")


_jobs: dict[str, Job] = {}
_active: set[str] = set()  # the jobs whose ticks do work (a disabled tenant's are not)
_loader: Callable[[str], None] | None = None  # loads a tenant this worker has not seen yet (a tick got here first)
_alive: Callable[[str], bool] = lambda executor_id: True  # noqa: E731 — is that worker beating? (Engine.start)
_collecting = threading.BoundedSemaphore(4)  # collects running at once in this worker (Engine.start sizes it)
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

    def silent(self, me: str, lease_seconds: float) -> list[str]: ...

    def ages(self) -> dict[str, float]: ...

    def claim(self, executor_id: str, me: str, lease_seconds: float) -> bool: ...

    def forget(self, executor_id: str, claimed_by: str) -> None: ...

    def exclusive(self, name: str) -> AbstractContextManager[bool]:
        """Whether this worker may run `name` now (no other worker does), for the block."""
        ...


def _earlier_run(job_name: str, run_id: str) -> str | None:
    """An earlier scheduled run of this job that is still going (PENDING), on any worker: its workflow id."""
    running = DBOS.list_workflows(  # the few PENDING workflows (an index), then their ids: cheap at any history
        workflow_id_prefix=f"sched-{job_name}-", status=["PENDING"], load_input=False, load_output=False
    )
    mine = next((w for w in running if w.workflow_id == run_id), None)
    if mine is None:  # not a scheduled run (`sync now`): never skipped
        return None
    earlier = [
        w
        for w in running
        if (w.created_at or 0, w.workflow_id) < (mine.created_at or 0, mine.workflow_id)
        # a run left PENDING by a worker that stopped beating (killed, not yet claimed) holds nothing up: its tenant
        # must not wait a whole lease for the recovery
        and (w.executor_id is None or _alive(w.executor_id))
    ]
    return earlier[0].workflow_id if earlier else None


def _not_enqueued(job_name: str, keys: list[str]) -> list[str]:
    """The keys with no workflow yet (one query): the ones an earlier run enqueued are queued, running or done."""
    known: set[str] = set()
    for start in range(0, len(keys), 1000):
        ids = [f"{job_name}:{key}" for key in keys[start : start + 1000]]
        known.update(w.workflow_id for w in DBOS.list_workflows(workflow_ids=ids, load_input=False, load_output=False))
    return [key for key in keys if f"{job_name}:{key}" not in known]


def _enqueue(job_name: str, keys: list[str], queue_name: str) -> list[Any]:
    """One item workflow per key, its id `<job>:<key>` (a key already enqueued is not enqueued twice)."""
    handles = []
    for key in keys:
        with SetWorkflowID(f"{job_name}:{key}"):
            if queue_name == TENANT_QUEUE:
                with SetEnqueueOptions(queue_partition_key=tenant_of(job_name)):
                    handles.append(DBOS.enqueue_workflow(queue_name, handle_item, job_name, key))
            else:
                handles.append(DBOS.enqueue_workflow(queue_name, handle_item, job_name, key))
    return handles


def runs_in_ticker(job: Job) -> bool:
    """A hosted job the ticker runs itself, without a DBOS workflow for the run: one whose items are its work
    (each a DBOS workflow) and that has no `finish` step to wait for. Its collect keeps its own state in the store
    (staged rows, cursor) and returns whatever is due, so a run cut short by a crash is simply the next run's to do;
    a workflow per run (ten a second for fifty tenants, most finding nothing) would add only its records."""
    return job.handle is not None and job.finish is None


@DBOS.step()
def _collect(job_name: str, run_id: str | None = None, wait: bool = True) -> dict[str, Any] | None:
    """The keys, and how to run them; None when the job's tenant is not served (disabled, or gone); `skipped` when an
    earlier run of the same schedule is still going (its work, and anything new, is the next run's to find)."""
    job = _job(job_name)
    if job is None or job_name not in _active:
        return None
    if run_id is not None:
        earlier = _earlier_run(job_name, run_id)
        if earlier is not None:
            log.debug("job %s: run %s skipped, %s is still going", job_name, run_id, earlier)
            return {"skipped": earlier}
    try:
        # At most a few collects at once per worker: fifty tenants' ticks firing together would otherwise each hold
        # a store connection and a share of the CPU, and time out on the pool. A run waiting here is PENDING, so the
        # job's later ticks skip rather than queue behind it.
        with _collecting:
            keys = list(job.collect())
    except Exception as exc:
        log.error("job %s failed: %s", job_name, exc)
        raise
    per_item = job.handle is not None
    finish = job.finish is not None
    if per_item and not wait and not finish:
        keys = _not_enqueued(job_name, keys)
    queue = ITEM_QUEUE if tenant_of(job_name) == DEFAULT_TENANT and not _partitioned else TENANT_QUEUE
    return {"keys": keys, "per_item": per_item, "finish": finish, "queue": queue}


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
    """One run of a job: collect, then one child workflow per item.

    A scheduled run of a job without a `finish` enqueues its new items and returns: the items are durable in the
    queue, and the next run's collect finds whatever is still pending (an item already enqueued is not enqueued again,
    one query for all). A run that must see its items finish (a `finish` step, or `sync now`: context `wait`) waits
    for them. A scheduled run that finds an earlier run of its job still going does nothing, so a slow collect
    (a 5,000-PO burst being staged) never has a second one beside it and ticks never pile up."""
    job_name = context["job"]
    wait = bool(context.get("wait", False))
    found = _collect(job_name, None if wait else DBOS.workflow_id, wait)
    if found is None:
        return {"items": 0, "done": 0, "skipped": 1}
    if "skipped" in found:
        return {"items": 0, "done": 0, "skipped": 1}
    keys, queue = found["keys"], found["queue"]
    if not found["per_item"]:
        return {"items": len(keys), "done": len(keys)}
    handles = _enqueue(job_name, keys, queue)
    if not (wait or found["finish"]):
        return {"items": len(keys), "enqueued": len(keys)}
    done = 0
    for handle in handles:
        handle.get_result()
        done += 1
    if found["finish"]:
        _finish(job_name)  # after every item; a failed item fails the run, and the next run's collect catches up
    return {"items": len(keys), "done": done}


def _slot(name: str, every: float, now: float) -> float:
    """The start of the interval `now` is in, for this job: each job's intervals are offset by a fixed share of its
    length (a hash of its name), so fifty tenants' runs are spread over the interval, not fired in the same instant
    (every tenant's GL refresh at once held every collect slot for seconds)."""
    offset = zlib.crc32(name.encode()) % 1000 / 1000 * every
    return (now - offset) // every * every + offset


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
        self.collect_concurrency = max(1, concurrency // 2)
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
        self._running: dict[str, Future[Any]] = {}  # job → its run started here by the ticker
        self._fired: dict[str, float] = {}  # job → the last interval (epoch seconds) the ticker saw
        self._dropped: set[str] = set()
        self._ages: dict[str, float] = {}  # worker → seconds since its last heartbeat (read every interval)
        self._late: dict[str, bool] = {}  # workers seen late with their heartbeats but still working (logged once)
        self._launched = False
        self._runs: queue.SimpleQueue[tuple[str, Future[int]] | None] = queue.SimpleQueue()

    def start(self, *, schedules: bool = True) -> None:
        """Launch DBOS (recovering this worker's unfinished workflows) and apply the schedules."""
        global _loader, _partitioned, _alive, _collecting
        _jobs.clear()
        _jobs.update(self.jobs)
        _active.clear()
        _active.update(self.jobs)
        _partitioned = self.partitioned
        _loader = self._load_on_demand if self.tenants is not None else None
        _alive = self.beating
        _collecting = threading.BoundedSemaphore(self.collect_concurrency)
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
        if not self.partitioned:  # a hosted worker polls only the partitioned queue (each poll costs a query)
            DBOS.register_queue(
                ITEM_QUEUE, worker_concurrency=self.concurrency, polling_interval_sec=self.queue_poll_seconds
            )
        else:
            DBOS.register_queue(
                TENANT_QUEUE,
                worker_concurrency=self.concurrency,
                partition_worker_concurrency=self.tenant_concurrency,
                polling_interval_sec=self.queue_poll_seconds,
                on_conflict="always_update",
            )
        self._launched = True
        self._stop.clear()
        if self.leases is not None:  # before the tenants are loaded (minutes, for many on a busy host): never silent
            self.leases.beat(self.worker_id)
            self._ages = self.leases.ages()
            # Two threads: the heartbeat does nothing else (a recovery of hundreds of workflows never delays it).
            self._thread(self._every(self.heartbeat_seconds, self.heartbeat), "heartbeat")
            self._thread(self._every(self.heartbeat_seconds, self.recover_dead), "leases")
        if schedules:
            self._apply_schedules(list(self.jobs.values()))
            if self.tenants is not None:
                self.reconcile()
                self._thread(self._every(self.reconcile_seconds, self.reconcile), "tenants")
                self._thread(self._every(TICKER_SECONDS, self.fire_due), "ticker")
                self._runs = queue.SimpleQueue()
                for n in range(self.collect_concurrency):
                    self._thread(self._collector, f"collect-{n}")

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
                    self._drop_schedules([job.name for job in jobs])  # the ticker fires them (see fire_due)
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
                    _active.discard(name)  # not fired, and a run under way does nothing; queued items finish
                log.info("tenant %s disabled: its jobs stopped", tenant)

    def _drop_schedules(self, names: Sequence[str]) -> None:
        """DBOS schedules a hosted tenant's jobs had before the ticker fired them (one DBOS thread per schedule and
        worker): gone once, so a job is never fired twice over."""
        for name in names:
            if name not in self._dropped:
                try:
                    DBOS.delete_schedule(name)
                except Exception as exc:  # none there (the usual case): nothing to drop
                    log.debug("no schedule %s to drop: %s", name, exc)
                self._dropped.add(name)

    def owner(self, job: str) -> str:
        """The worker that fires a hosted job: the jobs are spread over the workers beating now (this one included)
        by a hash of their name; when a worker stops beating its jobs move to the others within three intervals."""
        live = sorted({self.worker_id, *(w for w in self._ages if self.beating(w))})
        return live[zlib.crc32(job.encode()) % len(live)]

    def fire_due(self) -> None:
        """The hosted tenants' schedules, from one thread: each job this worker owns is started when its interval
        comes round (`sched-<job>-<time>`, so a second start of the same run by another worker is a no-op), unless
        its previous run here is still going — then that interval is skipped and the next run finds its work."""
        now = time.time()
        for name, running in list(self._running.items()):
            if running.done():
                del self._running[name]
        with self._lock:
            due = [(name, _jobs[name].every_seconds) for name in sorted(_active) if name in _jobs]
        for name, every in due:
            slot = _slot(name, every, now)
            if self._fired.setdefault(name, slot) >= slot:  # a job first seen runs when its interval next comes
                continue  # round (as a cron would), so fifty tenants' hourly jobs do not all run at start-up
            self._fired[name] = slot
            if name in self._running:
                log.debug("job %s: run at %s skipped, the previous run is still going", name, slot)
                continue
            if self.owner(name) != self.worker_id:
                continue
            job = _jobs.get(name)
            if job is None:  # its tenant was dropped meanwhile
                continue
            if runs_in_ticker(job):
                run: Future[int] = Future()
                self._runs.put((name, run))
                self._running[name] = run
                continue
            at = datetime.fromtimestamp(slot, UTC)
            with SetWorkflowID(f"sched-{name}-{at.isoformat()}"):
                handle = DBOS.start_workflow(tick, at, {"job": name, "fired": True})
            future = getattr(handle, "future", None)
            if future is not None:  # started here (an existing run of another worker comes back as a polling handle)
                self._running[name] = future

    def _collector(self) -> None:
        """One of the threads that run the ticker's per-item jobs (`runs_in_ticker`), one run at a time."""
        while True:
            got = self._runs.get()
            if got is None:
                return
            name, run = got
            if not run.set_running_or_notify_cancel():
                continue
            try:
                run.set_result(self.collect_here(name))
            except BaseException as exc:  # e.g. Sage or the database unreachable: the next interval runs it again
                log.error("job %s failed: %s", name, exc)
                run.set_exception(exc)

    def collect_here(self, name: str) -> int:
        """One run of a per-item job in this process: collect, then enqueue the keys that have no workflow yet.
        Skipped while any worker runs the same job (`Leases.exclusive`); returns the number of items enqueued."""
        job = _jobs.get(name)
        if job is None or name not in _active or self._stop.is_set():
            return 0
        exclusive = self.leases.exclusive(name) if self.leases is not None else nullcontext(True)
        with exclusive as mine:
            if not mine:
                log.debug("job %s: run skipped, another worker's run is still going", name)
                return 0
            with _collecting:
                keys = list(job.collect())
            keys = _not_enqueued(name, keys)
            _enqueue(name, keys, TENANT_QUEUE)
        return len(keys)

    # scale-out

    def beating(self, executor_id: str) -> bool:
        """Whether a worker's last heartbeat, as of this worker's last look (every heartbeat interval), is within three
        intervals. This worker is; without leases (one SQLite worker) every worker counts as beating."""
        if executor_id == self.worker_id or self.leases is None:
            return True
        age = self._ages.get(executor_id)
        return age is not None and age < 3 * self.heartbeat_seconds

    def heartbeat(self) -> None:
        """Say this worker is alive (its own thread and database connection, nothing else)."""
        assert self.leases is not None
        self.leases.beat(self.worker_id)

    def still_working(self, executor_id: str) -> bool:
        """A worker whose heartbeat is late but that started or finished a workflow within the lease is alive (a
        CPU-starved host), not dead: claiming it would run its documents twice over on a machine already behind."""
        since = (datetime.now(UTC) - timedelta(seconds=self.lease_seconds)).isoformat()
        for window in ({"completed_after": since}, {"dequeued_after": since}):
            if DBOS.list_workflows(
                executor_id=executor_id,
                limit=1,
                load_input=False,
                load_output=False,
                **window,  # type: ignore[arg-type]
            ):
                return True
        return False

    def recover_dead(self) -> None:
        """Recover the unfinished work of any worker silent for longer than the lease and doing nothing."""
        assert self.leases is not None
        self._ages = self.leases.ages()
        for dead in self.leases.silent(self.worker_id, self.lease_seconds):
            if self.still_working(dead):
                if self._late.get(dead) is None:
                    log.warning(
                        "worker %s missed its heartbeats for %s s but is still running workflows: not claimed",
                        dead,
                        self.lease_seconds,
                    )
                self._late[dead] = True
                continue
            self._late.pop(dead, None)
            if not self.leases.claim(dead, self.worker_id, self.lease_seconds):
                continue  # another survivor claimed it, or its heartbeat came back
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
                handle = DBOS.start_workflow(tick, datetime.now(), {"job": qualified_name, "wait": True})
            results[name] = handle.get_result()
        return results

    def stop(self) -> None:
        self._stop.set()
        for _ in range(self.collect_concurrency):
            self._runs.put(None)
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
