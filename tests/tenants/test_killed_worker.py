"""Scale-out end to end: two real `ml-connector run` workers (hosted = true) on one PostgreSQL serve two tenants,
each with its own simulated Sage behind its own agent and its own Cleo sandbox. One worker SIGKILLs itself right
after an 850 reached Cleo and before it was recorded (the most dangerous moment); the other worker — a different
executor id, nothing restarted — claims the dead worker's lease, recovers its unfinished workflows, and every PO of
both tenants reaches its own Cleo exactly once."""

from __future__ import annotations

import base64
import re
import signal
import socket
import time
import tomllib
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from mlconnector.demo import (
    SAGE_USER,
    Processes,
    Stack,
    cleo_outbound_messages,
    create_purchase_orders,
    start_stack,
)
from mlconnector.sage.sim.seed import DEMO_USERS
from mlconnector.store.models import OutboundDocument
from mlconnector.store.ops import map_vendor

from .hosting import Hosted

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
POS = 12  # per tenant
LEASE = 5


def _register(hosted: Hosted, tenant: str, stack: Stack, tmp_path: Path) -> None:
    """`tenants add` with the stack's agent and Cleo, credentials and mapping in the tenant's own vault and schema."""
    own = tomllib.loads(stack.config.read_text())
    config = tmp_path / f"{tenant}.toml"
    config.write_text(
        f'sage_company = "ABC"\n[agent]\nurl = "{own["agent"]["url"]}"\nfingerprint = "{own["agent"]["fingerprint"]}"\n'
        "timeout_seconds = 5\n"
        f'[cleo]\nbase_url = "{own["cleo"]["base_url"]}"\nca_file = "{own["cleo"]["ca_file"]}"\ntimeout_seconds = 5\n'
        "[schedule]\npurchase_orders_seconds = 2\ninbound_seconds = 30\nvendors_seconds = 30\ngl_seconds = 30\n"
        "[retry]\nfirst_seconds = 1\nmax_seconds = 4\n"
    )
    added = hosted.cli("tenants", "add", tenant, "--config", str(config))
    assert added.exit_code == 0, added.output
    vault = hosted.vault(tenant)
    vault.put("sage", {"user": SAGE_USER, "password": DEMO_USERS[SAGE_USER], "company": "ABC"})
    vault.put("cleo", {"username": "demo", "password": stack.cleo_password})
    vault.put("agent", {"key": base64.b64encode(stack.agent_files.hmac_key()).decode()})
    with hosted.store(tenant).transaction() as session:
        for vendor, alias in stack.aliases.items():
            if vendor != stack.unmapped:
                map_vendor(session, vendor, alias)


def _pos_in_cleo(stack: Stack) -> Counter[str]:
    found: Counter[str] = Counter()
    for message in cleo_outbound_messages(stack):
        payload = message["payload"]
        element = payload[3]
        po = re.search(rf"BEG\{element}\d\d\{element}[A-Z]{{2}}\{element}([^\{element}~\n]+)", payload)
        if po:
            found[po.group(1)] += 1
    return found


def _pending(hosted: Hosted, tenant: str) -> int:
    with hosted.store(tenant).transaction() as session:
        query = select(func.count()).select_from(OutboundDocument).where(OutboundDocument.status == "pending")
        return int(session.scalar(query) or 0)


