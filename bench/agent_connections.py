"""A signed request to a real agent process while idle connections are held open, against the same request on a quiet
agent in the same run.

Run by hand (never from the tests):  .venv/bin/python bench/agent_connections.py [--tls 300] [--tcp 900] [--rounds 20]

Starts `ml-connector agent serve` (simulator, free port), times `--rounds` signed `purchase_order` calls, each on a
new pinned client (TLS handshake included), first on the quiet agent, then while `--tls` handshaken-but-silent and
`--tcp` never-handshaken connections are held. Prints the median of each, their ratio, and deterministic counts: the
connections the agent keeps open (its cap) and how many of the held ones it has closed after its deadlines.
"""

from __future__ import annotations

import argparse
import resource
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from mlconnector.sage.agent.client import AgentClient
from mlconnector.sage.agent.tls import AgentFiles, init_agent
from mlconnector.sage.sim.script import SimBackend

EXE = str(Path(sys.executable).with_name("ml-connector"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def timed_calls(port: int, files: AgentFiles, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        with AgentClient(
            f"https://127.0.0.1:{port}", files.hmac_key(), files.fingerprint(), "ml", "ml-demo", "ABC", attempts=1
        ) as client:
            client.purchase_order("0000001")
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def closed(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except (BlockingIOError, ssl.SSLWantReadError):
        return False
    except OSError:
        return True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tls", type=int, default=300)
    parser.add_argument("--tcp", type=int, default=900)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=10.0, help="the agent's handshake and header deadlines")
    args = parser.parse_args()
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        SimBackend(work / "sage").init_company(purchase_orders=3)
        files = init_agent(work / "agent")
        port = free_port()
        command = [EXE, "agent", "serve", "--backend", "simulator", "--dir", str(files.directory)]
        command += ["--data", str(work / "sage"), "--port", str(port)]
        command += ["--handshake-timeout", str(args.timeout), "--header-timeout", str(args.timeout)]
        agent = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            timed_calls(port, files, 1)  # the first call opens the BOI session: not part of either figure
            quiet = timed_calls(port, files, args.rounds)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
            held = [ctx.wrap_socket(socket.create_connection(("127.0.0.1", port))) for _ in range(args.tls)]
            held += [socket.create_connection(("127.0.0.1", port)) for _ in range(args.tcp)]
            held_since = time.monotonic()
            time.sleep(0.5)
            open_at_agent = len(psutil.Process(agent.pid).net_connections(kind="tcp")) - 1  # minus the listener
            busy = timed_calls(port, files, args.rounds)
            time.sleep(max(0.0, held_since + args.timeout + 2 - time.monotonic()))
            still_open = sum(not closed(s) for s in held)
        finally:
            agent.send_signal(signal.SIGTERM)
            agent.wait(30)
    print(f"signed request, new pinned client each: quiet {quiet * 1000:.1f} ms, with {args.tls + args.tcp} held")
    print(f"connections {busy * 1000:.1f} ms (median of {args.rounds}); ratio held/quiet {busy / quiet:.2f}")
    print(f"held={args.tls + args.tcp} open_at_agent={open_at_agent} still_open_after_deadline={still_open}")


if __name__ == "__main__":
    main()
