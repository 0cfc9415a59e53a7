"""`ml-connector agent`: create the agent's identity, serve the gateway over HTTPS, install the Windows service."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from mlconnector.ports import AGENT_PORT
from mlconnector.sage.agent.tls import AgentFiles, init_agent
from mlconnector.sage.cli_errors import clean_errors
from mlconnector.sage.errors import SageError

agent_app = typer.Typer(help="The Sage 100 agent: gateway operations over signed HTTPS.", no_args_is_help=True)
DirOpt = Annotated[Path, typer.Option("--dir", envvar="MLC_AGENT_DIR", help="Where the agent's cert and key live.")]
DEFAULT_DIR = Path("var/agent")
DEFAULT_SIM_DATA = Path("var/sage-sim")  # where `sage-sim init` puts the company by default


user_errors = clean_errors(SageError, ValueError, OSError, RuntimeError)  # RuntimeError covers WindowsOnlyError
"""Errors a person can act on: one line on stderr, exit 1."""


@agent_app.command()
@user_errors
def init(
    directory: DirOpt = DEFAULT_DIR,
    hostname: Annotated[list[str] | None, typer.Option(help="Extra DNS names for the certificate.")] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing identity.")] = False,
) -> None:
    """Write a self-signed TLS certificate and a per-agent HMAC key (files 0600)."""
    files = init_agent(directory, hostname or [], force=force)
    typer.echo(f"Certificate: {files.cert}")
    typer.echo(f"HMAC key:    {files.hmac_key_file} (copy it into the connector's vault; never print it)")
    typer.echo(f"Fingerprint: {files.fingerprint()} (the connector pins this)")


@agent_app.command()
@user_errors
def fingerprint(directory: DirOpt = DEFAULT_DIR) -> None:
    """Print the SHA-256 fingerprint of the agent's certificate."""
    typer.echo(AgentFiles(directory).fingerprint())


@agent_app.command()
@user_errors
def serve(
    backend: Annotated[str, typer.Option(help="simulator or com")] = "simulator",
    directory: DirOpt = DEFAULT_DIR,
    data: Annotated[Path, typer.Option(envvar="MLC_SAGE_SIM_DATA", help="Simulator data dir.")] = DEFAULT_SIM_DATA,
    home: Annotated[str | None, typer.Option(help="Sage MAS90\\Home (com backend).")] = None,
    host: str = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, envvar="MLC_AGENT_PORT")] = AGENT_PORT,
    max_connections: Annotated[
        int, typer.Option(min=1, help="Open connections at most; past it the oldest idle one is closed.")
    ] = 1000,
    handshake_timeout: Annotated[float, typer.Option(min=0.1, help="Seconds a client has for the TLS handshake.")] = 10,
    header_timeout: Annotated[float, typer.Option(min=0.1, help="Seconds a client has to send request headers.")] = 10,
    body_timeout: Annotated[float, typer.Option(min=0.1, help="Seconds a client has to send a request body.")] = 30,
    keep_alive_timeout: Annotated[float, typer.Option(min=0.1, help="Seconds an idle connection is kept.")] = 5,
) -> None:
    """Serve the gateway operations as signed JSON over HTTPS (never plain HTTP)."""
    from mlconnector.sage.agent.service import make_backend, server  # FastAPI/uvicorn load only when serving
    from mlconnector.sage.agent.serving import ServerLimits

    limits = ServerLimits(max_connections, handshake_timeout, header_timeout, body_timeout, keep_alive_timeout)
    srv = server(make_backend(backend, data, home), AgentFiles(directory), host, port, limits)
    typer.echo(f"Agent ({backend}) on https://{host}:{port}")
    srv.run()


