"""Start a real agent (HTTPS, uvicorn in a thread, 127.0.0.1, free port) for tests and demos.

with running_agent(backend, tmp_path / "agent") as agent:
    client = agent.client("ml", "ml-demo", "ABC")
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlconnector.sage.agent.client import AgentClient
from mlconnector.sage.agent.server import SignatureMiddleware, create_app
from mlconnector.sage.agent.serving import ServerLimits, agent_server
from mlconnector.sage.agent.signing import NonceStore
from mlconnector.sage.agent.tls import AgentFiles, init_agent
from mlconnector.sage.boi import BoiBackend
from mlconnector.sage.errors import RetryPolicy


@dataclass
class RunningAgent:
    url: str
    hmac_key: bytes
    fingerprint: str
    files: AgentFiles
    app: SignatureMiddleware

    def client(self, user: str, password: str, company: str, **kwargs: Any) -> AgentClient:
        return AgentClient(self.url, self.hmac_key, self.fingerprint, user, password, company, **kwargs)


@contextmanager
def running_agent(
    backend: BoiBackend,
    directory: Path,
    *,
    policy: RetryPolicy | None = None,
    fault_hook: Callable[[str], None] | None = None,
    limits: ServerLimits | None = None,
) -> Iterator[RunningAgent]:
    """Serve `backend` over HTTPS until the block ends; creates the agent identity in `directory` if needed."""
    files = AgentFiles(Path(directory))
    if not files.exists():
        init_agent(files.directory)
    app = create_app(backend, files.hmac_key(), policy=policy, fault_hook=fault_hook, nonces=NonceStore(files.nonces))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # so asyncio sets TCP_NODELAY
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = agent_server(app, files, limits=limits, log_level="warning")
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="agent")
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("The agent did not start.")
        time.sleep(0.01)
    try:
        yield RunningAgent(f"https://127.0.0.1:{port}", files.hmac_key(), files.fingerprint(), files, app)
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()
        if isinstance(app.nonces, NonceStore):
            app.nonces.close()
