"""Real processes for the tunnel: `ml-connector hub serve` and `ml-connector agent connect`, each with its own log."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from mlconnector.sage.agent.client import AgentClient
from mlconnector.sage.agent.tls import AgentFiles, init_agent
from mlconnector.sage.sim.script import SimBackend
from mlconnector.tunnel.service import HubFiles

USER, PASSWORD, COMPANY = "ml", "ml-demo", "ABC"
CLI = [sys.executable, "-m", "mlconnector"]


@dataclass
class Proc:
    """A child process whose stdout and stderr go to `log`."""

    argv: list[str]
    log: Path
    prefix: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([*self.prefix, *self.argv], stdout=out, stderr=subprocess.STDOUT, env=env)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_for(self, pattern: str, timeout: float = 90.0, count: int = 1) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while True:
            found = list(re.finditer(pattern, self.output()))
            if len(found) >= count:
                return found[count - 1]
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"process exited ({self.proc.returncode}) before {pattern!r}:\n{self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {pattern!r} within {timeout} s:\n{self.output()}")
            time.sleep(0.05)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> int:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode if self.proc is not None else 0


@dataclass
class Site:
    """One tenant's Sage company and agent identity."""

    tenant: str
    data: Path
    agent_dir: Path

    @property
    def files(self) -> AgentFiles:
        return AgentFiles(self.agent_dir)


def make_site(root: Path, tenant: str, purchase_orders: int = 6) -> Site:
    sim = SimBackend(root / tenant / "sage")
    sim.init_company(purchase_orders=purchase_orders)
    init_agent(root / tenant / "agent")
    return Site(tenant, root / tenant / "sage", root / tenant / "agent")


@dataclass
class HubProc:
    proc: Proc
    files: HubFiles
    keys: Path
    agents_port: int = 0
    relay_port: int = 0

    @property
    def agents_url(self) -> str:
        return f"wss://127.0.0.1:{self.agents_port}/agents"

    @property
    def relay_url(self) -> str:
        return f"https://127.0.0.1:{self.relay_port}"

    def register(self, site: Site, tenant: str | None = None) -> None:
        """Give the hub `site`'s agent key for `tenant` (what the vault or tenant registry would hold)."""
        path = self.keys / f"{tenant or site.tenant}.key"
        path.write_text(site.files.hmac_key_file.read_text())
        path.chmod(0o600)

    def client(
        self, site: Site, tenant: str | None = None, user: str = USER, password: str = PASSWORD, **options: Any
    ) -> AgentClient:
        options = {"wait_initial": 0.05, "wait_max": 0.2, "timeout": 30, **options}
        return AgentClient.via_hub(
            self.relay_url,
            tenant or site.tenant,
            self.files.token(),
            site.files.hmac_key(),
            user,
            password,
            COMPANY,
            hub_fingerprint=self.files.fingerprint(),
            **options,
        )


def start_hub(root: Path, agents_port: int = 0, relay_port: int = 0, log: str = "hub.log") -> HubProc:
    files = HubFiles(root / "hub").ensure()
    keys = root / "hub-keys"
    keys.mkdir(exist_ok=True)
    argv = [*CLI, "hub", "serve", "--dir", str(files.directory), "--agent-keys", str(keys)]
    argv += ["--agents-host", "0.0.0.0", "--agents-port", str(agents_port), "--relay-port", str(relay_port)]
    argv += ["--ping-interval", "2", "--ping-timeout", "10", "--request-timeout", "60"]
    proc = Proc(argv, root / log).start()
    hub = HubProc(proc, files, keys)
    try:
        hub.agents_port = int(proc.wait_for(r"agents on wss://[^:]+:(\d+)")[1])
        hub.relay_port = int(proc.wait_for(r"workers on https://[^:]+:(\d+)")[1])
        proc.wait_for("Application startup complete")
    except BaseException:
        proc.kill()  # not yet in the test's `stopping` list: never leave it running
        raise
    return hub


def agent_argv(site: Site, hub_url: str, *, tenant: str | None = None, trust: list[str] | None = None) -> list[str]:
    argv = [*CLI, "agent", "connect", "--hub", hub_url, "--tenant", tenant or site.tenant]
    argv += [*(trust or []), "--dir", str(site.agent_dir), "--data", str(site.data), "--ping-interval", "2"]
    return [*argv, "--ping-timeout", "10"]


def start_agent(site: Site, hub: HubProc, log: Path, **kwargs: Any) -> Proc:
    trust = kwargs.pop("trust", None) or ["--hub-fingerprint", hub.files.fingerprint()]
    prefix = kwargs.pop("prefix", [])
    url = kwargs.pop("hub_url", hub.agents_url)
    return Proc(agent_argv(site, url, trust=trust, **kwargs), log, prefix).start()


def connected(site: Site, root: Path, stopping: list[Proc], **agent: Any) -> tuple[HubProc, Proc]:
    """A hub that knows the site's key and the site's agent connected to it (both stopped after the test)."""
    hub = start_hub(root)
    stopping.append(hub.proc)
    hub.register(site)
    trust = agent.pop("trust", None)
    proc = start_agent(site, hub, root / "agent.log", trust=trust(hub) if callable(trust) else trust, **agent)
    stopping.append(proc)
    hub.proc.wait_for(rf"hub.agent_connected.*tenant={site.tenant}")
    return hub, proc


@pytest.fixture
def stopping() -> Iterator[list[Proc]]:
    """Processes a test started, stopped at the end whatever happened."""
    procs: list[Proc] = []
    yield procs
    for proc in reversed(procs):
        proc.kill()
