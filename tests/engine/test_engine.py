"""The durable engine: ticks and documents run once, on one box (SQLite) and across workers (PostgreSQL)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from mlconnector.engine import cron_every
from waiting import wait_until

WORKER = Path(__file__).with_name("worker.py")


def create_effects_table(url: str) -> None:
    """Once, before any worker starts (two workers racing on CREATE TABLE IF NOT EXISTS collide on PostgreSQL)."""
    engine = create_engine(url)
    with engine.begin() as c:
        c.execute(text("CREATE TABLE IF NOT EXISTS effects (kind VARCHAR(40), item VARCHAR(80), worker VARCHAR(40))"))
    engine.dispose()


def run_worker(system_url: str, effects_url: str, worker_id: str, mode: str, seconds: float = 0) -> subprocess.Popen:
    create_effects_table(effects_url)
    return subprocess.Popen(
        [sys.executable, str(WORKER), system_url, effects_url, worker_id, mode, str(seconds)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen) -> str:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err[-3000:]
    return out


def effects(url: str) -> list[tuple[str, str, str]]:
    engine = create_engine(url)
    with engine.connect() as c:
        rows = [tuple(r) for r in c.execute(text("SELECT kind, item, worker FROM effects"))]
    engine.dispose()
    return rows


@pytest.mark.parametrize(
    ("seconds", "cron"),
    [(5, "*/5 * * * * *"), (300, "0 */5 * * * *"), (900, "0 */15 * * * *"), (14400, "0 0 */4 * * *")],
)
def test_intervals_become_cron(seconds: int, cron: str) -> None:
    assert cron_every(seconds) == cron


def test_uneven_interval_is_refused_with_advice() -> None:
    with pytest.raises(ValueError, match="divide"):
        cron_every(7 * 60)


def test_run_now_handles_each_document_once_and_a_repeat_is_a_no_op(tmp_path: Path) -> None:
    system = f"sqlite:///{tmp_path / 'dbos.sqlite'}"
    side = f"sqlite:///{tmp_path / 'effects.sqlite'}"
    out = finish(run_worker(system, side, "w1", "now"))
    assert "'documents': {'items': 5, 'done': 5}" in out
    finish(run_worker(system, side, "w1", "now"))  # the same five keys again
    handled = sorted(item for kind, item, _ in effects(side) if kind == "handle")
    assert handled == [f"doc-{n}" for n in range(5)]
    assert len([item for kind, item, _ in effects(side) if item.startswith("documents ")]) == 2


@pytest.mark.postgres
def test_two_workers_on_postgres_never_run_the_same_tick_or_document_twice(postgres_url: str) -> None:
    workers = [run_worker(postgres_url, postgres_url, f"w{n}", "schedule", 6) for n in (1, 2)]
    for process in workers:
        finish(process)
    rows = effects(postgres_url)
    handled = [item for kind, item, _ in rows if kind == "handle"]
    ticks = [item.split()[1] for kind, item, _ in rows if kind == "collect" and item.startswith("documents ")]
    assert sorted(handled) == [f"doc-{n}" for n in range(5)], "each document exactly once across both workers"
    assert len(ticks) >= 3, "the one-second schedule fired during the six seconds"
    assert all(t.startswith("sched-documents-") for t in ticks)
    assert len(ticks) == len(set(ticks)), "no tick ran its collection twice across the two workers"
    assert {w for kind, _, w in rows if kind == "collect"} <= {"w1", "w2"}


@pytest.mark.postgres
def test_a_run_is_skipped_while_the_previous_one_collects_and_items_never_hold_up_the_next_collect(
    postgres_url: str,
) -> None:
    """Ticks every second, each collect taking 1.5 s, on two workers: no two collects of the job ever overlap (a tick
    that finds the previous run still going does nothing), yet nothing is stranded — an item added while runs are
    being skipped is handled by a later one. A scheduled run does not wait for its items: while one item is blocked,
    later runs still collect and send new work (the old tick waited for every item, so runs piled up behind it)."""
    create_effects_table(postgres_url)
    db = create_engine(postgres_url)
    with db.begin() as c:
        c.execute(text("CREATE TABLE work (item VARCHAR(40) PRIMARY KEY)"))
        c.execute(text("INSERT INTO work VALUES ('a'), ('block')"))

    def rows(kind: str) -> list[str]:
        return [item for k, item, _ in effects(postgres_url) if k == kind]

    def add(item: str) -> None:
        with db.begin() as c:
            c.execute(text("INSERT INTO work VALUES (:i)"), {"i": item})

    workers = [run_worker(postgres_url, postgres_url, f"w{n}", "slow", 240) for n in (1, 2)]
    try:
        wait_until(lambda: "a" in rows("handle") and rows("blocking"), 120, "item a handled and item block started")
        collects_when_blocked = len(rows("collect"))
        wait_until(lambda: len(rows("collect")) >= collects_when_blocked + 2, 60, "runs while an item is blocked")
        add("b")  # new work while `block` is still running
        wait_until(lambda: "b" in rows("handle"), 60, "item b, added while another item was blocked")
        add("release")
        wait_until(lambda: "block" in rows("handle"), 60, "the blocked item, once released")
    finally:
        with db.begin() as c:  # a failed wait above must not leave the workers blocked
            c.execute(text("INSERT INTO work VALUES ('release'), ('stop') ON CONFLICT DO NOTHING"))
        outputs = [finish(process) for process in workers]
        db.dispose()
    assert rows("overlap") == [], (rows("overlap"), outputs)
    assert sorted(rows("handle")) == ["a", "b", "block"], "each item exactly once"
    assert all(run.startswith("sched-documents-") for run in rows("collect"))


def test_a_worker_runs_only_a_few_collects_at_once(tmp_path: Path) -> None:
    """Four jobs whose ticks fire together every second: an engine of concurrency 2 runs one collect at a time (half
    its concurrency), so many tenants' ticks cannot all hold a store connection at once."""
    system = f"sqlite:///{tmp_path / 'dbos.sqlite'}"
    out = finish(run_worker(system, f"sqlite:///{tmp_path / 'effects.sqlite'}", "w1", "slots", 5))
    assert "most collects at once: 1" in out, out


def _intervals() -> list[int]:
    valid = []
    for seconds in [*range(1, 61), *range(60, 3601, 60), *range(3600, 86401, 3600)]:
        try:
            cron_every(seconds)
        except ValueError:
            continue
        valid.append(seconds)
    return sorted(set(valid))


@settings(max_examples=400, deadline=None)
@given(
    seconds=st.sampled_from(_intervals()),
    after=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
    utc=st.booleans(),
)
def test_next_run_is_the_schedulers_cron(seconds: int, after: datetime, utc: bool) -> None:
    """`next_run`'s arithmetic (which spares `status` importing croniter) gives what the cron gives."""
    from croniter import croniter

    from mlconnector.engine import next_run

    if utc:
        after = after.replace(tzinfo=UTC)
    expected = croniter(cron_every(seconds), after, second_at_beginning=True).get_next(datetime)
    assert next_run(seconds, after) == expected
