"""Hosted tenants under load: many tenants, one bursting, one worker killed — do the quiet tenants stay quick?

Run by hand (never from the tests):

    .venv/bin/python bench/tenants.py [--tenants 50] [--pos 200] [--burst 5000] [--workers 3] [--seconds 300]

What runs, all real processes on loopback, on a fresh PostgreSQL database (dropped afterwards):
- `--tenants` simulated Sage companies, each behind its own agent connected **over the tunnel**: one
  `ml-connector hub serve --tenants` (the deployment's config and master key; each tenant's agent key read from its
  vault entry `agent`), and one helper process holding one outbound WSS connection per tenant (the tunnel's own
  `AgentTunnel`, what `agent connect` runs), each with its own key, replay log and SQLite company. The bench prints
  the agents' listening TCP sockets (none expected; any one fails the run). Each tenant's config names the hub's relay
  (`[agent] hub_url` + `hub_fingerprint`) and its vault holds the relay token (`hub`). PO numbers start at a
  different number per tenant (tenant i from (i + 1) × 100,000), so any PO seen in the wrong tenant's store or Cleo
  account is found.
- one Cleo sandbox with one login per tenant (each login its own Cleo tenant); partner answers are delayed ~11 days,
  so only 850s move.
- `--workers` × `ml-connector run` with `hosted = true` (tenants from `ml-connector tenants`, schema per tenant),
  each with its own MLC_WORKER_ID; POs every `--every` (2) s per tenant; `[engine] workers = 4`,
  `tenant_workers = 2`, the deployment's heartbeat (5 s) and worker lease (30 s, or `--lease`).

Two phases, measured in the same run:
1. unloaded: every tenant gets `--pos` POs, inserted into its Sage company in small batches spread over `--seconds`.
2. loaded: the same again for every tenant but the first, while the first tenant gets `--burst` POs at once at the
   start; a third of the way through, one worker is SIGKILLed (and not restarted: the survivors recover its work).
Latency of a PO = the connector's `sent_at` (written when Cleo accepted the 850) − the moment its batch was committed
in Sage. `quiet_p95_latency_s` is the p95 over the non-bursting tenants in phase 2, `unloaded_p95_latency_s` over all
tenants in phase 1. `pos_per_s` = POs of phase 2 (quiet + burst) / time from phase 2's start until the last of them
was sent. Counted from every tenant's store and Cleo account: `duplicates` (Cleo messages beyond one per PO),
`lost` (POs created in Sage with no 850 in Cleo), `isolation_violations` (a PO number of another tenant's range in a
tenant's store or Cleo account, or a Cleo message no store document of that tenant claims). `worker_peak_rss_mb` is
the highest VmHWM of any worker. A run in which not every PO reached Cleo within the timeout prints the counts and
exits 1.

`--probe` starts each worker through this file (`--probe-worker`), which wraps the stage functions with timers,
counts every SQL statement and commit (by schema: `dbos`, `platform`, a tenant's `store`, and by the stage it ran
in) and each stage's thread CPU; before the last line the bench prints the workers' sums per PO sent (the killed
worker's as of its last dump, every 5 s). BENCH_SAMPLE=1 adds bench/outbound.py's stack sampler (off by default:
on CPython 3.11 its sys._current_frames() can deadlock a busy worker).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack, suppress
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("MLC_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
FAR = 1_000_000.0  # seconds: partner answers never arrive during the run


def first_po(tenant_index: int) -> int:
    """Each tenant's PO numbers in their own range (7 digits, as Sage keeps them)."""
    return 100_000 * (tenant_index + 1)


def serve_agents(directory: Path, count: int, hub_url: str, fingerprint: str) -> None:
    """The helper process: one outbound tunnel per tenant (its own key, Sage company and replay log), until stdin
    closes. Uses the tunnel's own agent code (`AgentTunnel`, what `agent connect` runs) in one event loop."""
    import asyncio

    from mlconnector.sage.agent.server import create_app
    from mlconnector.sage.agent.signing import NonceStore
    from mlconnector.sage.agent.tls import AgentFiles
    from mlconnector.sage.sim.script import SimBackend
    from mlconnector.tunnel.agent import AgentTunnel, HubTrust, TunnelOptions

    async def main() -> None:
        trust = HubTrust(fingerprint=fingerprint)
        options = TunnelOptions(ping_interval=5, ping_timeout=30, open_timeout=30)
        tunnels, apps = [], []
        for i in range(count):
            files = AgentFiles(directory / f"agent-{i}")
            app = create_app(SimBackend(directory / f"sage-{i}"), files.hmac_key(), nonces=NonceStore(files.nonces))
            apps.append(app)
            tunnels.append(AgentTunnel(app, hub_url, tenant_name(i), files.hmac_key(), trust, options))
        tasks = [asyncio.create_task(t.run()) for t in tunnels]
        started = time.monotonic()
        await asyncio.gather(*(t.connected.wait() for t in tunnels))
        (directory / "agents.connected").write_text(f"{time.monotonic() - started:.1f}")
        await asyncio.to_thread(sys.stdin.read)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for app in apps:
            if app.pool is not None:
                app.pool.close()
        sessions = sum(t.sessions for t in tunnels)
        print(f"agents: {count} tunnels, {sessions} session(s) in all ({sessions - count} reconnect(s))", flush=True)

    asyncio.run(main())