@agent_app.command()
@user_errors
def connect(
    hub: Annotated[str, typer.Option("--hub", help="The hub's agents address, wss://HOST:PORT/agents.")],
    tenant: Annotated[str, typer.Option(envvar="MLC_TENANT", help="The tenant this agent serves.")],
    hub_fingerprint: Annotated[
        str | None, typer.Option(help="SHA-256 of the hub's certificate (`ml-connector hub fingerprint`).")
    ] = None,
    hub_ca: Annotated[Path | None, typer.Option(help="CA file (PEM) that verifies the hub's certificate.")] = None,
    backend: Annotated[str, typer.Option(help="simulator or com")] = "simulator",
    directory: DirOpt = DEFAULT_DIR,
    data: Annotated[Path, typer.Option(envvar="MLC_SAGE_SIM_DATA", help="Simulator data dir.")] = DEFAULT_SIM_DATA,
    home: Annotated[str | None, typer.Option(help="Sage MAS90\\Home (com backend).")] = None,
    max_concurrent: Annotated[int, typer.Option(min=1, max=64, help="Sage calls run at once at most.")] = 8,
    request_timeout: Annotated[float, typer.Option(min=1, help="Seconds one relayed request may take.")] = 300,
    ping_interval: Annotated[float, typer.Option(min=0.5, help="Seconds between heartbeats.")] = 20,
    ping_timeout: Annotated[float, typer.Option(min=0.5, help="Seconds without a heartbeat answer = lost.")] = 20,
) -> None:
    """Dial out to the hub (WSS) and serve its relayed, signed requests; opens no listening port."""
    from mlconnector.sage.agent.server import create_app  # FastAPI and websockets load only when serving
    from mlconnector.sage.agent.service import make_backend
    from mlconnector.sage.agent.signing import NonceStore
    from mlconnector.tunnel.agent import HubTrust, TunnelOptions, connect_forever

    files = AgentFiles(directory)
    if not files.exists():
        raise FileNotFoundError(f"No agent identity in {directory}; run `ml-connector agent init` first.")
    trust = HubTrust(fingerprint=hub_fingerprint, ca_file=hub_ca)
    options = TunnelOptions(
        ping_interval=ping_interval,
        ping_timeout=ping_timeout,
        request_timeout=request_timeout,
        max_concurrent=max_concurrent,
    )
    app = create_app(make_backend(backend, data, home), files.hmac_key(), nonces=NonceStore(files.nonces))
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # log lines reach a file at once
    typer.echo(f"Agent ({backend}) connecting to {hub} for tenant {tenant}")
    try:
        connect_forever(app, hub, tenant, files.hmac_key(), trust, options)
    finally:
        if app.pool is not None:
            app.pool.close()


@agent_app.command("install-service")
@user_errors
def install_service_cmd(
    backend: Annotated[str, typer.Option()] = "com",
    directory: DirOpt = DEFAULT_DIR,
    home: Annotated[str, typer.Option(help="Sage MAS90\\Home")] = "",
    data: Annotated[str, typer.Option(help="Simulator data dir")] = "",
    host: str = "0.0.0.0",
    port: Annotated[int, typer.Option(min=1, max=65535)] = AGENT_PORT,
    hub: Annotated[
        str | None, typer.Option("--hub", help="Hosted: the hub's wss://HOST:PORT/agents; the service dials out.")
    ] = None,
    tenant: Annotated[str | None, typer.Option(help="Hosted: the tenant this agent serves.")] = None,
    hub_fingerprint: Annotated[str | None, typer.Option(help="Hosted: SHA-256 of the hub's certificate.")] = None,
    hub_ca: Annotated[Path | None, typer.Option(help="Hosted: CA file (PEM) that verifies the hub.")] = None,
) -> None:
    """Register the agent as a Windows service (Windows only): `agent serve`, or `agent connect` with --hub."""
    from mlconnector.sage.agent.service import install_service

    options = {
        "backend": backend,
        "dir": str(directory.resolve()),
        "home": home,
        "data": data,
        "host": host,
        "port": str(port),
    }
    options.update(hub_options(hub, tenant, hub_fingerprint, hub_ca))
    name = install_service(options)
    typer.echo(f"Installed Windows service {name}; start it with `sc start {name}`.")


def hub_options(hub: str | None, tenant: str | None, fingerprint: str | None, ca: Path | None) -> dict[str, str]:
    """The service's tunnel options, checked now rather than when the service first starts on its own."""
    if hub is None:
        if tenant or fingerprint or ca:
            raise ValueError("--tenant, --hub-fingerprint and --hub-ca go with --hub (the hosted, dial-out mode).")
        return {}
    from mlconnector.tunnel.agent import HubTrust

    if not hub.startswith("wss://"):
        raise ValueError(f"--hub must be the hub's wss:// address (wss://HOST:PORT/agents), not {hub!r}.")
    if not tenant:
        raise ValueError("--hub needs --tenant: the tenant this agent serves.")
    HubTrust(fingerprint=fingerprint, ca_file=ca)  # exactly one way to know the hub, a whole fingerprint
    if ca is not None and not ca.is_file():
        raise FileNotFoundError(f"No CA file at {ca}; give the PEM file that signed the hub's certificate.")
    return {
        "hub": hub,
        "tenant": tenant,
        "hub_fingerprint": fingerprint or "",
        "hub_ca": str(ca.resolve()) if ca else "",
    }
