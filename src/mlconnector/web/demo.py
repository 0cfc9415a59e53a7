"""`ml-connector demo --serve`: after the cycle, keep the stack up with the connector running and the console
served, print where to sign in, and stop everything on Ctrl-C or SIGTERM."""

from __future__ import annotations

import secrets
import signal
import threading
from typing import TYPE_CHECKING

from rich.console import Console

from mlconnector.web.users import add_user

if TYPE_CHECKING:
    from mlconnector.demo import Processes, Stack

console = Console()
DEMO_USER = "demo"


def keep_serving(stack: Stack, processes: Processes, *, stop: threading.Event | None = None) -> str:
    """Start the connector (5-second POs/inbound) and the console on a free port; block until a signal (or `stop`).

    Returns the console's URL (for tests that pass their own `stop`)."""
    from mlconnector.demo import free_port, wait_for_port

    password = secrets.token_urlsafe(12)
    with stack.store.transaction() as session:
        add_user(session, DEMO_USER, password, "admin")
    env = stack.connector_env(
        MLC_SCHEDULE__PURCHASE_ORDERS_SECONDS="5",
        MLC_SCHEDULE__INBOUND_SECONDS="5",
        MLC_SCHEDULE__VENDORS_SECONDS="60",
        MLC_SCHEDULE__GL_SECONDS="60",
    )
    port = free_port()
    web = processes.start("console", ["web", "--port", str(port)], env=env, cwd=stack.config.parent)
    # Started first and given time: on a busy machine importing the web stack and migrating takes a while.
    wait_for_port(port, web, "the console", stack.workdir / "logs" / "console.log", timeout=120)
    processes.start("connector", ["run"], env=env, cwd=stack.config.parent)
    url = f"http://127.0.0.1:{port}"
    console.print(f"\nConsole: [bold]{url}[/bold]  sign in as [bold]{DEMO_USER}[/bold] / {password}")
    console.print(
        f"The connector keeps running (POs and inbound every 5 s); try mapping vendor {stack.unmapped} on "
        "Partners and vendors. Ctrl-C stops everything."
    )
    if stop is not None:
        return url
    stopped = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stopped.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stopped.wait(0.5):
            for name in ("connector", "console"):
                process = processes.running.get(name)
                if process is not None and process.poll() is not None:
                    console.print(f"The {name} stopped; see {stack.workdir / 'logs' / (name + '.log')}.")
                    stopped.set()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        console.print("Stopping …")
    return url