def tenant_name(index: int) -> str:
    return f"t{index:02d}"


def connections_to(pid: int, port: int) -> int:
    """Established TCP connections of `pid` to `port` (the hub's agents port)."""
    import psutil

    return sum(
        1
        for c in psutil.Process(pid).net_connections(kind="tcp")
        if c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED
    )


def listening_tcp(pid: int) -> list[str]:
    """The TCP sockets `pid` listens on (read from the kernel through psutil), as "host:port"."""
    import psutil

    return [
        f"{c.laddr.ip}:{c.laddr.port}"
        for c in psutil.Process(pid).net_connections(kind="tcp")
        if c.status == psutil.CONN_LISTEN
    ]


def timeline(points: list[tuple[float, float]], start: float, width: float = 30.0) -> str:
    """p95 latency by window of the PO's creation time (seconds into the phase): when in the phase the tail came."""
    windows: dict[int, list[float]] = {}
    for created_at, latency in points:
        windows.setdefault(int((created_at - start) // width), []).append(latency)
    return ", ".join(
        f"{n * width:.0f}-{(n + 1) * width:.0f} s {percentile(v, 95):.1f}" for n, v in sorted(windows.items())
    )


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else float("nan")


class Peak:
    """Polls every worker's VmHWM (peak resident set) until stopped."""

    def __init__(self) -> None:
        self.pids: list[int] = []
        self.peak_kb = 0
        self._stop = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            for pid in list(self.pids):
                try:
                    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                        if line.startswith("VmHWM:"):
                            self.peak_kb = max(self.peak_kb, int(line.split()[1]))
                except OSError:
                    continue

    def stop(self) -> None:
        self._stop.set()


class CpuUse:
    """CPU seconds (user + system) of the bench's processes by role, and of the whole machine, so each phase can say
    where the cores went. A process that has died (the killed worker) keeps its last reading (sampled every second)."""

    def __init__(self) -> None:
        self.roles: dict[int, str] = {}
        self.last: dict[int, float] = {}
        self._stop = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self.sample()

    def sample(self) -> None:
        import psutil

        for pid in list(self.roles):
            with suppress(psutil.Error):
                times = psutil.Process(pid).cpu_times()
                self.last[pid] = times.user + times.system

    def snapshot(self) -> tuple[float, dict[str, float]]:
        """(seconds the machine's cores were busy, in all; role → seconds), as of now."""
        import psutil

        self.sample()
        machine = psutil.cpu_times()
        by_role: dict[str, float] = {}
        for pid, role in self.roles.items():
            by_role[role] = by_role.get(role, 0.0) + self.last.get(pid, 0.0)
        return sum(machine) - machine.idle - getattr(machine, "iowait", 0.0), by_role

    @staticmethod
    def between(before: tuple[float, dict[str, float]], after: tuple[float, dict[str, float]], wall: float) -> str:
        import psutil

        busy = after[0] - before[0]
        roles = {role: after[1].get(role, 0.0) - before[1].get(role, 0.0) for role in after[1]}
        cores = psutil.cpu_count() or 1
        parts = ", ".join(f"{role} {seconds:.0f}" for role, seconds in roles.items())
        rest = busy - sum(roles.values())
        return (
            f"{parts}, the rest (PostgreSQL, the bench, anything else on the host) {rest:.0f}; "
            f"busy {busy:.0f} of {cores} cores x {wall:.0f} s wall = {busy / (cores * wall):.0%}"
        )

    def stop(self) -> None:
        self._stop.set()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=50)
    parser.add_argument("--pos", type=int, default=200, help="POs per tenant per phase")
    parser.add_argument("--burst", type=int, default=5000, help="POs the first tenant gets at once in phase 2")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=300.0, help="how long each phase feeds POs")
    parser.add_argument("--lines", type=int, default=3)
    parser.add_argument(
        "--lease", type=float, help="worker lease (s); default: the deployment's ([engine] worker_lease_seconds, 30)"
    )
    parser.add_argument("--slots", type=int, default=4, help="[engine] workers: documents one worker sends at once")
    parser.add_argument(
        "--tenant-slots", type=int, help="[engine] tenant_workers: one tenant's share (default: the deployment's)"
    )
    parser.add_argument("--every", type=int, default=2, help="each tenant's PO job runs every this many seconds")
    parser.add_argument("--timeout", type=float, default=1800.0, help="give up on a phase after this long")
    parser.add_argument(
        "--probe",
        action="store_true",
        help="count each worker's costs (stage timers, SQL statements, a CPU-weighted stack sample) and print them"
        " per PO sent",
    )
    args = parser.parse_args(argv)

    from sqlalchemy import create_engine, select, text
    from sqlalchemy.pool import NullPool

    from mlconnector.config import write_config
    from mlconnector.sage.sim.script import SimBackend
    from mlconnector.sage.sim.seed import DEMO_USERS, bulk_purchase_orders, catalog
    from mlconnector.store import Store
    from mlconnector.store.models import OutboundDocument
    from mlconnector.store.ops import map_vendor
    from mlconnector.store.platform import Platform, tenant_schema
    from mlconnector.vault import MasterKey, Vault

    work = Path(tempfile.mkdtemp(prefix="mlc-bench-tenants-"))
    database = f"mlc_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{database}"'))
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{database}"
    tenants = [tenant_name(i) for i in range(args.tenants)]
    print(f"work dir {work}, database {database}", flush=True)

    with ExitStack() as cleanup:
        cleanup.callback(lambda: _drop(admin, database))
        processes: list[subprocess.Popen] = []
        cleanup.callback(lambda: [_stop(p) for p in processes])

        # Sage companies, one per tenant, PO numbers in disjoint ranges
        t0 = time.monotonic()
        sims = []
        for i in range(args.tenants):
            sim = SimBackend(work / f"sage-{i}")
            sim.init_company(purchase_orders=0)
            conn = sim.connect()
            conn.execute("UPDATE SIM_NextNumber SET NextValue=? WHERE Name='PurchaseOrderNo'", (first_po(i),))
            conn.commit()
            conn.close()
            sims.append(sim)
        conn = sims[0].connect()
        vendors = [f"{div}-{no}" for div, no in catalog(conn).vendors]
        conn.close()
        aliases = {vendor: f"P{vendor.split('-', 1)[1]}" for vendor in vendors}
        print(f"{args.tenants} Sage companies seeded in {time.monotonic() - t0:.0f} s", flush=True)

        # each tenant's agent identity (its own HMAC key), made as `agent init` makes it
        from mlconnector.sage.agent.tls import AgentFiles, init_agent

        for i in range(args.tenants):
            init_agent(work / f"agent-{i}")
        agent_keys = [AgentFiles(work / f"agent-{i}").hmac_key() for i in range(args.tenants)]
        assert len(set(agent_keys)) == args.tenants
        answers = ("delivered", "functional_ack", "acknowledgment", "ship_notice", "second_ship_notice", "invoice")
        partners = {
            "defaults": {"profile": "perfect", "delays": dict.fromkeys(answers, FAR)},
            "partners": [
                {"alias": a, "name": f"{a} Trading", "isa_id": f"{a}EDI", "gs_id": f"{a}EDI", "erp_vendor": v}
                for v, a in aliases.items()
            ],
        }
        (work / "partners.json").write_text(json.dumps(partners))
        passwords = {t: secrets.token_urlsafe(12) for t in tenants}
        from mlconnector.demo import free_port, wait_for_port

        cleo_port = free_port()
        (work / "cleo").mkdir(exist_ok=True)
        sandbox = subprocess.Popen(
            [
                sys.executable,
                "-P",
                "-m",
                "mlconnector",
                "cleo-sandbox",
                "serve",
                "--data",
                str(work / "cleo"),
                "--port",
                str(cleo_port),
                "--partners",
                str(work / "partners.json"),
            ],
            env={**os.environ, "MLC_CLEO_SANDBOX_USERS": " ".join(f"{t}:{p}" for t, p in passwords.items())},
            stdout=(work / "cleo.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        processes.append(sandbox)
        cpu = CpuUse()
        cpu.roles[sandbox.pid] = "Cleo sandbox"
        wait_for_port(cleo_port, sandbox, "the Cleo sandbox", work / "cleo.log")
        # the hub's identity (certificate agents pin, relay token workers present); ports chosen now so each
        # tenant's config can name the relay before the hub starts
        from mlconnector.tunnel.service import HubFiles

        hub_files = HubFiles(work / "hub").ensure()
        agents_port, relay_port = free_port(), free_port()
        hub_fingerprint = hub_files.fingerprint()

        # the hosted deployment: config, master key, tenants with their own schema, vault and mapping
        master = base64.urlsafe_b64encode(os.urandom(32)).decode()
        config = work / "ml-connector.toml"
        write_config(config, tenant="hosting", data_dir=str(work / "var"))
        config.write_text(
            config.read_text().replace('# database_url = ""', f'database_url = "{url}"\nhosted = true')
            + "\n"  # engine settings for the bench
        )
        platform = Platform(url)
        cleanup.callback(platform.close)
        key = MasterKey(base64.urlsafe_b64decode(master), "env")
        stores: dict[str, Store] = {}
        t0 = time.monotonic()
        for i, tenant in enumerate(tenants):
            document = {
                "sage_company": "ABC",
                "agent": {
                    "hub_url": f"https://127.0.0.1:{relay_port}",
                    "hub_fingerprint": hub_fingerprint,
                    "timeout_seconds": 30,
                },
                "cleo": {"base_url": f"http://127.0.0.1:{cleo_port}", "timeout_seconds": 30},
                "schedule": {
                    "purchase_orders_seconds": args.every,
                    "inbound_seconds": 3600,
                    "vendors_seconds": 3600,
                    "gl_seconds": 60,
                },
            }
            platform.add(tenant, tenant, document)
            store = Store(url, schema=tenant_schema(tenant))
            stores[tenant] = store
            vault = Vault(store, key, tenant)
            vault.put("sage", {"user": "ml", "password": DEMO_USERS["ml"], "company": "ABC"})
            vault.put("cleo", {"username": tenant, "password": passwords[tenant]})
            vault.put("agent", {"key": agent_keys[i].hex()})  # what the hub checks this tenant's agent against
            vault.put("hub", {"token": hub_files.token()})  # what this tenant's workers present to the relay
            with store.transaction() as session:
                for vendor, alias in aliases.items():
                    map_vendor(session, vendor, alias)
        for store in stores.values():
            cleanup.callback(store.close)
        print(f"{args.tenants} tenants registered in {time.monotonic() - t0:.0f} s", flush=True)

        deployment = {**os.environ, "MLC_CONFIG": str(config), "MLC_MASTER_KEY": master, "MLC_KEYRING": "off"}
        # one hub for every tenant: agent keys from the tenants' vaults
        hub = subprocess.Popen(
            [
                *(sys.executable, "-P", "-m", "mlconnector", "hub", "serve", "--tenants"),
                *("--dir", str(hub_files.directory), "--agents-host", "127.0.0.1", "--agents-port", str(agents_port)),
                *("--relay-port", str(relay_port), "--ping-interval", "5", "--ping-timeout", "30"),
                *("--request-timeout", "60"),
            ],
            env=deployment,
            cwd=work,
            stdout=(work / "hub.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        processes.append(hub)
        cpu.roles[hub.pid] = "hub"
        wait_for_port(relay_port, hub, "the hub", work / "hub.log")

        # every tenant's agent dials out to the hub: one helper process, one tunnel (key, Sage company) per tenant
        t0 = time.monotonic()
        agents_proc = subprocess.Popen(
            [
                *(sys.executable, "-P", __file__, "--serve-agents", str(work), str(args.tenants)),
                *(f"wss://127.0.0.1:{agents_port}/agents", hub_fingerprint),
            ],
            stdin=subprocess.PIPE,
            stdout=(work / "agents.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        processes.append(agents_proc)
        cpu.roles[agents_proc.pid] = "agents (Sage sims)"
        deadline = time.monotonic() + 300
        while not (work / "agents.connected").exists():
            if agents_proc.poll() is not None or hub.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the agents did not connect; see {work / 'agents.log'} and {work / 'hub.log'}")
            time.sleep(0.2)
        listening = listening_tcp(agents_proc.pid)
        to_hub = connections_to(agents_proc.pid, agents_port)
        print(
            f"{args.tenants} agents connected to the hub over WSS in {time.monotonic() - t0:.0f} s "
            f"(agents' process {agents_proc.pid}: {to_hub} connection(s) to the hub, "
            f"listening TCP sockets: {listening or 'none'})",
            flush=True,
        )
        if listening:
            raise SystemExit(f"the agents' process listens on {listening}: not outbound-only")

        env = {
            **deployment,
            "MLC_ENGINE__WORKERS": str(args.slots),
            "MLC_LOG__LEVEL": "WARNING",
        }
        if args.tenant_slots:
            env["MLC_ENGINE__TENANT_WORKERS"] = str(args.tenant_slots)
        if args.lease:
            env["MLC_ENGINE__WORKER_LEASE_SECONDS"] = str(args.lease)
        peak = Peak()
        workers: dict[str, subprocess.Popen] = {}
        for n in range(args.workers):
            name = f"bench-w{n + 1}"
            command = ["-m", "mlconnector", "run"]
            if args.probe:
                command = [__file__, "--probe-worker", str(work / f"{name}.probe.json"), "run"]
            workers[name] = subprocess.Popen(
                [sys.executable, "-P", *command],
                env={**env, "MLC_WORKER_ID": name},
                cwd=work,
                stdout=(work / f"{name}.log").open("w"),
                stderr=subprocess.STDOUT,
            )
            processes.append(workers[name])
            peak.pids.append(workers[name].pid)
            cpu.roles[workers[name].pid] = "workers"
        for name in workers:
            deadline = time.monotonic() + 300
            while "ml-connector running" not in (work / f"{name}.log").read_text():
                if workers[name].poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"{name} did not start; see {work / (name + '.log')}")
                time.sleep(0.5)
        print(f"{args.workers} workers running", flush=True)

        created: dict[str, dict[str, float]] = {t: {} for t in tenants}  # tenant → PO → committed at (epoch)

        def feed(tenant_index: int, count: int, seed: int) -> None:
            sim = sims[tenant_index]
            conn = sim.connect()
            try:
                numbers = bulk_purchase_orders(conn, count, rng_seed=seed, when=datetime.now(), lines=args.lines)
                conn.commit()
            finally:
                conn.close()
            at = time.time()
            created[tenants[tenant_index]].update(dict.fromkeys(numbers, at))

        def stream(indexes: list[int], seconds: float, phase: int) -> None:
            """`--pos` POs for each tenant, in ~1-second batches across `seconds`."""
            batches = max(1, int(seconds))
            # spread evenly: with fewer POs than batches, one every few seconds (not all in the first seconds)
            sizes = [round((b + 1) * args.pos / batches) - round(b * args.pos / batches) for b in range(batches)]
            start = time.monotonic()
            for b, size in enumerate(sizes):
                if size:
                    for i in indexes:
                        feed(i, size, seed=phase * 100_000 + b * 1000 + i)
                time.sleep(max(0.0, start + (b + 1) * seconds / batches - time.monotonic()))

        def sent(tenant: str, numbers: set[str]) -> dict[str, float]:
            with stores[tenant].transaction() as session:
                rows = session.execute(
                    select(OutboundDocument.po_number, OutboundDocument.sent_at).where(
                        OutboundDocument.sent_at.is_not(None)
                    )
                ).all()
            return {po: at.timestamp() for po, at in rows if po in numbers}

        def stage_times() -> dict[str, dict[str, tuple[float, ...]]]:
            """Where each sent PO's time went, read once after the run: tenant → PO → (Sage commit → staged by a
            collect (the document row), → enqueued (its DBOS workflow created), → started by a worker (dequeued),
            → sent (Cleo accepted the 850)). Its first attempt's workflow; a PO sent on a later attempt counts its
            first attempt's queue times."""
            times: dict[str, dict[str, tuple[float, ...]]] = {}
            system = create_engine(url, poolclass=NullPool)
            try:
                for tenant in tenants:
                    with stores[tenant].transaction() as session:
                        rows = session.execute(
                            select(
                                OutboundDocument.po_number,
                                OutboundDocument.idempotency_key,
                                OutboundDocument.created_at,
                                OutboundDocument.sent_at,
                            ).where(OutboundDocument.sent_at.is_not(None))
                        ).all()
                    docs = {f"{tenant}.pos:{key}#0": (po, made, at) for po, key, made, at in rows}
                    with system.connect() as c:
                        flows = c.execute(
                            text(
                                "SELECT workflow_uuid, created_at, started_at_epoch_ms FROM dbos.workflow_status"
                                " WHERE workflow_uuid LIKE :prefix"
                            ),
                            {"prefix": f"{tenant}.pos:%#0"},
                        ).all()
                    times[tenant] = {}
                    for workflow, enqueued_ms, started_ms in flows:
                        if workflow not in docs or started_ms is None or docs[workflow][0] not in created[tenant]:
                            continue
                        po, made, at = docs[workflow]
                        times[tenant][po] = (
                            made.timestamp() - created[tenant][po],
                            enqueued_ms / 1000 - made.timestamp(),
                            (started_ms - enqueued_ms) / 1000,
                            at.timestamp() - started_ms / 1000,
                        )
            finally:
                system.dispose()
            return times

        def stages(times: dict[str, dict[str, tuple[float, ...]]], phase_created: dict[str, set[str]]) -> str:
            """p50/p95 of each stage over these tenants' POs of one phase."""
            picked = [times[t][po] for t, numbers in phase_created.items() for po in numbers if po in times[t]]
            columns = {
                name: [row[k] for row in picked] for k, name in enumerate(("collect", "enqueue", "queue", "send"))
            }
            summary = ", ".join(
                f"{n} p50 {percentile(v, 50):.2f} p95 {percentile(v, 95):.2f}" for n, v in columns.items()
            )
            return f"{summary} ({len(picked)} POs)"

        def wait_sent(phase_created: dict[str, set[str]], started: float) -> tuple[dict[str, dict[str, float]], bool]:
            deadline = time.monotonic() + args.timeout
            while True:
                done = {t: sent(t, numbers) for t, numbers in phase_created.items()}
                missing = sum(len(phase_created[t]) - len(done[t]) for t in done)
                if missing == 0 or time.monotonic() > deadline:
                    return done, missing == 0
                print(f"  waiting for {missing} PO(s), {time.time() - started:.0f} s into the phase", flush=True)
                time.sleep(5)

        # warm-up (not measured): one PO per tenant, so every tenant's first GL refresh and Cleo login are behind us
        warm = {t: set() for t in tenants}
        for i, tenant in enumerate(tenants):
            feed(i, 1, seed=999_999 - i)
            warm[tenant] = set(created[tenant])
        wait_sent(warm, time.time())

        # phase 1: unloaded
        print(f"phase 1 (unloaded): {args.pos} POs per tenant over {args.seconds:.0f} s", flush=True)
        before = {t: set(created[t]) for t in tenants}
        phase1_start = time.time()
        cpu_start = cpu.snapshot()
        stream(list(range(args.tenants)), args.seconds, phase=1)
        phase1 = {t: set(created[t]) - before[t] for t in tenants}
        done1, complete1 = wait_sent(phase1, phase1_start)
        cpu_phase1 = CpuUse.between(cpu_start, cpu.snapshot(), time.time() - phase1_start)
        unloaded = [done1[t][po] - created[t][po] for t in tenants for po in done1[t]]

        # phase 2: one tenant bursts, one worker is killed
        print(f"phase 2 (loaded): tenant {tenants[0]} bursts {args.burst}; a worker is killed", flush=True)
        before = {t: set(created[t]) for t in tenants}
        phase2_start = time.time()
        cpu_start = cpu.snapshot()
        feed(0, args.burst, seed=2_000_000)
        victim = next(iter(workers))
        killer = threading.Timer(args.seconds / 3, lambda: workers[victim].send_signal(signal.SIGKILL))
        killer.start()
        stream(list(range(1, args.tenants)), args.seconds, phase=2)
        phase2 = {t: set(created[t]) - before[t] for t in tenants}
        done2, complete2 = wait_sent(phase2, phase2_start)
        cpu_phase2 = CpuUse.between(cpu_start, cpu.snapshot(), time.time() - phase2_start)
        cpu.stop()
        killer.join()
        last = max((at for t in tenants for at in done2[t].values()), default=time.time())
        quiet = [done2[t][po] - created[t][po] for t in tenants[1:] for po in done2[t]]
        times = stage_times()
        print(f"where the time went, phase 1 (s): {stages(times, phase1)}", flush=True)
        quiet_created = {t: phase2[t] for t in tenants[1:]}
        print(f"where the time went, phase 2, quiet tenants (s): {stages(times, quiet_created)}", flush=True)
        print(
            f"where the time went, phase 2, the bursting tenant (s): {stages(times, {tenants[0]: phase2[tenants[0]]})}",
            flush=True,
        )
        points1 = [(created[t][po], done1[t][po] - created[t][po]) for t in tenants for po in done1[t]]
        points2 = [(created[t][po], done2[t][po] - created[t][po]) for t in tenants[1:] for po in done2[t]]
        print(f"p95 latency by when the PO was created, phase 1: {timeline(points1, phase1_start)}", flush=True)
        print(f"p95 latency by when the PO was created, phase 2 quiet: {timeline(points2, phase2_start)}", flush=True)
        print(f"CPU seconds, phase 1: {cpu_phase1}", flush=True)
        print(f"CPU seconds, phase 2: {cpu_phase2}", flush=True)
        phase2_pos = sum(len(v) for v in phase2.values())
        time.sleep(3)

        # counts from every store and every Cleo account
        import httpx

        duplicates = lost = violations = 0
        with httpx.Client(base_url=f"http://127.0.0.1:{cleo_port}", timeout=60) as http:
            for i, tenant in enumerate(tenants):
                with stores[tenant].transaction() as session:
                    docs = session.execute(select(OutboundDocument.po_number, OutboundDocument.cleo_message_id)).all()
                violations += sum(1 for po, _ in docs if not first_po(i) <= int(po) < first_po(i + 1))
                by_message = {m: po for po, m in docs if m}
                token = http.post(
                    "/api/authentication",
                    data={"grant_type": "password", "username": tenant, "password": passwords[tenant]},
                ).json()["access_token"]
                messages: list[dict[str, Any]] = []
                while True:
                    page = http.get(
                        "/api/messages",
                        params={"filter": 'direction eq "outbound"', "startIndex": len(messages), "count": 500},
                        headers={"Authorization": f"Bearer {token}"},
                    ).json()
                    messages.extend(page["resources"])
                    if not page["resources"] or len(messages) >= page["totalResults"]:
                        break
                claimed = [by_message.get(str(m["id"])) for m in messages]
                violations += sum(1 for po in claimed if po is None)
                in_cleo = [po for po in claimed if po is not None]
                duplicates += len(in_cleo) - len(set(in_cleo))
                lost += len(set(created[tenant]) - set(in_cleo))
        peak.stop()
        listening = listening_tcp(agents_proc.pid)
        to_hub = connections_to(agents_proc.pid, agents_port)
        hub_db = connections_to(hub.pid, int(url.rsplit(":", 1)[1].split("/")[0]))
        if agents_proc.stdin:
            agents_proc.stdin.close()
        with suppress(subprocess.TimeoutExpired):
            agents_proc.wait(30)
        agents_log = (work / "agents.log").read_text()
        tunnels = [line for line in agents_log.splitlines() if line.startswith("agents:")]
        hub_log = (work / "hub.log").read_text()
        print(
            f"at the end: agents' process listening TCP sockets: {listening or 'none'}, {to_hub} connection(s) to "
            f"the hub; {tunnels[-1] if tunnels else 'agents: no summary (see agents.log)'}, "
            f"{agents_log.count('agent.call')} Sage call(s) served over the tunnels; hub refused "
            f"{hub_log.count('hub.agent_refused')} agent connection(s) and holds {hub_db} database connection(s)",
            flush=True,
        )
        if listening:
            violations += 1  # an agent that listens is not outbound-only; never report such a run as clean
        if args.probe:
            for process in workers.values():
                _stop(process)  # each probed worker writes its counts at exit
            print_probe(work, list(workers), sum(len(v) for v in created.values()))
        logs = {name: (work / f"{name}.log").read_text() for name in workers}
        recovered = sum(logs[name].count(f"worker {victim} silent") for name in workers if name != victim)
        live_claimed = sum(logs[n].count(f"worker {w} silent") for n in workers for w in workers if w != victim)
        print(
            f"phase 1: {sum(len(v) for v in phase1.values())} POs, p50 {percentile(unloaded, 50):.2f} s, "
            f"p95 {percentile(unloaded, 95):.2f} s; phase 2: {phase2_pos} POs ({args.burst} burst) in "
            f"{last - phase2_start:.0f} s, quiet p50 {percentile(quiet, 50):.2f} s, p95 {percentile(quiet, 95):.2f} s; "
            f"{victim} killed, its lease claimed {recovered} time(s), live workers' leases claimed {live_claimed} "
            f"time(s) (heartbeats late under load); "
            f"quiet/unloaded p95 ratio {percentile(quiet, 95) / percentile(unloaded, 95):.2f}",
            flush=True,
        )
        print(
            f"tenants={args.tenants} workers={args.workers} pos_per_s={phase2_pos / (last - phase2_start):.1f} "
            f"quiet_p95_latency_s={percentile(quiet, 95):.2f} unloaded_p95_latency_s={percentile(unloaded, 95):.2f} "
            f"isolation_violations={violations} duplicates={duplicates} lost={lost} "
            f"worker_peak_rss_mb={peak.peak_kb / 1024:.0f}",
            flush=True,
        )
        return 0 if complete1 and complete2 and not listening else 1


def print_probe(work: Path, names: list[str], pos: int) -> None:
    """Every probed worker's counts added up (the killed one's as of its last dump): per call of each wrapped stage
    (wall, CPU of its thread, SQL statements by schema) and per PO sent in the run."""
    total: dict[str, dict[str, float]] = {"seconds": {}, "calls": {}, "sql": {}, "cpu": {}}
    cpu = wall = 0.0
    for name in names:
        path = work / f"{name}.probe.json"
        if not path.exists():
            continue
        data = json.loads(path.read_text())
        cpu += data["cpu_s"]
        wall = max(wall, data["wall_s"])
        for part in total:
            for key, value in data.get(part, {}).items():
                total[part][key] = total[part].get(key, 0) + value
    per = max(pos, 1)
    print(f"probe: {pos} POs sent; workers' CPU {cpu:.0f} s = {cpu / per * 1000:.0f} ms per PO (wall {wall:.0f} s)")
    sql = total["sql"]
    for key, value in sorted(total["seconds"].items(), key=lambda kv: -kv[1]):
        n = max(total["calls"].get(key, 0), 1)
        statements = ", ".join(
            f"{k.split(':')[1]} {v / n:.1f}" for k, v in sorted(sql.items()) if k.startswith(f"{key}:")
        )
        print(
            f"probe:   {key:<12} {n:6.0f} call(s) ({n / per:4.2f} per PO): per call {value / n * 1000:6.1f} ms wall, "
            f"{total['cpu'].get(key, 0) / n * 1000:5.1f} ms CPU{', SQL ' + statements if statements else ''}"
        )
    engine = {k.split(":")[1]: v for k, v in sql.items() if k.startswith("engine:")}
    print(
        "probe:   outside those (DBOS scheduler, queues, workflow and step records, leases): SQL statements per PO "
        + ", ".join(f"{k} {v / per:.1f}" for k, v in sorted(engine.items()))
        + f"; all commits per PO {sql.get('commits', 0) / per:.1f}"
    )


# ------------------------------------------------------------------------------------------ the probed worker


def probe_worker(out: str, cli_args: list[str]) -> None:
    """Run `ml-connector <cli_args>` in this process, counting where a PO's cost goes; written to `out` every 5 s
    and at exit (JSON); with BENCH_SAMPLE set, a CPU-weighted stack sample of every thread in `out`.sample.

    Counted: wall seconds and calls of the wrapped stage functions (Sage read, collect step, X12 rendering, one
    outbox item, its Cleo post, DBOS tick/item workflows and steps), and every SQL statement and commit by where it
    went (`dbos` = the engine's system tables, `platform` = registry and leases, `store` = a tenant's schema)."""
    import atexit
    import importlib.util

    from sqlalchemy import event
    from sqlalchemy.engine import Engine as SAEngine

    import mlconnector.flows.connector as connector_mod
    import mlconnector.flows.outbound as outbound_mod
    from mlconnector.cleo.client import CleoClient
    from mlconnector.flows.connector import Connector
    from mlconnector.sage.agent.client import AgentClient

    lock = threading.RLock()  # re-entered when a garbage-collected connection runs SQL inside count()
    seconds: dict[str, float] = {}
    calls: dict[str, int] = {}
    sql: dict[str, int] = {}
    cpu_seconds: dict[str, float] = {}

    def count(table: dict[str, Any], name: str, value: float = 1) -> None:
        with lock:
            table[name] = table.get(name, 0) + value

    local = threading.local()

    def timed(name: str, fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            outer = getattr(local, "stage", None)
            local.stage = outer or name  # SQL is counted under the outermost wrapped call of its thread
            start, cpu = time.perf_counter(), time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                local.stage = outer
                count(seconds, name, time.perf_counter() - start)
                count(cpu_seconds, name, time.thread_time() - cpu)
                count(calls, name)

        wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
        return wrapper

    AgentClient.changed_purchase_orders = timed("sage_read", AgentClient.changed_purchase_orders)  # type: ignore[method-assign]
    Connector.collect_purchase_orders = timed("collect_pos", Connector.collect_purchase_orders)  # type: ignore[method-assign]
    Connector.send_outbound = timed("send_item", Connector.send_outbound)  # type: ignore[method-assign]
    CleoClient.send_document = timed("cleo_post", CleoClient.send_document)  # type: ignore[method-assign]
    outbound_mod.document_for = timed("x12", outbound_mod.document_for)
    outbound_mod.write_interchange = timed("x12", outbound_mod.write_interchange)
    connector_mod.stage = timed("stage_one", connector_mod.stage)  # type: ignore[attr-defined]

    def classify(statement: str) -> str:
        text = statement.lower()
        if "dbos" in text:
            return "dbos"
        if "platform" in text:
            return "platform"
        return "store"

    @event.listens_for(SAEngine, "before_cursor_execute")
    def _statement(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        count(sql, f"{getattr(local, 'stage', None) or 'engine'}:{classify(statement)}")

    @event.listens_for(SAEngine, "commit")
    def _commit(conn: Any) -> None:
        count(sql, "commits")

    start = time.time()

    def dump() -> None:
        import resource

        with lock:
            data = {
                "wall_s": time.time() - start,
                "cpu_s": sum(resource.getrusage(resource.RUSAGE_SELF)[:2]),
                "seconds": dict(seconds),
                "calls": dict(calls),
                "sql": dict(sql),
                "cpu": dict(cpu_seconds),
                "threads": threading.active_count(),
            }
        Path(out + ".tmp").write_text(json.dumps(data))
        os.replace(out + ".tmp", out)

    def every() -> None:
        while True:
            time.sleep(5)
            with suppress(Exception):
                dump()

    threading.Thread(target=every, daemon=True, name="bench-probe").start()
    atexit.register(dump)
    if os.environ.get("BENCH_SAMPLE"):
        # Off by default: on CPython 3.11 sys._current_frames() can deadlock a busy process (it holds the runtime's
        # thread-state lock while allocating; a garbage collection freeing a threading.local then waits for that
        # lock with the GIL held) — it hung two of three 50-tenant workers.
        spec = importlib.util.spec_from_file_location("bench_outbound", Path(__file__).with_name("outbound.py"))
        assert spec and spec.loader
        outbound_bench = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(outbound_bench)
        sampler = outbound_bench.StackSampler(Path(out + ".sample"))
        atexit.register(sampler.stop)
    sys.argv = ["ml-connector", *cli_args]
    from mlconnector.cli import main as cli_main

    cli_main()


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _drop(admin: Any, database: str) -> None:
    from sqlalchemy import text

    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    admin.dispose()


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--probe-worker":
        probe_worker(sys.argv[2], sys.argv[3:])
    elif len(sys.argv) > 1 and sys.argv[1] == "--serve-agents":
        serve_agents(Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5])
    else:
        sys.exit(main(sys.argv[1:]))
