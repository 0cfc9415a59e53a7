"""Outbound throughput: POs from the simulated Sage company through the agent and the connector into the Cleo sandbox.

Run by hand (never from the tests):

    .venv/bin/python bench/outbound.py [--pos 10000] [--lines 10]

What runs, all as real processes on loopback (`mlconnector.demo.start_stack`, as `make demo` uses it):
- the agent (simulator backend, HTTPS, signed requests) serving company ABC from the simulator's SQLite file,
- the Cleo sandbox, with one simulated partner per vendor; every partner answer delay is set to ~11 days, so no
  997/855/856/810 is delivered during the run (the sandbox still writes and schedules a partner's answers when an
  850 arrives: that is part of each post's cost, in the Cleo stage and in the Cleo baseline alike),
- the connector, as its own process: `ml-connector sync now pos` (DBOS engine on SQLite, staging, sending).

Set-up (not timed, not counted): `--pos` POs of exactly `--lines` lines are bulk-inserted into the simulator's SQLite
(`bulk_purchase_orders`, vendors drawn from all 45). The demo leaves the last vendor unmapped; the benchmark maps it
too, so every PO is for a mapped vendor, none is held, and Cleo must end with exactly `--pos` 850s (checked).
`ml-connector sync now gl` runs once first so the GL cache (cost centres for REF*DP) is warm, as in steady state.

Counting (differences of counters read just before and just after the connector process):
- boi_calls_per_po: `boi_calls` of the agent's signed `GET /v1/health`, i.e. the BOI call counter of the very
  agent process that served the run (logon, service objects, browse/filter, result sets — every BOI call).
- cleo_calls_per_po: the sandbox's `GET /admin/tenants/demo/stats`: `requests` (every authenticated /api call:
  sends, partner look-ups, anything else) + `logins` (every /api/authentication). Requests refused for a bad or
  expired token would not be counted by the sandbox; the connector's own login count is printed alongside.
- peak_rss_mb: the connector process's own peak RSS, from `os.wait4()` on that one child (its ru_maxrss only, not a
  max over all children); cross-checked with /proc/PID/status VmHWM polled every 50 ms and with the child's own
  getrusage(RUSAGE_SELF) at exit.
- pos_per_s: POs / wall time of the connector process, from spawn to exit (start-up, DBOS launch and shutdown
  included).

Stage shares: the connector process is started through this file (`--probe`), which wraps a few functions with a
timer (a few microseconds per call) and then runs the unchanged `ml-connector sync now pos`. Wrapped:
`AgentClient.changed_purchase_orders` (Sage read: agent HTTP + BOI work in the agent + JSON/pydantic in the
connector), `Connector.collect_purchase_orders` (the collect step), `to_purchase_order` + `write_interchange` (X12
rendering), `Connector.send_outbound` (one outbox item) and `CleoClient.send_document` (the Cleo HTTP post),
`Engine.start`/`Engine.stop` (DBOS launch/shutdown). Each thread's time goes to the innermost wrapped call it is in
("staging: store" = the collect step outside the Sage read and X12 rendering: SQLAlchemy/SQLite, hashing, the
cursor and the pending-work query; "sending: store" = an item outside its Cleo post). The process wall time is then
split instant by instant: an instant where k wrapped calls are active (on any threads) gives 1/k to each one's
stage; instants where none is active are engine overhead (DBOS enqueueing, queue polling, checkpoints, workflow
bookkeeping and waiting) or, before DBOS launches, process start-up (interpreter, imports, store, vault). With
concurrent workers DBOS work running beside a send is credited to the send, so engine overhead is a lower bound;
the average number of items in flight during the send phase is printed to show how busy the workers were.
Baselines, measured in the same run after every count is taken: the raw agent read alone (the same
`changed_purchase_orders` call from this process, with its BOI calls) and raw Cleo posts alone (up to 200 stored
850s posted again under new ICNs by a plain `CleoClient`, one at a time and four at a time).

The engine's worker count and DBOS queue polling interval are the connector's own settings (`[engine] workers`,
`queue_poll_seconds`, as the stack's ml-connector.toml has them); the values used are printed with the results.
Experiments (not the default; printed when used): `--concurrency N` and `--queue-poll S` override them for the run
(as `MLC_ENGINE__WORKERS` / `MLC_ENGINE__QUEUE_POLL_SECONDS`), `--engine-wal` (DBOS's SQLite system database
switched to WAL before the run), and `--sample FILE` (a CPU-weighted stack sampler over every thread of the
connector process).

A run in which not every PO reached Cleo exits 1 and prints no rates: a rate over documents that were not sent
would be a false figure.
"""

