"""The console over a real world: simulated Sage behind the real agent (HTTPS), the Cleo sandbox, a SQLite store,
the console served by uvicorn on a free port, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import random
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from flows.conftest import FAST_CLEO, PARTNERS, SENDER, World, partner_book
from mlconnector.cleo import CleoClient, CleoCredentials
from mlconnector.cleo.sandbox import running_sandbox
from mlconnector.flows.connector import Connector
from mlconnector.sage.agent.testing import running_agent
from mlconnector.sage.errors import RetryPolicy as SageRetryPolicy
from mlconnector.sage.sim.demo import PurchasingClerk
from mlconnector.sage.sim.script import SimBackend
from mlconnector.store import Store
from mlconnector.store.ops import map_vendor
from mlconnector.web.app import ConsoleServices
from mlconnector.web.cli import serve
from mlconnector.web.users import add_user

CHROMIUM = os.environ.get("MLC_CHROMIUM", "/usr/bin/chromium")
PASSWORDS = {"alice": "alice-admin-pw", "olga": "olga-operator-pw", "victor": "victor-viewer-pw"}
ROLES = {"alice": "admin", "olga": "operator", "victor": "viewer"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serving(services: ConsoleServices) -> tuple[str, object, threading.Thread]:
    """The console as `ml-connector web` serves it, on a free port in a thread: (url, server, thread)."""
    port = free_port()
    server = serve(services, "127.0.0.1", port)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "the console did not start"
    return f"http://127.0.0.1:{port}", server, thread


class Console:
    def __init__(self, world: World, url: str, screenshots: Path) -> None:
        self.world, self.url, self.screenshots = world, url, screenshots

    def login(self, username: str) -> httpx.Client:
        """An HTTP client signed in as `username` (its CSRF token in `.csrf`)."""
        client = httpx.Client(base_url=self.url, follow_redirects=False, timeout=10)
        page = client.get("/login")
        token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        answer = client.post(
            "/login", data={"csrf_token": token, "username": username, "password": PASSWORDS[username], "next": "/"}
        )
        assert answer.status_code == 303, answer.text
        home = client.get("/")
        client.csrf = home.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]  # type: ignore[attr-defined]
        return client


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    tmp = tmp_path_factory.mktemp("console")
    sim = SimBackend(tmp / "sage")
    sim.init_company(purchase_orders=0)
    store = Store(f"sqlite:///{tmp / 'state.sqlite'}")
    with store.transaction() as session:
        for vendor, alias in list(PARTNERS.items())[:2]:  # 01-V0004 stays unmapped: the console maps it
            map_vendor(session, vendor, alias)
        for name, password in PASSWORDS.items():
            add_user(session, name, password, ROLES[name])
    policy = SageRetryPolicy(
        attempts=3, wait_initial=0.0, wait_max=0.0, jitter=0.0, retry_after=1, sleep=lambda _s: None
    )
    with (
        running_agent(sim, tmp / "agent", policy=policy) as agent,
        running_sandbox(data_dir=tmp / "cleo", partners=partner_book()) as sandbox,
    ):
        agent_client = agent.client("ml", "ml-demo", "ABC", wait_initial=0.01, wait_max=0.05)
        cleo = CleoClient.connect(
            sandbox.base_url, CleoCredentials("demo", "demo-password"), retry=FAST_CLEO, timeout=10
        )
        clerk = PurchasingClerk(sim)
        connector = Connector(store, agent_client, cleo, SENDER)
        world = World(sim, store, sandbox, agent_client, cleo, connector, clerk, random.Random(5))
        services = ConsoleServices(
            store=store,
            connector=lambda: connector,
            schedule={"pos": 900, "inbound": 300, "vendors": 900, "gl": 14400},
            settings_summary={"tenant": "test"},
            test_connection=lambda: [("Cleo", bool(cleo.list_partners(alias="ALPHA")), "login accepted")],
        )
        port = free_port()
        server = serve(services, "127.0.0.1", port)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 15
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.started, "the console did not start"
        shots = Path(os.environ.get("MLC_SCREENSHOTS", tmp / "screenshots"))
        shots.mkdir(parents=True, exist_ok=True)
        try:
            yield Console(world, f"http://127.0.0.1:{port}", shots)
        finally:
            server.should_exit = True
            thread.join(10)
            clerk.close()
            cleo.close()
            agent_client.close()
            store.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            yield chromium
        finally:
            chromium.close()
