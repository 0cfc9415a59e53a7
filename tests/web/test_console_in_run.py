"""`ml-connector run` with [web] enabled serves the console from the same process, and stops it with the run."""

from __future__ import annotations

import signal
import time

import httpx
import pytest

from mlconnector.demo import Stack, create_purchase_orders, free_port
from mlconnector.web.users import add_user

pytestmark = pytest.mark.slow


def wait_for(what: str, check, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_run_serves_the_console_in_the_same_process_until_it_stops(stack: Stack) -> None:
    with stack.store.transaction() as session:
        add_user(session, "olga", "olga-operator-pw", "operator")
    create_purchase_orders(stack, 1, unmapped=1)
    port = free_port()
    env = stack.connector_env(
        MLC_SCHEDULE__PURCHASE_ORDERS_SECONDS="2",
        MLC_SCHEDULE__INBOUND_SECONDS="60",
        MLC_SCHEDULE__VENDORS_SECONDS="60",
        MLC_SCHEDULE__GL_SECONDS="60",
        MLC_WEB__ENABLED="true",
        MLC_WEB__PORT=str(port),
    )
    process = stack.processes.start("connector", ["run"], env=env, cwd=stack.config.parent)
    base = f"http://127.0.0.1:{port}"
    log = stack.workdir / "logs" / "connector.log"
    wait_for("the console inside run", lambda: answers(f"{base}/health") or process.poll() is not None)
    assert process.poll() is None, log.read_text()[-2000:]
    with httpx.Client(base_url=base, timeout=10) as client:
        assert client.get("/").status_code == 303  # not signed in: to the login page
        form = client.get("/login").text
        token = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        signed_in = client.post(
            "/login", data={"csrf_token": token, "username": "olga", "password": "olga-operator-pw", "next": "/"}
        )
        assert signed_in.status_code == 303
        wait_for(
            "the held PO of the unmapped vendor on the overview", lambda: "held for a vendor" in client.get("/").text
        )
    assert f"Console: http://127.0.0.1:{port}" in log.read_text()
    process.send_signal(signal.SIGTERM)  # what Ctrl-C or the service manager does
    wait_for("run to stop", lambda: "Stopped." in log.read_text(), timeout=30)
    assert not answers(f"{base}/health"), "the console stops with run"
    process.kill()  # `run` lingers after "Stopped." with or without the console (the engine's shutdown); not waited
    process.wait()
