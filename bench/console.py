"""The web console on a big store: overview, documents search and a PO timeline, measured as a browser sees them.

Run by hand (never from the tests):  .venv/bin/python bench/console.py [--documents 100000] [--requests 60]

Fills a SQLite store (migrated, with the console's indexes) with `--documents` documents over the last 90 days —
60 % our 850/860s to 40 trading partners, 40 % their 997/855/856/810s — with the audit lines the flows write for
each (staged + sent; received + the PO they applied to), 1 % of the inbound ones stopped as exceptions; then serves
the console with uvicorn on a free port and signs in over real HTTP. Each screen is requested `--requests` times
(whole response: routing, session check, queries, template): the overview; a documents search cycling through PO
number, vendor, partner + type + status, a date range, and no filter; the timeline of a random PO. The baseline is
`/health` in the same run (the fixed cost of a request through the stack); ratios are p95 / baseline p95.
Last line, the figure of record: `overview_p95_ms=… search_p95_ms=… timeline_p95_ms=…` (target ≤ 300 each).

`--hosted postgresql+psycopg://postgres@127.0.0.1:5432/test` measures the hosted console instead: a throw-away
database on that server, the documents in tenant `bench`'s schema (a second tenant `other` holds a tenth as many),
the user in the platform's tables with both tenants, so every request also reads the user's tenants and the registry.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import create_engine, func, insert, select, text

from mlconnector.store import Store
from mlconnector.store.models import AuditEntry, ExceptionRecord, InboundDocument, OutboundDocument, PartnerMapping
from mlconnector.store.platform import Platform, tenant_schema
from mlconnector.web.app import ConsoleServices, HostedConsole, TenantChoice
from mlconnector.web.cli import serve
from mlconnector.web.users import add_user, grant

PAYLOAD = (
    "ISA*00*          *00*          *ZZ*ABCDIST        *ZZ*{p:<15}*261126*1200*U*00401*{icn:09d}*0*P*>~"
    "GS*PO*ABCDIST*{p}*20261126*1200*{icn}*X*004010~ST*850*0001~BEG*00*SA*{po}**20261126~"
    "PO1*1*5*EA*2.5**BP*ITEM1~PO1*2*3*EA*7.25**BP*ITEM2~CTT*2~SE*6*0001~GE*1*{icn}~IEA*1*{icn:09d}~"
)


def fill(store: Store, documents: int, rng: random.Random) -> list[str]:
    now = datetime.now(UTC)
    partners = [f"P{n:02d}" for n in range(40)]
    outbound_n = documents * 6 // 10
    inbound_n = documents - outbound_n
    pos = [f"{n:07d}" for n in range(1, outbound_n + 1)]
    out_rows, in_rows, audit_rows, exc_rows = [], [], [], []
    for n, po in enumerate(pos):
        partner = partners[n % 40]
        at = now - timedelta(seconds=rng.randrange(90 * 86400))
        out_rows.append(
            {
                "idempotency_key": f"po:{po}:1",
                "document_type": "850" if n % 10 else "860",
                "po_number": po,
                "vendor_no": f"01-V{n % 40:04d}",
                "version_hash": "h",
                "purpose": "00",
                "partner": partner,
                "interchange_control": n + 1,
                "group_control": n + 1,
                "set_control": "0001",
                "status": "sent" if n % 50 else "held",
                "fa_status": ("accepted", "accepted", "accepted", "waiting", "overdue", "rejected")[n % 6],
                "payload": PAYLOAD.format(p=partner, icn=n + 1, po=po),
                "created_at": at,
                "sent_at": at + timedelta(seconds=5),
            }
        )
        audit_rows.append(_audit("OUT", "850", po, f"{partner}/ISA{n + 1:09d}", "staged", f"po:{po}:1", at))
        audit_rows.append(_audit("OUT", "850", po, f"m-{n}", "sent", f"po:{po}:1", at + timedelta(seconds=5)))
    for n in range(inbound_n):
        po = pos[rng.randrange(len(pos))]
        doc_type = ("997", "855", "856", "810")[n % 4]
        key = f"P{n % 40:02d}:{n + 1:09d}"
        at = now - timedelta(seconds=rng.randrange(90 * 86400))
        stopped = n % 100 == 0
        in_rows.append(
            {
                "idempotency_key": key,
                "document_type": doc_type,
                "partner": f"P{n % 40:02d}",
                "cleo_message_id": f"m-in-{n}",
                "interchange_control": f"{n + 1:09d}",
                "status": "exception" if stopped else "applied",
                "payload": PAYLOAD.format(p="ABCDIST", icn=n + 1, po=po),
                "received_at": at,
                "ack_status": "sent",
            }
        )
        audit_rows.append(_audit("IN", doc_type, f"m-in-{n}", None, "received", key, at))
        target = {"856": f"{po}/G-{n:06d}", "810": f"{po}/I-{n:06d}"}.get(doc_type, po)
        if stopped:
            exc_rows.append(
                {
                    "kind": "gl_account",
                    "what": f"Invoice {n}: GL account 6300-01-30 is inactive",
                    "why": "inactive",
                    "suggested_fix": "Reactivate it in Sage, then Refresh GL now and retry.",
                    "document_ref": f"810:P{n % 40:02d}:{n}",
                    "idempotency_key": key,
                    "status": "open",
                    "retries": 0,
                    "details": {"po": po},
                    "created_at": at,
                }
            )
            audit_rows.append(_audit("IN", doc_type, key, None, "exception", None, at))
        else:
            audit_rows.append(_audit("IN", doc_type, key, target, "applied", None, at + timedelta(seconds=2)))
    with store.transaction() as session:
        for table, rows in (
            (OutboundDocument, out_rows),
            (InboundDocument, in_rows),
            (AuditEntry, audit_rows),
            (ExceptionRecord, exc_rows),
        ):
            for start in range(0, len(rows), 5000):
                session.execute(insert(table), rows[start : start + 5000])
        session.execute(
            insert(PartnerMapping), [{"vendor_no": f"01-V{n:04d}", "partner": partners[n]} for n in range(40)]
        )
    return pos


def _audit(direction, doc_type, source, target, status, key, at):  # type: ignore[no-untyped-def]
    return {
        "direction": direction,
        "document_type": doc_type,
        "source_id": source,
        "target_id": target,
        "status": status,
        "idempotency_key": key,
        "at": at,
    }


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[18] * 1000


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    name = f"mlc_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--hosted", metavar="POSTGRES_ADMIN_URL", help="Measure the hosted console on PostgreSQL.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.hosted:
            return measure(args, Store(f"sqlite:///{Path(tmp) / 'state.sqlite'}"), None, None)
        with postgres_database(args.hosted) as url:
            platform = Platform(url)
            try:
                for tenant in ("bench", "other"):
                    platform.add(tenant, tenant.title(), {})
                other = Store(url, schema=tenant_schema("other"))
                fill(other, max(1, args.documents // 10), random.Random(8))
                with platform.users() as session:
                    add_user(session, "bench", "bench-password", "viewer")
                    grant(session, "bench", ["bench", "other"])
                return measure(args, Store(url, schema=tenant_schema("bench")), platform, other)
            finally:
                platform.close()


def measure(args: argparse.Namespace, store: Store, platform: Platform | None, other: Store | None) -> int:
    rng = random.Random(7)
    started = time.perf_counter()
    pos = fill(store, args.documents, rng)
    if platform is not None:  # what autovacuum does soon after a bulk load: fresh statistics for the planner
        with store.transaction() as session:
            session.execute(text("ANALYZE"))
    with store.transaction() as session:
        if platform is None:
            add_user(session, "bench", "bench-password", "viewer")
        counts = {
            "outbound": session.scalar(select(func.count()).select_from(OutboundDocument)),
            "inbound": session.scalar(select(func.count()).select_from(InboundDocument)),
            "audit": session.scalar(select(func.count()).select_from(AuditEntry)),
            "open_exceptions": session.scalar(select(func.count()).where(ExceptionRecord.status == "open")),
        }
    print(f"filled in {time.perf_counter() - started:.1f} s: " + " ".join(f"{k}={v}" for k, v in counts.items()))
    schedule = {"pos": 900, "inbound": 300, "vendors": 900, "gl": 14400}
    services = ConsoleServices(store=store, schedule=schedule)
    if platform is not None:
        stores = {"bench": store, "other": other}
        services = ConsoleServices(
            store=None,
            hosted=HostedConsole(
                users=platform.users,
                tenants=lambda: [TenantChoice(t.id, t.name, t.enabled) for t in platform.registered()],
                open_tenant=lambda tenant: ConsoleServices(store=stores[tenant], schedule=schedule),
            ),
        )
    server = serve(services, "127.0.0.1", 0)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        token = client.get("/login").text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        client.post("/login", data={"csrf_token": token, "username": "bench", "password": "bench-password"})
        today = datetime.now(UTC).date()
        searches = [
            lambda: {"po": rng.choice(pos)},
            lambda: {"vendor": f"01-V{rng.randrange(40):04d}"},
            lambda: {"partner": f"P{rng.randrange(40):02d}", "type": "850", "status": "sent"},
            lambda: {
                "from": (today - timedelta(days=10)).isoformat(),
                "to": (today - timedelta(days=3)).isoformat(),
            },
            lambda: {},
        ]
        first: dict[str, float] = {}
        for name, path in (("overview", "/"), ("search", "/documents"), ("timeline", f"/po/{pos[0]}")):
            t0 = time.perf_counter()
            client.get(path)
            first[name] = (time.perf_counter() - t0) * 1000
        timings: dict[str, list[float]] = {"health": [], "overview": [], "search": [], "timeline": []}
        rows_seen = 0
        for n in range(args.requests):
            for name, path, params in (
                ("health", "/health", {}),
                ("overview", "/", {}),
                ("search", "/documents", searches[n % len(searches)]()),
                ("timeline", f"/po/{rng.choice(pos)}", {}),
            ):
                t0 = time.perf_counter()
                answer = client.get(path, params=params)
                timings[name].append(time.perf_counter() - t0)
                if answer.status_code != 200:
                    print(f"{path} answered {answer.status_code}", file=sys.stderr)
                    return 1
                if name == "search":
                    rows_seen += answer.text.count("<tr>") - 1
    server.should_exit = True
    thread.join(10)
    store.close()
    if other is not None:
        other.close()
    base = p95(timings["health"])
    print(
        "first request after start (cold caches, not in the p95): "
        + " ".join(f"{k}={v:.0f} ms" for k, v in first.items())
    )
    print(f"requests per screen: {args.requests}; search rows rendered: {rows_seen}")
    for name in ("health", "overview", "search", "timeline"):
        value = p95(timings[name])
        print(
            f"{name:9} p50={statistics.median(timings[name]) * 1000:7.1f} ms  p95={value:7.1f} ms  x{value / base:.1f}"
        )
    print(
        f"overview_p95_ms={p95(timings['overview']):.0f} search_p95_ms={p95(timings['search']):.0f} "
        f"timeline_p95_ms={p95(timings['timeline']):.0f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
