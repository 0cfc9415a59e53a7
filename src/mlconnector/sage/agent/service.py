"""Run the agent, and register it as a Windows service (pywin32 `win32serviceutil`, imported only on Windows).

The service runs the agent one of two ways, chosen by its options: `agent serve` (HTTPS on a port, single-site
installs) or, when a hub is named, `agent connect` (dials out to the hub over WSS; no listening port, hosted).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import uvicorn

from mlconnector.ports import AGENT_PORT
from mlconnector.sage.agent.server import create_app
from mlconnector.sage.agent.serving import ServerLimits, agent_server
from mlconnector.sage.agent.signing import NonceStore
from mlconnector.sage.agent.tls import AgentFiles
from mlconnector.sage.boi import BoiBackend

SERVICE_NAME = "MLConnectorSageAgent"


class WindowsOnlyError(RuntimeError):
    """Raised on other systems: the service wrapper needs Windows and pywin32."""


def make_backend(kind: str, data: Path | None = None, home: str | None = None) -> BoiBackend:
    """`simulator` (SQLite under `data`) or `com` (ProvideX.Script with MAS90\\Home at `home`)."""
    if kind == "simulator":
        from mlconnector.sage.sim.script import SimBackend

        if data is None:
            raise ValueError("--data DIR is required with --backend simulator.")
        return SimBackend.open(data)
    if kind == "com":
        from mlconnector.sage.com import ComBackend

        if not home:
            raise ValueError("--home is required with --backend com (the MAS90\\Home folder of Sage 100).")
        backend = ComBackend(home)
        backend.thread_init()  # fail now, with a clear message, if pywin32 or Sage's COM server is missing
        return backend
    raise ValueError(f"Unknown backend {kind!r}; use simulator or com.")


def server(
    backend: BoiBackend, files: AgentFiles, host: str, port: int, limits: ServerLimits | None = None
) -> uvicorn.Server:
    """An HTTPS-only server for the agent (plain HTTP is never served), with its connection limits."""
    if not files.exists():
        raise FileNotFoundError(f"No agent identity in {files.directory}; run `ml-connector agent init` first.")
    app = create_app(backend, files.hmac_key(), nonces=NonceStore(files.nonces))
    return agent_server(app, files, host=host, port=port, limits=limits)


class Runner(Protocol):
    """What the service host needs of the agent: run until stopped, stop from another thread."""

    def run(self) -> None: ...

    def stop(self) -> None: ...


class _HttpsRunner:
    def __init__(self, srv: uvicorn.Server) -> None:
        self.srv = srv

    def run(self) -> None:
        self.srv.run()

    def stop(self) -> None:
        self.srv.should_exit = True


def service_runner(options: Mapping[str, str]) -> Runner:
    """The agent as the service's options describe it: `agent connect` when a hub is named, else `agent serve`."""
    opt = lambda n, d="": options.get(n) or d  # noqa: E731
    backend = make_backend(opt("backend", "com"), Path(opt("data")) if opt("data") else None, opt("home"))
    files = AgentFiles(Path(opt("dir")))
    if not opt("hub"):
        return _HttpsRunner(server(backend, files, opt("host", "0.0.0.0"), int(opt("port", str(AGENT_PORT)))))
    from mlconnector.tunnel.agent import AgentTunnel, HubTrust, TunnelOptions, TunnelRunner

    if not files.exists():
        raise FileNotFoundError(f"No agent identity in {files.directory}; run `ml-connector agent init` first.")
    trust = HubTrust(fingerprint=opt("hub_fingerprint") or None, ca_file=Path(opt("hub_ca")) if opt("hub_ca") else None)
    app = create_app(backend, files.hmac_key(), nonces=NonceStore(files.nonces))
    return TunnelRunner(AgentTunnel(app, opt("hub"), opt("tenant"), files.hmac_key(), trust, TunnelOptions()))


def install_service(options: dict[str, str]) -> str:
    """Register (or update) the Windows service with its options; the service runs `service_runner(options)`."""
    if sys.platform != "win32":
        raise WindowsOnlyError(
            "install-service is Windows-only: it registers a Windows service with pywin32. "
            "On this system run `ml-connector agent serve` or `agent connect` under your own supervisor."
        )
    try:
        import win32service  # type: ignore[import-not-found]
        import win32serviceutil  # type: ignore[import-not-found]
    except ImportError:
        raise WindowsOnlyError("install-service needs pywin32: `uv pip install pywin32`, then run it again.") from None

    cls = globals().get("AgentService") or _service_class()
    win32serviceutil.InstallService(
        f"{__name__}.{cls.__name__}",
        SERVICE_NAME,
        "ml-connector Sage 100 agent",
        startType=win32service.SERVICE_AUTO_START,
    )
    for name, value in options.items():
        win32serviceutil.SetServiceCustomOption(SERVICE_NAME, name, value)
    return SERVICE_NAME


def _service_class() -> Any:
    import servicemanager  # type: ignore[import-not-found]
    import win32service  # type: ignore[import-not-found]
    import win32serviceutil  # type: ignore[import-not-found]

    class AgentService(win32serviceutil.ServiceFramework):  # type: ignore[misc]
        _svc_name_ = SERVICE_NAME
        _svc_display_name_ = "ml-connector Sage 100 agent"

        def SvcDoRun(self) -> None:
            names = ("backend", "dir", "home", "data", "host", "port", "hub", "tenant", "hub_fingerprint", "hub_ca")
            options = {n: win32serviceutil.GetServiceCustomOption(SERVICE_NAME, n, "") for n in names}
            self._runner = service_runner(options)
            servicemanager.LogInfoMsg(f"{SERVICE_NAME} starting")
            self._runner.run()

        def SvcStop(self) -> None:
            self.ReportServiceStatus(win32service.SERVICE_STOP_PENDING)
            self._runner.stop()

    return AgentService


if sys.platform == "win32":  # the service host imports `mlconnector.sage.agent.service.AgentService`
    with contextlib.suppress(ImportError):  # pywin32 missing: install-service reports it when asked
        AgentService = _service_class()