def test_a_killed_worker_is_recovered_by_the_other_and_every_po_reaches_cleo_once(
    hosted: Hosted, tmp_path: Path
) -> None:
    with ExitStack() as cleanup:
        stacks: dict[str, Stack] = {}
        for tenant in ("acme", "bolt"):
            processes = Processes(tmp_path / tenant / "stack" / "logs")  # start_stack creates the directory
            cleanup.callback(processes.stop_all)
            stacks[tenant] = start_stack(tmp_path / tenant / "stack", processes, database_url=hosted.database_url)
            cleanup.callback(stacks[tenant].store.close)
            _register(hosted, tenant, stacks[tenant], tmp_path)
        expected = {tenant: set(create_purchase_orders(stack, POS, seed=7)) for tenant, stack in stacks.items()}

        workers = Processes(tmp_path / "workers")
        (tmp_path / "workers").mkdir()
        cleanup.callback(workers.stop_all)
        env = hosted.env(
            MLC_HOSTED="true",
            MLC_ENGINE__RECONCILE_SECONDS="1",
            MLC_ENGINE__HEARTBEAT_SECONDS="1",
            MLC_ENGINE__WORKER_LEASE_SECONDS=str(LEASE),
        )
        doomed = workers.start(
            "w1",
            ["run"],
            env={**env, "MLC_WORKER_ID": "w1", "MLC_FAULT_AT": "after_post_before_recording", "MLC_FAULT_AFTER": "2"},
        )
        log = tmp_path / "workers" / "w1.log"
        deadline = time.monotonic() + 120
        while "ml-connector running" not in log.read_text() and doomed.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        viewer = hosted.cli(
            "users", "add", "pat", "--role", "viewer", "--all-tenants", "--password-stdin", input=PW, MLC_HOSTED="true"
        )
        assert viewer.exit_code == 0, viewer.output
        port = _free_port()
        console = {"MLC_WEB__ENABLED": "true", "MLC_WEB__PORT": str(port)}
        survivor = workers.start("w2", ["run"], env={**env, "MLC_WORKER_ID": "w2", **console})
        assert doomed.wait(timeout=120) == -signal.SIGKILL, log.read_text()[-3000:]
        killed_at = time.monotonic()

        deadline = killed_at + 180
        while time.monotonic() < deadline:
            done = all(set(_pos_in_cleo(stacks[t])) >= expected[t] and _pending(hosted, t) == 0 for t in stacks)
            if done or survivor.poll() is not None:
                break
            time.sleep(2)
        settled = time.monotonic() - killed_at
        time.sleep(3)  # anything still in flight would land now
        counts = {tenant: _pos_in_cleo(stack) for tenant, stack in stacks.items()}
        survivor_log = (tmp_path / "workers" / "w2.log").read_text()
        sent = {t: sum(c.values()) for t, c in counts.items()}
        print(f"\nsettled {settled:.1f} s after the kill; 850s in Cleo: {sent}")
        assert survivor.poll() is None, survivor_log[-3000:]
        for tenant, found in counts.items():
            assert set(found) == expected[tenant], (tenant, sorted(found), sorted(expected[tenant]))
            assert all(n == 1 for n in found.values()), (tenant, {po: n for po, n in found.items() if n > 1})
        recovered = re.search(
            rf"worker w1 silent for over {LEASE}\.0 s: (\d+) unfinished workflow\(s\) recovered by w2", survivor_log
        )
        assert recovered and int(recovered.group(1)) >= 1, survivor_log[-3000:]
        _console_serves_each_tenant(f"http://127.0.0.1:{port}", expected)


PW = "pat-viewer-password\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _console_serves_each_tenant(url: str, expected: dict[str, set[str]]) -> None:
    """The hosted worker's own console (`[web] enabled`): a user of every tenant switches between them and finds
    each tenant's POs on its timeline pages."""
    with httpx.Client(base_url=url, timeout=20) as client:
        token = client.get("/login").text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        signed_in = client.post("/login", data={"csrf_token": token, "username": "pat", "password": PW.strip()})
        assert signed_in.status_code == 303, signed_in.text
        for tenant, pos in expected.items():
            page = client.get("/").text
            switcher = page.split('id="tenant-switch"', 1)[1].split("</select>", 1)[0]
            assert all(f'value="{t}"' in switcher for t in expected), switcher
            token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            assert client.post("/tenant", data={"csrf_token": token, "tenant": tenant}).status_code == 303
            shown = client.get("/").text.split('id="current-tenant">', 1)[1].split("</span>", 1)[0]
            assert f"({tenant})" in shown, shown
            po = sorted(pos)[0]
            timeline = client.get(f"/po/{po}")
            assert timeline.status_code == 200 and po in timeline.text and "850" in timeline.text
