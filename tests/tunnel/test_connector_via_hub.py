"""The connector as a command, configured with `[agent] hub_url`, sends POs to Cleo through hub and tunnel; with the
agent gone the POs wait (nothing lost, no exception for Sage) and go once it is back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import mlconnector.x12 as x12
from mlconnector.demo import (
    TENANT,
    Stack,
    cleo_outbound_messages,
    create_purchase_orders,
)

from .conftest import Proc, Site, connected, start_agent

pytestmark = pytest.mark.slow


def _pos_in_cleo(stack: Stack) -> list[str]:
    return [x12.read_documents(m["payload"])[0].document.po_number for m in cleo_outbound_messages(stack)]


def test_pos_reach_cleo_through_the_hub_and_wait_while_the_agent_is_away(
    stack: Stack, tmp_path: Path, stopping: list[Proc]
) -> None:
    stack.processes.stop("agent")  # no direct way to the agent any more
    site = Site(TENANT, stack.workdir / "sage", stack.workdir / "agent")
    hub, agent = connected(site, tmp_path, stopping)
    env = {"MLC_AGENT__HUB_URL": hub.relay_url, "MLC_AGENT__HUB_FINGERPRINT": hub.files.fingerprint()}
    stored = subprocess.run(
        [sys.executable, "-P", "-m", "mlconnector", "credentials", "set", "hub", "--stdin"],
        input=json.dumps({"token": hub.files.token()}),
        env={**os.environ, **stack.connector_env()},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert stored.returncode == 0, stored.stderr

    first = create_purchase_orders(stack, 3)
    done = stack.connector("sync", "now", "pos", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(_pos_in_cleo(stack)) == sorted(first)

    agent.kill()
    hub.proc.wait_for(rf"hub.agent_disconnected.*tenant={TENANT}")
    second = create_purchase_orders(stack, 2, seed=12)
    away = stack.connector("sync", "now", "pos", env={**env, "MLC_RETRY__FIRST_SECONDS": "0"})
    assert "Traceback" not in away.stderr
    assert sorted(_pos_in_cleo(stack)) == sorted(first)  # nothing sent, nothing lost
    status = stack.connector("status", env={**env, "COLUMNS": "200"})
    assert "No agent is connected to the hub" in status.stdout + status.stderr

    back = start_agent(site, hub, tmp_path / "agent2.log")
    stopping.append(back)
    hub.proc.wait_for(rf"hub.agent_connected.*tenant={TENANT}", count=2)
    again = stack.connector("sync", "now", "pos", env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert sorted(_pos_in_cleo(stack)) == sorted(first + second)  # each PO once
    assert "agent: OK" in stack.connector("status", env={**env, "COLUMNS": "200"}).stdout
