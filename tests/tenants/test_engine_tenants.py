"""The engine serving hosted tenants from the registry (real DBOS, real PostgreSQL, worker processes):
fairness under one tenant's burst, disable/enable/add without a restart, and a killed worker's items recovered
by a surviving worker (a different executor id)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from mlconnector.store.platform import DISABLED, ENABLED, Platform
from waiting import wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
WORKER = Path(__file__).with_name("worker.py")


@pytest.fixture
def database(postgres_url: str) -> Iterator[tuple[str, Platform, Engine]]:
    platform = Platform(postgres_url)
    effects = create_engine(postgres_url)
    with effects.begin() as c:
        c.execute(
            text(
                "CREATE TABLE effects (seq serial PRIMARY KEY, tenant text, kind text, key text, worker text,"
                " at timestamptz DEFAULT clock_timestamp())"
            )
        )
    try:
        yield postgres_url, platform, effects
    finally:
        effects.dispose()
        platform.close()


def _worker(url: str, worker_id: str, seconds: float, log: Path, *extra: str, lease: float = 4.0) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-P", str(WORKER), url, worker_id, str(seconds), *extra],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src"), "TEST_LEASE_SECONDS": str(lease)},
    )


def _scalar(effects: Engine, sql: str, **params: object) -> int:
    with effects.connect() as c:
        return int(c.scalar(text(sql), params) or 0)


def test_a_burst_does_not_delay_a_quiet_tenant(database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, platform, effects = database
    burst = 240
    platform.add("burst", "Burst Co", {"items": burst, "sleep": 0.05, "every": 5})
    platform.add("quiet", "Quiet Co", {"items": 5, "sleep": 0.05, "every": 1, "after": "burst"})
    worker = _worker(url, "fair-1", 60, tmp_path / "fair-1.log")
    try:
        handled = "SELECT count(*) FROM effects WHERE tenant = :t AND kind = 'handle'"
        wait_until(lambda: _scalar(effects, handled, t="quiet") == 5, 90, "the quiet tenant's 5 items")
        # where the burst stood when the quiet tenant's last item was done (ordering, from one sequence)
        last_quiet = _scalar(effects, "SELECT max(seq) FROM effects WHERE tenant = 'quiet' AND kind = 'handle'")
        burst_before = _scalar(
            effects,
            "SELECT count(*) FROM effects WHERE tenant = 'burst' AND kind = 'handle' AND seq < :s",
            s=last_quiet,
        )
        wait_until(lambda: _scalar(effects, handled, t="burst") == burst, 120, "the burst")
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
    print(f"\nquiet tenant done after {burst_before} of the burst's {burst} items")
    assert 1 <= burst_before < burst // 2, burst_before  # the burst had started and was still mostly queued
    duplicates = _scalar(
        effects,
        "SELECT count(*) FROM (SELECT key FROM effects WHERE kind = 'handle' GROUP BY key HAVING count(*) > 1) d",
    )
    assert duplicates == 0


def test_disable_stops_one_tenant_within_a_tick_and_new_tenants_start_without_restart(  # type: ignore[no-untyped-def]
    database, tmp_path: Path
) -> None:
    url, platform, effects = database
    platform.add("a", "A", {"items": 1, "every": 1})
    platform.add("b", "B", {"items": 1, "every": 1})
    worker = _worker(url, "disable-1", 60, tmp_path / "disable-1.log")
    collects = "SELECT count(*) FROM effects WHERE tenant = :t AND kind = 'collect' AND at > :since"
    try:
        wait_until(lambda: _scalar(effects, collects, t="a", since="-infinity") >= 2, 90, "tenant a's ticks")
        wait_until(lambda: _scalar(effects, collects, t="b", since="-infinity") >= 2, 30, "tenant b's ticks")
        platform.set_status("a", DISABLED)
        with effects.connect() as c:
            disabled_at = c.scalar(text("SELECT clock_timestamp()"))
        stopped = disabled_at.timestamp() + 3.0  # one reconcile pass (1 s) + one tick (1 s) + slack
        time.sleep(6)
        with effects.connect() as c:
            after = {
                t: int(
                    c.scalar(text(collects), {"t": t, "since": disabled_at.fromtimestamp(stopped, disabled_at.tzinfo)})
                )
                for t in ("a", "b")
            }
        assert after["a"] == 0, after  # a stopped …
        assert after["b"] >= 2, after  # … b did not
        platform.add("c", "C", {"items": 1, "every": 1})  # picked up by the running worker
        platform.set_status("a", ENABLED)
        wait_until(lambda: _scalar(effects, collects, t="c", since="-infinity") >= 1, 30, "new tenant c's first tick")
        wait_until(
            lambda: (
                _scalar(effects, collects, t="a", since=disabled_at.fromtimestamp(stopped, disabled_at.tzinfo)) >= 1
            ),
            30,
            "a resumed",
        )
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)


def test_a_surviving_worker_recovers_a_killed_workers_items(database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, platform, effects = database
    platform.add("slow", "Slow Co", {"items": 6, "sleep": 4.0, "every": 2})
    doomed = _worker(url, "doomed", 120, tmp_path / "doomed.log")
    started = "SELECT count(*) FROM effects WHERE tenant = 'slow' AND kind = 'collect'"
    wait_until(lambda: _scalar(effects, started) >= 1, 90, "the doomed worker's first tick")
    survivor = _worker(url, "survivor", 120, tmp_path / "survivor.log")
    try:
        wait_until(lambda: "started survivor" in (tmp_path / "survivor.log").read_text(), 90, "the survivor to start")
        time.sleep(1.0)  # the doomed worker holds 2 of the slow tenant's items (4 s each) now
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
        killed_at = time.monotonic()
        handled = "SELECT count(DISTINCT key) FROM effects WHERE tenant = 'slow' AND kind = 'handle'"
        wait_until(lambda: _scalar(effects, handled) == 6, 120, "all 6 items handled after the kill")
        print(f"\nall items done {time.monotonic() - killed_at:.1f} s after the kill")
    finally:
        survivor.send_signal(signal.SIGTERM)
        survivor.wait(timeout=60)
    log = (tmp_path / "survivor.log").read_text()
    found = re.search(r"worker doomed silent for over 4.0 s: (\d+) unfinished workflow\(s\) recovered by survivor", log)
    assert found, log[-2000:]
    assert int(found.group(1)) >= 1  # its pending workflows (the tick, the items it held) re-enqueued by the survivor
    assert log.count("worker doomed silent") == 1  # claimed once
    rows = platform.worker_rows()
    assert [r["executor_id"] for r in rows] == ["survivor"]  # the dead worker's lease was claimed and dropped


def test_a_live_worker_with_late_heartbeats_is_not_claimed_but_is_once_it_dies(  # type: ignore[no-untyped-def]
    database, tmp_path: Path
) -> None:
    """A worker whose heartbeat stops while it keeps running workflows (a CPU-starved host) is not claimed as dead
    however late its heartbeat; once it is killed and its work stops too, the survivor claims it and recovers."""
    url, platform, effects = database
    platform.add("busy", "Busy Co", {"items": 4, "sleep": 0.3, "every": 1, "fresh": True})
    muted = _worker(url, "muted", 180, tmp_path / "muted.log", "mute")
    watcher = _worker(url, "watcher", 180, tmp_path / "watcher.log")
    try:
        for name in ("muted", "watcher"):
            wait_until(lambda n=name: f"started {n}" in (tmp_path / f"{n}.log").read_text(), 90, f"{name} to start")
        # items the muted worker handled when its heartbeat was already more than two leases (4 s) old: the watcher
        # (checking every second) had every chance to claim it
        late_work = (
            "SELECT count(*) FROM effects e, platform.workers w WHERE w.executor_id = 'muted'"
            " AND e.worker = 'muted' AND e.kind = 'handle' AND e.at > w.last_seen + interval '8 seconds'"
        )
        wait_until(
            lambda: _scalar(effects, late_work) >= 5 or "worker muted silent" in (tmp_path / "watcher.log").read_text(),
            120,
            "the muted worker working with a stale heartbeat",
        )
        log = (tmp_path / "watcher.log").read_text()
        assert "worker muted silent" not in log, log[-2000:]
        rows = {r["executor_id"]: r for r in platform.worker_rows()}
        assert rows["muted"]["claimed_by"] is None, rows
        muted.send_signal(signal.SIGKILL)
        muted.wait()
        wait_until(
            lambda: "worker muted silent" in (tmp_path / "watcher.log").read_text(), 90, "the dead worker claimed"
        )
    finally:
        if muted.poll() is None:
            muted.kill()
        watcher.send_signal(signal.SIGTERM)
        watcher.wait(timeout=60)
    log = (tmp_path / "watcher.log").read_text()
    assert "worker muted missed its heartbeats" in log, log[-2000:]
    assert [r["executor_id"] for r in platform.worker_rows()] == ["watcher"]


def test_a_run_left_pending_by_a_killed_worker_does_not_hold_its_tenant_up_for_the_lease(  # type: ignore[no-untyped-def]
    database, tmp_path: Path
) -> None:
    """A scheduled run skips while an earlier run of its job is going — but not for a run left PENDING by a worker that
    stopped beating: with a 120 s lease, the survivor collects the tenant's work again long before it claims the
    killed worker (the order is read from the database, not timed)."""
    url, platform, effects = database
    platform.add("solo", "Solo Co", {"items": 1, "every": 1, "fresh": True, "first_collect_sleep": 300})
    doomed = _worker(url, "doomed", 300, tmp_path / "doomed.log", lease=120)
    collects = "SELECT count(*) FROM effects WHERE tenant = 'solo' AND kind = 'collect' AND worker = :w"
    try:
        wait_until(
            lambda: _scalar(effects, collects, w="doomed") == 1, 90, "the doomed worker's first (endless) collect"
        )
        survivor = _worker(url, "survivor", 300, tmp_path / "survivor.log", lease=120)
        try:
            wait_until(
                lambda: "started survivor" in (tmp_path / "survivor.log").read_text(), 90, "the survivor to start"
            )
            time.sleep(3)  # the survivor's ticks skip now: the doomed worker's run is going and it is beating
            assert _scalar(effects, collects, w="survivor") == 0
            doomed.send_signal(signal.SIGKILL)
            doomed.wait()
            wait_until(lambda: _scalar(effects, collects, w="survivor") >= 1, 60, "a survivor collect after the kill")
            rows = {r["executor_id"]: r for r in platform.worker_rows()}
            assert "doomed" in rows and rows["doomed"]["claimed_by"] is None, rows  # well before the lease ran out
        finally:
            survivor.send_signal(signal.SIGTERM)
            survivor.wait(timeout=60)
    finally:
        if doomed.poll() is None:
            doomed.kill()


def test_each_hosted_job_is_fired_by_one_worker_without_a_dbos_schedule_per_job(  # type: ignore[no-untyped-def]
    database, tmp_path: Path
) -> None:
    """Two workers, six tenants: each tenant's job is fired by the worker its name hashes to among the workers
    beating (spread, and never by both once they see each other), from one ticker thread per worker instead of a
    DBOS schedule (a thread per job and worker, each firing with its own queries)."""
    url, platform, effects = database
    tenants = [f"t{n}" for n in range(6)]
    for tenant in tenants:
        platform.add(tenant, tenant, {"items": 0, "every": 1})
    platform.add("hourly", "Hourly Co", {"items": 0, "every": 3600})  # first run at the next full hour, as a cron
    workers = {name: _worker(url, name, 120, tmp_path / f"{name}.log") for name in ("wa", "wb")}
    try:
        for name in workers:
            wait_until(lambda n=name: f"started {n}" in (tmp_path / f"{n}.log").read_text(), 90, f"{name} to start")
        with effects.connect() as c:
            since = c.scalar(text("SELECT clock_timestamp() + interval '3 seconds'"))  # both see each other by then
        collects = "SELECT count(*) FROM effects WHERE kind = 'collect' AND tenant = :t AND at > :since"
        for tenant in tenants:
            wait_until(lambda t=tenant: _scalar(effects, collects, t=t, since=since) >= 3, 90, f"{tenant}'s runs")
        with effects.connect() as c:
            by = {
                tenant: {
                    row[0]
                    for row in c.execute(
                        text("SELECT DISTINCT worker FROM effects WHERE kind = 'collect' AND tenant = :t AND at > :s"),
                        {"t": tenant, "s": since},
                    )
                }
                for tenant in tenants
            }
            schedules = c.scalar(text("SELECT count(*) FROM dbos.workflow_schedules"))
            # a per-item job's runs are the ticker's own, no workflow each (its items are workflows)
            run_workflows = c.scalar(
                text("SELECT count(*) FROM dbos.workflow_status WHERE workflow_uuid LIKE 'sched-%'")
            )
            hourly = c.scalar(text("SELECT count(*) FROM effects WHERE tenant = 'hourly'"))
    finally:
        for process in workers.values():
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
    expected = {t: {["wa", "wb"][zlib.crc32(f"{t}.docs".encode()) % 2]} for t in tenants}
    assert by == expected
    assert schedules == 0
    assert run_workflows == 0
    assert hourly == 0  # not run at start-up (the test would have to start within seconds of a full hour)


def test_one_worker_at_a_time_runs_a_job_and_a_dead_workers_hold_goes_with_its_connection(database) -> None:  # type: ignore[no-untyped-def]
    """`Platform.exclusive`: a second worker (its own registry handle) is refused the job while the first runs it,
    gets it once the first is done, and gets it at once when the holder's connection dies mid-run (a killed worker)."""
    url, platform, _ = database
    other = Platform(url)
    try:
        with platform.exclusive("t1.pos") as mine:
            assert mine
            with other.exclusive("t1.pos") as theirs, other.exclusive("t2.pos") as another_job:
                assert not theirs and another_job  # per job, not per worker
        with other.exclusive("t1.pos") as theirs:
            assert theirs
        holder = Platform(url)
        with holder.exclusive("t1.pos") as held:
            assert held
            pid = holder._local.connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            with platform.engine.connect() as c:  # the holder's session ends, as when its process is killed
                c.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
            wait_until(lambda: _taken(other, "t1.pos"), 10, "the dead holder's lock released")
        holder.close()  # its unlock fails quietly: the lock went with the connection
    finally:
        other.close()


def _taken(platform: Platform, name: str) -> bool:
    with platform.exclusive(name) as mine:
        return mine
