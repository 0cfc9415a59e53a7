"""A PO read through the hub and the agent's outbound tunnel, against the same read straight to the agent's HTTPS port
in the same run.

Run by hand (never from the tests):  .venv/bin/python bench/tunnel.py [--rounds 200] [--concurrency 8]

Starts, as real processes on loopback: `ml-connector agent serve` (direct), then `ml-connector hub serve` and
`ml-connector agent connect` (tunnel), all on one simulated company. One kept-alive pinned client each side times
`--rounds` signed `purchase_order` calls one after another, then the same number spread over `--concurrency` threads.
Prints the median and p95 per call, the tunnel/direct ratios, and deterministic counts (BOI calls per read on each
path, which must be equal: the tunnel adds transport, never Sage work).
"""

from __future__ import annotations

import argparse
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mlconnector.sage.agent.client import AgentClient
from mlconnector.sage.agent.signing import signed_headers
from mlconnector.sage.agent.tls import init_agent
from mlconnector.sage.sim.script import SimBackend
from mlconnector.tunnel.service import HubFiles

EXE = str(Path(sys.executable).with_name("ml-connector"))
USER, PASSWORD, COMPANY = "ml", "ml-demo", "ABC"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen([EXE, *argv], stdout=out, stderr=subprocess.STDOUT)


def wait_until(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not happen within {timeout} s")
        time.sleep(0.05)


def answers(client: AgentClient) -> bool:
    try:
        client.purchase_order("0000001")
    except Exception:
        return False
    return True


def timings(client: AgentClient, rounds: int, concurrency: int) -> tuple[list[float], list[float]]:
    def one(_: int) -> float:
        started = time.perf_counter()
        client.purchase_order("0000001")
        return time.perf_counter() - started

    serial = [one(i) for i in range(rounds)]
    with ThreadPoolExecutor(concurrency) as pool:
        parallel = list(pool.map(one, range(rounds)))
    return serial, parallel


def boi_calls(client: AgentClient) -> int:
    """BOI calls the agent has made so far, from its signed health answer (the same request on both paths)."""
    headers = signed_headers(client._key, "GET", "/v1/health", b"")
    return int(client._http.get("/v1/health", headers=headers).json()["boi_calls"])


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-tunnel-"))
    sim = SimBackend(root / "sage")
    sim.init_company(purchase_orders=3)
    files = init_agent(root / "agent")
    hub_files = HubFiles(root / "hub").ensure()
    (root / "keys").mkdir()
    (root / "keys" / "abc.key").write_text(files.hmac_key_file.read_text())
    agent_port, agents_port, relay_port = free_port(), free_port(), free_port()
    common = ["--dir", str(files.directory), "--data", str(sim.data_dir)]
    hub = ["hub", "serve", "--dir", str(hub_files.directory), "--agent-keys", str(root / "keys")]
    hub += ["--agents-host", "127.0.0.1", "--agents-port", str(agents_port), "--relay-port", str(relay_port)]
    procs = [
        start(["agent", "serve", *common, "--port", str(agent_port)], root / "direct.log"),
        start(hub, root / "hub.log"),
    ]
    try:
        wait_until(lambda: f":{relay_port}" in (root / "hub.log").read_text(), "the hub start")
        hub_url = f"wss://127.0.0.1:{agents_port}/agents"
        trust = ["--hub-fingerprint", hub_files.fingerprint()]
        procs.append(start(["agent", "connect", "--hub", hub_url, "--tenant", "abc", *trust, *common], root / "t.log"))
        direct = AgentClient(
            f"https://127.0.0.1:{agent_port}", files.hmac_key(), files.fingerprint(), USER, PASSWORD, COMPANY
        )
        tunnel = AgentClient.via_hub(
            f"https://127.0.0.1:{relay_port}",
            "abc",
            hub_files.token(),
            files.hmac_key(),
            USER,
            PASSWORD,
            COMPANY,
            hub_fingerprint=hub_files.fingerprint(),
        )
        wait_until(lambda: answers(direct), "a direct answer")
        wait_until(lambda: answers(tunnel), "an answer through the hub")
        results, boi = {}, {}
        for name, client in (("direct", direct), ("tunnel", tunnel)):
            before = boi_calls(client)
            results[name] = timings(client, args.rounds, args.concurrency)
            boi[name] = (boi_calls(client) - before) / (2 * args.rounds)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(15)
    (d_serial, d_par), (t_serial, t_par) = results["direct"], results["tunnel"]
    for label, d, t in (("serial", d_serial, t_serial), (f"concurrent x{args.concurrency}", d_par, t_par)):
        print(
            f"{label:16} direct median={statistics.median(d) * 1000:.2f}ms p95={p95(d) * 1000:.2f}ms | "
            f"tunnel median={statistics.median(t) * 1000:.2f}ms p95={p95(t) * 1000:.2f}ms | "
            f"ratio median={statistics.median(t) / statistics.median(d):.2f} p95={p95(t) / p95(d):.2f}"
        )
    print(
        f"rounds={args.rounds} concurrency={args.concurrency} "
        f"serial_median_ratio={statistics.median(t_serial) / statistics.median(d_serial):.2f} "
        f"tunnel_extra_ms={(statistics.median(t_serial) - statistics.median(d_serial)) * 1000:.2f} "
        f"boi_calls_per_read_direct={boi['direct']:g} boi_calls_per_read_tunnel={boi['tunnel']:g}"
    )


if __name__ == "__main__":
    main()