from __future__ import annotations

import argparse
import atexit
import itertools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any

STAGES = (
    ("startup", "process start-up (imports, store, vault)"),
    ("engine_start", "engine: DBOS launch"),
    ("sage_read", "Sage read (agent changed_purchase_orders)"),
    ("x12", "staging: X12 rendering"),
    ("collect", "staging: store (SQLite, hashing, bookkeeping)"),
    ("cleo_post", "sending: Cleo HTTP post"),
    ("send_item", "sending: store (outbox row, audit)"),
    ("engine", "engine overhead (DBOS queue, checkpoints, waits)"),
    ("engine_stop", "engine: DBOS shutdown + exit"),
)
LONG_DELAY = 1_000_000.0  # seconds (~11 days): no partner answer is due during a run


# --------------------------------------------------------------------------------------------- the probed child


def probe(out: str, cli_args: list[str]) -> None:
    """Run `ml-connector <cli_args>` in this process with timers on the stage functions; write them to `out`."""
    import resource

    import mlconnector.engine.runtime as engine_mod
    import mlconnector.flows.outbound as outbound_mod
    from mlconnector.cleo.client import CleoClient
    from mlconnector.flows.connector import Connector
    from mlconnector.sage.agent.client import AgentClient

    events: list[tuple[str, int, float, float]] = []

    def timed(name: str, fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.time()
            try:
                return fn(*args, **kwargs)
            finally:
                events.append((name, threading.get_ident(), start, time.time()))

        return wrapper

    AgentClient.changed_purchase_orders = timed("sage_read", AgentClient.changed_purchase_orders)  # type: ignore[method-assign]
    Connector.collect_purchase_orders = timed("collect", Connector.collect_purchase_orders)  # type: ignore[method-assign]
    Connector.send_outbound = timed("send_item", Connector.send_outbound)  # type: ignore[method-assign]
    CleoClient.send_document = timed("cleo_post", CleoClient.send_document)  # type: ignore[method-assign]
    outbound_mod.document_for = timed("x12", outbound_mod.document_for)
    outbound_mod.write_interchange = timed("x12", outbound_mod.write_interchange)
    engine_mod.Engine.start = timed("engine_start", engine_mod.Engine.start)  # type: ignore[method-assign]
    engine_mod.Engine.stop = timed("engine_stop", engine_mod.Engine.stop)  # type: ignore[method-assign]

    logins: list[int] = []
    original_connect = CleoClient.connect

    def connect(*args: Any, **kwargs: Any) -> CleoClient:
        client = original_connect(*args, **kwargs)
        atexit.register(lambda: logins.append(client.logins))
        return client

    CleoClient.connect = connect  # type: ignore[method-assign]

    def dump() -> None:
        Path(out).write_text(
            json.dumps(
                {
                    "events": events,
                    "cleo_logins": sum(logins),
                    "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                }
            )
        )

    atexit.register(dump)  # registered first, so it runs after the login counters above
    if os.environ.get("BENCH_SAMPLE"):
        sampler = StackSampler(Path(os.environ["BENCH_SAMPLE"]))
        atexit.register(sampler.stop)
    sys.argv = ["ml-connector", *cli_args]
    from mlconnector.cli import main as cli_main

    cli_main()


class StackSampler:
    """A small sampling profiler (py-spy is not installed; cProfile sees one thread). Every `interval` s it takes the
    stack of every thread and weights it by the CPU time (/proc/self/task/TID/stat utime+stime) that thread used
    since the previous sample, so the counts say where the process's CPU goes, not where its threads wait."""

    def __init__(self, out: Path, interval: float = 0.02) -> None:
        self.out, self.interval = out, interval
        self.inclusive: dict[str, int] = {}
        self.exclusive: dict[str, int] = {}
        self.by_thread: dict[str, int] = {}
        self.ticks = 0
        self._last = {t.native_id: self._cpu(t.native_id) for t in threading.enumerate() if t.native_id is not None}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="bench-sampler")
        self._thread.start()

    @staticmethod
    def _cpu(native_id: int) -> int:
        try:
            fields = Path(f"/proc/self/task/{native_id}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0
        return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            frames = sys._current_frames()
            for thread in threading.enumerate():
                if thread is self._thread or thread.ident not in frames or thread.native_id is None:
                    continue
                cpu = self._cpu(thread.native_id)
                weight, self._last[thread.native_id] = cpu - self._last.get(thread.native_id, 0), cpu
                if weight <= 0:
                    continue
                self.ticks += weight
                name = thread.name.rstrip("0123456789_-")
                self.by_thread[name] = self.by_thread.get(name, 0) + weight
                seen: set[str] = set()
                f = frames[thread.ident]
                leaf = True
                while f is not None:
                    code = f.f_code
                    key = f"{code.co_filename.split('site-packages/')[-1]}:{code.co_firstlineno} {code.co_name}"
                    if leaf:
                        self.exclusive[key] = self.exclusive.get(key, 0) + weight
                        leaf = False
                    if key not in seen:
                        seen.add(key)
                        self.inclusive[key] = self.inclusive.get(key, 0) + weight
                    f = f.f_back

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

        def top(counts: dict[str, int], n: int = 70) -> list[str]:
            ranked = sorted(counts.items(), key=lambda kv: -kv[1])[:n]
            return [f"{c / max(self.ticks, 1):7.1%}  {key}" for key, c in ranked]

        hz = os.sysconf("SC_CLK_TCK")
        self.out.write_text(
            "\n".join(
                [
                    f"{self.ticks / hz:.1f} CPU seconds sampled",
                    "",
                    "by thread:",
                    *top(self.by_thread, 20),
                    "",
                    "inclusive:",
                    *top(self.inclusive),
                    "",
                    "exclusive:",
                    *top(self.exclusive),
                ]
            )
        )


# ---------------------------------------------------------------------------------------------- measurement


def attribute(events: list[list[Any]], start: float, end: float) -> tuple[dict[str, float], dict[str, float]]:
    """Seconds of [start, end] per stage (innermost wrapped call per thread, 1/k shares across k threads)."""
    by_thread: dict[int, list[tuple[float, float, str]]] = {}
    for name, thread, t0, t1 in events:
        by_thread.setdefault(thread, []).append((t0, t1, name))
    # Per thread: the innermost interval covering each instant (intervals nest within a thread).
    segments: list[tuple[float, float, str]] = []
    for intervals in by_thread.values():
        intervals.sort(key=lambda x: (x[0], -x[1]))
        points = sorted({t for t0, t1, _ in intervals for t in (t0, t1)})
        stack: list[tuple[float, float, str]] = []
        i = 0
        for a, b in itertools.pairwise(points):
            while i < len(intervals) and intervals[i][0] <= a:
                stack.append(intervals[i])
                i += 1
            stack = [s for s in stack if s[1] > a]
            if stack:
                inner = max(stack, key=lambda s: s[0])
                segments.append((a, b, inner[2]))
    # Across threads: sweep over all segment boundaries.
    marks: list[tuple[float, int, str]] = []
    for a, b, name in segments:
        marks += [(a, 1, name), (b, -1, name)]
    marks.sort(key=lambda m: (m[0], m[1]))
    seconds: dict[str, float] = {}
    active: dict[str, int] = {}
    engine_started = min((e[2] for e in events if e[0] == "engine_start"), default=start)
    last = start
    for t, delta, name in [*marks, (end, 0, "")]:
        t = min(max(t, start), end)
        span = t - last
        if span > 0:
            k = sum(active.values())
            if k:
                for stage, n in active.items():
                    if n:
                        seconds[stage] = seconds.get(stage, 0.0) + span * n / k
            else:
                idle_before = max(0.0, min(t, engine_started) - last)
                seconds["startup"] = seconds.get("startup", 0.0) + idle_before
                seconds["engine"] = seconds.get("engine", 0.0) + span - idle_before
        last = t
        if name:
            active[name] = active.get(name, 0) + delta
    # Send phase: from the end of the collect step to the end of the last item.
    collect_end = max((e[3] for e in events if e[0] == "collect"), default=start)
    items = [(e[2], e[3]) for e in events if e[0] == "send_item"]
    phase: dict[str, float] = {}
    if items:
        last_item = max(b for _, b in items)
        phase["send_phase_s"] = last_item - collect_end
        phase["items_in_flight"] = sum(b - a for a, b in items) / max(last_item - collect_end, 1e-9)
    phase["collect_s"] = sum(e[3] - e[2] for e in events if e[0] == "collect")
    phase["sage_read_s"] = sum(e[3] - e[2] for e in events if e[0] == "sage_read")
    return seconds, phase


class PeakPoller:
    """Polls /proc/PID/status VmHWM (the kernel's own high-water mark) until the process exits."""

    def __init__(self, pid: int) -> None:
        self.pid, self.vm_hwm_kb = pid, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        status = Path(f"/proc/{self.pid}/status")
        while not self._stop.is_set():
            try:
                for line in status.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        self.vm_hwm_kb = max(self.vm_hwm_kb, int(line.split()[1]))
            except (OSError, ValueError):
                return
            self._stop.wait(0.05)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def agent_health(stack: Any, agent_url: str) -> dict[str, Any]:
    """The agent's signed `GET /v1/health` (its BOI call counter)."""
    import httpx

    from mlconnector.sage.agent.client import pinned_context
    from mlconnector.sage.agent.signing import signed_headers

    key, fingerprint = stack.agent_files.hmac_key(), stack.agent_files.fingerprint()
    with httpx.Client(base_url=agent_url, verify=pinned_context(fingerprint), timeout=30) as http:
        response = http.get("/v1/health", headers=signed_headers(key, "GET", "/v1/health", b""))
        response.raise_for_status()
        return response.json()


def run_connector(
    stack: Any, args: list[str], probe_file: Path, log: Path, extra_env: dict[str, str] | None = None
) -> dict[str, Any]:
    """The connector as its own process (same command, env and cwd as `Stack.connector`), measured."""
    started = time.time()
    with log.open("wb") as out:
        child = subprocess.Popen(
            [sys.executable, "-P", str(Path(__file__).resolve()), "--probe", str(probe_file), *args],
            env={**os.environ, **stack.connector_env(), **(extra_env or {})},
            cwd=stack.config.parent,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        poller = PeakPoller(child.pid)
        _, status, usage = os.wait4(child.pid, 0)
        ended = time.time()
        poller.stop()
        child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"`ml-connector {' '.join(args)}` failed ({child.returncode}):\n{log.read_text()[-3000:]}")
    measured = json.loads(probe_file.read_text())
    return {
        "wall": ended - started,
        "start": started,
        "end": ended,
        "wait4_maxrss_kb": usage.ru_maxrss,
        "vm_hwm_kb": poller.vm_hwm_kb,
        **measured,
    }


def cleo_alone(stack: Any, count: int, workers: int, offset: int) -> tuple[float, float]:
    """Post `count` stored interchanges again under new ICNs (9xxxxxxxx) straight from a CleoClient, `workers` at a
    time: (posts per second, mean ms per post). Run after every count is taken; the sandbox gains these messages."""
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import select

    from mlconnector.cleo import CleoClient, CleoCredentials
    from mlconnector.cleo.client import interchange_control_number
    from mlconnector.demo import TENANT
    from mlconnector.store.models import OutboundDocument

    with stack.store.transaction() as session:
        rows = session.execute(
            select(OutboundDocument.partner, OutboundDocument.payload).where(OutboundDocument.status == "sent")
        ).all()[offset : offset + count]
    jobs = []
    for i, (partner, payload) in enumerate(rows):
        icn = interchange_control_number(payload)
        new = f"{900_000_000 + offset + i:09d}"
        jobs.append((partner, payload.replace(f"*{icn}*", f"*{new}*").replace(f"IEA*1*{icn}", f"IEA*1*{new}"), new))
    credentials = CleoCredentials(TENANT, stack.cleo_password, None)
    with CleoClient.connect(stack.cleo_url, credentials, ca_file=stack.cleo_ca_file) as cleo:
        cleo.list_partners(alias=jobs[0][0])  # log in before the clock starts
        durations: list[float] = []

        def post(job: tuple[str, str, str]) -> None:
            t0 = time.perf_counter()
            result = cleo.send_document(job[0], job[1], icn=job[2])
            durations.append(time.perf_counter() - t0)
            assert not result.already_sent

        t0 = time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(post, jobs))
        wall = time.perf_counter() - t0
    return len(jobs) / wall, 1000 * sum(durations) / len(durations)


def experiment_env(args: argparse.Namespace) -> dict[str, str]:
    env = {}
    if args.sample:
        env["BENCH_SAMPLE"] = str(args.sample.resolve())
    if args.concurrency:
        env["MLC_ENGINE__WORKERS"] = str(args.concurrency)
    if args.queue_poll:
        env["MLC_ENGINE__QUEUE_POLL_SECONDS"] = str(args.queue_poll)
    return env


def engine_settings(config: Path, args: argparse.Namespace) -> tuple[int, float]:
    """The worker count and queue polling the connector process runs with: its config file, then the experiment."""
    from mlconnector.config import EngineSettings

    engine = EngineSettings(**tomllib.loads(config.read_text()).get("engine", {}))
    return args.concurrency or engine.workers, args.queue_poll or engine.queue_poll_seconds


def incomplete(pos: int, sent: int, held: int, in_cleo: int) -> str | None:
    """Why the run does not count (every PO must be sent and in Cleo), or None."""
    if sent == pos and in_cleo == pos:
        return None
    return f"INCOMPLETE RUN: {pos} POs generated, {sent} sent, {held} held, {in_cleo} in Cleo; no rate is printed"


def require_complete(pos: int, sent: int, held: int, in_cleo: int, log: Path) -> None:
    """Stop the run (exit 1, no rates) unless every PO was sent and is in Cleo; say why, with the log's tail."""
    problem = incomplete(pos, sent, held, in_cleo)
    if problem:
        print(problem, file=sys.stderr)
        log_tail = log.read_text()[-2000:] if log.exists() else "(no log)"
        print(f"last lines of the connector's log:\n{log_tail}", file=sys.stderr)
        raise SystemExit(1)


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pos", type=int, default=10_000)
    ap.add_argument("--lines", type=int, default=10)
    ap.add_argument("--workdir", type=Path, help="keep the stack's files here (default: a temporary directory)")
    ap.add_argument("--concurrency", type=int, help="experiment: the engine's worker count ([engine] workers)")
    ap.add_argument("--queue-poll", type=float, help="experiment: DBOS queue polling ([engine] queue_poll_seconds)")
    ap.add_argument("--engine-wal", action="store_true", help="experiment: DBOS's SQLite system database in WAL mode")
    ap.add_argument("--sample", type=Path, help="also sample the connector's stacks (all threads) into this file")
    args = ap.parse_args(argv)

    from sqlalchemy import func, select

    from mlconnector.cleo.sandbox.server import SandboxAdmin
    from mlconnector.demo import DEMO_DELAYS, TENANT, cleo_outbound_count, demo_environment, start_stack
    from mlconnector.sage.agent.client import AgentClient
    from mlconnector.sage.sim.seed import DEMO_USERS, bulk_purchase_orders
    from mlconnector.store.models import OutboundDocument
    from mlconnector.store.ops import map_vendor

    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp) / "stack"
        with demo_environment(workdir) as processes:
            stack = start_stack(workdir, processes, partner_delays=dict.fromkeys(DEMO_DELAYS, LONG_DELAY))
            with stack.store.transaction() as session:
                map_vendor(session, stack.unmapped, stack.aliases[stack.unmapped])
            agent_url = tomllib.loads(stack.config.read_text())["agent"]["url"]

            t0 = time.perf_counter()
            conn = stack.sim.connect()
            bulk_purchase_orders(conn, args.pos, rng_seed=5, when=datetime.now(), lines=args.lines)
            conn.close()
            print(f"seeded {args.pos} POs x {args.lines} lines in {time.perf_counter() - t0:.1f} s", flush=True)

            gl = stack.connector("sync", "now", "gl")
            if gl.returncode != 0:
                raise RuntimeError(f"sync now gl failed:\n{gl.stdout}\n{gl.stderr}")

            if args.engine_wal:  # journal_mode is stored in the file: DBOS opens it in WAL mode from now on
                import sqlite3

                with sqlite3.connect(stack.config.parent / "var" / "engine.sqlite") as engine_db:
                    engine_db.execute("PRAGMA journal_mode=WAL")
            workers, queue_poll = engine_settings(stack.config, args)
            admin = SandboxAdmin(stack.cleo_url, TENANT, ca_file=stack.cleo_ca_file)
            boi_before, cleo_before = agent_health(stack, agent_url)["boi_calls"], admin.stats()
            print("running `ml-connector sync now pos` …", flush=True)
            run = run_connector(
                stack,
                ["sync", "now", "pos"],
                workdir / "probe.json",
                workdir / "logs" / "connector-bench.log",
                experiment_env(args),
            )
            boi_after, cleo_after = agent_health(stack, agent_url)["boi_calls"], admin.stats()
            admin.close()

            def delta(name: str) -> int:
                return int(cleo_after.get(name, 0)) - int(cleo_before.get(name, 0))

            with stack.store.transaction() as session:
                sent = session.scalar(
                    select(func.count()).select_from(OutboundDocument).where(OutboundDocument.status == "sent")
                )
                held = session.scalar(
                    select(func.count()).select_from(OutboundDocument).where(OutboundDocument.status == "held")
                )
            in_cleo = cleo_outbound_count(stack)
            require_complete(
                args.pos, int(sent or 0), int(held or 0), in_cleo, workdir / "logs" / "connector-bench.log"
            )

            # Baseline: the raw agent read alone, from this process, against the same agent and data.
            with AgentClient(
                agent_url,
                stack.agent_files.hmac_key(),
                stack.agent_files.fingerprint(),
                "ml",
                DEMO_USERS["ml"],
                "ABC",
                timeout=600,
            ) as sage:
                b0, t0 = agent_health(stack, agent_url)["boi_calls"], time.perf_counter()
                baseline = sage.changed_purchase_orders(None)
                read_s, read_boi = time.perf_counter() - t0, agent_health(stack, agent_url)["boi_calls"] - b0
            n = min(200, args.pos // 2)
            cleo_seq = cleo_alone(stack, n, 1, 0)
            cleo_par = cleo_alone(stack, n, 4, n)
            stack.store.close()

    pos = args.pos
    seconds, phase = attribute(run["events"], run["start"], run["end"])
    boi, requests, logins = boi_after - boi_before, delta("requests"), delta("logins")
    peak_kb = max(run["wait4_maxrss_kb"], run["vm_hwm_kb"], run["maxrss_kb"])
    print()
    print(f"{'stage':<52}{'seconds':>10}{'share':>8}")
    for key, label in STAGES:
        s = seconds.get(key, 0.0)
        print(f"{label:<52}{s:>10.2f}{s / run['wall']:>8.1%}")
    print(f"{'total (connector process wall time)':<52}{run['wall']:>10.2f}{sum(seconds.values()) / run['wall']:>8.1%}")
    print()
    print(
        f"collect step {phase['collect_s']:.1f} s (Sage read {phase['sage_read_s']:.1f} s); send phase "
        f"{phase.get('send_phase_s', 0):.1f} s, {phase.get('items_in_flight', 0):.2f} items in flight on average"
    )
    print(
        f"baseline: raw agent read alone {read_s:.1f} s for {len(baseline.items)} POs, {read_boi} BOI calls "
        f"({len(baseline.items) / max(read_s, 1e-9):.0f} POs/s)"
    )
    print(
        f"baseline: raw Cleo posts alone ({n} stored 850s re-posted under new ICNs after the run): "
        f"{cleo_seq[0]:.0f} posts/s one at a time ({cleo_seq[1]:.0f} ms each), "
        f"{cleo_par[0]:.0f} posts/s four at a time ({cleo_par[1]:.0f} ms each)"
    )
    print(
        f"POs: {pos} generated, all for mapped vendors (the demo's unmapped vendor {stack.unmapped} is mapped here), "
        f"{sent} sent, {held} held; Cleo holds {in_cleo} outbound messages"
    )
    print(
        f"Cleo calls: {requests} API requests + {logins} logins (connector counted {run['cleo_logins']} logins); "
        f"partner answers delayed {LONG_DELAY:.0f} s, so no partner simulation ran"
    )
    print(
        f"peak RSS of the connector: wait4 {run['wait4_maxrss_kb'] / 1024:.1f} MB, VmHWM {run['vm_hwm_kb'] / 1024:.1f}"
        f" MB, self {run['maxrss_kb'] / 1024:.1f} MB"
    )
    print(
        f"engine: {workers} workers, DBOS queue polling {queue_poll} s, DBOS system database journal "
        f"{'WAL' if args.engine_wal else 'default (rollback journal)'}"
    )
    if args.concurrency or args.queue_poll or args.engine_wal:
        print("EXPERIMENT: the engine settings above differ from the connector's configuration")
    print(
        f"pos_per_s={pos / run['wall']:.1f} boi_calls_per_po={boi / pos:.4f} "
        f"cleo_calls_per_po={(requests + logins) / pos:.4f} peak_rss_mb={peak_kb / 1024:.1f}"
    )


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--probe":
        probe(sys.argv[2], sys.argv[3:])
    else:
        main(sys.argv[1:])
