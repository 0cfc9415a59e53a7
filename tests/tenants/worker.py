"""A hosted worker for the tenant engine tests: tenants from the real registry, jobs whose effects are rows.

    python worker.py DATABASE_URL WORKER_ID SECONDS [mute]

Each registered tenant's config says what its one job (`docs`) does: `items` keys per collect, `sleep` seconds per
item, `every` seconds between ticks, and `after` (another tenant that must have handled an item before this one
collects anything — so a test can order the tenants' work without timing), `fresh` (new keys every collect),
`first_collect_sleep` (the tenant's very first collect takes that long). TEST_LEASE_SECONDS: the lease (4).
Every collect and every handled item is a row in `effects` (seq, tenant, kind, key, worker, at), which the test
reads. `mute`: the worker writes its first heartbeat and then no more, while it goes on working (a starved
heartbeat).
"""

from __future__ import annotations

import os
import sys
import time

from sqlalchemy import create_engine, text

from mlconnector.engine import Job
from mlconnector.engine.runtime import Engine
from mlconnector.store.platform import Platform

url, worker_id, seconds = sys.argv[1:4]
mute = sys.argv[4:5] == ["mute"]
platform = Platform(url)
effects = create_engine(url)


def record(tenant: str, kind: str, key: str) -> None:
    with effects.begin() as c:
        c.execute(
            text("INSERT INTO effects (tenant, kind, key, worker) VALUES (:t, :k, :i, :w)"),
            {"t": tenant, "k": kind, "i": key, "w": worker_id},
        )


def handled(tenant: str) -> int:
    with effects.connect() as c:
        return int(c.scalar(text("SELECT count(*) FROM effects WHERE tenant = :t AND kind = 'handle'"), {"t": tenant}))


def collects(tenant: str) -> int:
    with effects.connect() as c:
        return int(c.scalar(text("SELECT count(*) FROM effects WHERE tenant = :t AND kind = 'collect'"), {"t": tenant}))


class Registry:
    def enabled(self) -> dict[str, str]:
        return {t.id: t.updated_at.isoformat() for t in platform.registered() if t.enabled}

    def jobs(self, tenant: str) -> list[Job]:
        config = platform.get(tenant).config

        def collect() -> list[str]:
            first = collects(tenant) == 0
            record(tenant, "collect", "")
            if first:
                time.sleep(config.get("first_collect_sleep", 0.0))
            if config.get("after") and handled(config["after"]) == 0:
                return []
            stamp = f"-{time.time_ns()}" if config.get("fresh") else ""
            return [f"{tenant}{stamp}-{n}" for n in range(config.get("items", 1))]

        def handle(key: str) -> str:
            time.sleep(config.get("sleep", 0.0))
            record(tenant, "handle", key)
            return "done"

        return [Job("docs", config.get("every", 1), collect, handle)]


engine = Engine(
    url,
    [],
    worker_id=worker_id,
    concurrency=4,
    tenant_concurrency=2,
    tenants=Registry(),
    reconcile_seconds=1.0,
    leases=platform,
    heartbeat_seconds=1.0,
    lease_seconds=float(os.environ.get("TEST_LEASE_SECONDS", "4")),
)
engine.start(schedules=True)
if mute:
    platform.beat = lambda executor_id: None  # type: ignore[method-assign]
print(f"started {worker_id}", flush=True)
time.sleep(float(seconds))
print(f"recovered {engine.recovered}", flush=True)
engine.stop()
