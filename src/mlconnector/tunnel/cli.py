"""`ml-connector hub`: the hub that agents dial out to (WSS) and workers reach them through (HTTPS relay)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from mlconnector.ports import HUB_PORT, HUB_RELAY_PORT
from mlconnector.sage.cli_errors import clean_errors
from mlconnector.tunnel.hub import KeyLookup
from mlconnector.tunnel.service import HubFiles

hub_app = typer.Typer(help="The agent hub: agents dial out to it; workers reach them through it.", no_args_is_help=True)
DirOpt = Annotated[Path, typer.Option("--dir", envvar="MLC_HUB_DIR", help="Where the hub's cert, key and token live.")]
DEFAULT_DIR = Path("var/hub")
user_errors = clean_errors(ValueError, OSError)


@hub_app.command()
@user_errors
def init(
    directory: DirOpt = DEFAULT_DIR,
    hostname: Annotated[list[str] | None, typer.Option(help="Extra DNS names for the certificate.")] = None,
) -> None:
    """Write the hub's self-signed certificate and the workers' relay token (files 0600), unless they exist."""
    files = HubFiles(directory).ensure(hostname or [])
    typer.echo(f"Certificate: {files.cert} (agents pin its fingerprint or trust this file)")
    typer.echo(f"Relay token: {files.token_file} (copy it into each worker's vault: `credentials set hub`)")
    typer.echo(f"Fingerprint: {files.fingerprint()}")


@hub_app.command()
@user_errors
def fingerprint(directory: DirOpt = DEFAULT_DIR) -> None:
    """Print the SHA-256 fingerprint of the hub's certificate (what `agent connect --hub-fingerprint` takes)."""
    typer.echo(HubFiles(directory).fingerprint())


@hub_app.command()
@user_errors
def serve(
    agent_keys: Annotated[
        Path | None,
        typer.Option(help="Directory of <tenant>.key files: each the hex of that tenant's agent-hmac.key (0600)."),
    ] = None,
    tenants: Annotated[
        bool,
        typer.Option(
            "--tenants",
            help="Take each enabled hosted tenant's agent key from its vault (ml-connector.toml's database and key).",
        ),
    ] = False,
    directory: DirOpt = DEFAULT_DIR,
    agents_host: Annotated[str, typer.Option(help="Address agents dial (WSS).")] = "0.0.0.0",
    agents_port: Annotated[int, typer.Option(min=0, max=65535)] = HUB_PORT,
    relay_host: Annotated[str, typer.Option(help="Address workers use (HTTPS); keep it private.")] = "127.0.0.1",
    relay_port: Annotated[int, typer.Option(min=0, max=65535)] = HUB_RELAY_PORT,
    request_timeout: Annotated[float, typer.Option(min=1, help="Seconds the hub waits for an agent's answer.")] = 120,
    ping_interval: Annotated[float, typer.Option(min=0.5, help="Seconds between heartbeats.")] = 20,
    ping_timeout: Annotated[float, typer.Option(min=0.5, help="Seconds without a heartbeat answer = lost.")] = 20,
) -> None:
    """Accept agents on the WSS port and relay workers' signed requests to them (certificate made if missing)."""
    import asyncio

    from mlconnector.tunnel.hub import Hub, HubOptions, keys_from_directory
    from mlconnector.tunnel.service import listen, run_hub

    if (agent_keys is None) == (not tenants):
        raise ValueError("Give one of --agent-keys DIR (a key file per tenant) or --tenants (the tenants' vaults).")
    if agent_keys is not None and not agent_keys.is_dir():
        raise FileNotFoundError(f"--agent-keys {agent_keys} is not a directory of <tenant>.key files.")
    files = HubFiles(directory).ensure()
    options = HubOptions(request_timeout=request_timeout, ping_interval=ping_interval, ping_timeout=ping_timeout)
    hub = Hub(keys_from_directory(agent_keys) if agent_keys is not None else _tenant_keys(), options)
    agents, relay = listen(agents_host, agents_port), listen(relay_host, relay_port)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # log lines reach a file at once
    typer.echo(f"Hub: agents on wss://{agents_host}:{agents.getsockname()[1]}/agents", nl=True)
    typer.echo(f"Hub: workers on https://{relay_host}:{relay.getsockname()[1]}/relay/<tenant>")
    typer.echo(f"Hub: certificate fingerprint {files.fingerprint()}")
    asyncio.run(run_hub(hub, files, agents, relay))


def _tenant_keys() -> KeyLookup:
    """Hosted: keys from the tenant registry and each tenant's vault (config and master key as every command)."""
    from mlconnector.config import load_settings
    from mlconnector.tunnel.registry import keys_from_tenants
    from mlconnector.vault import load_master_key

    settings = load_settings()
    return keys_from_tenants(settings, load_master_key(settings.data_dir, "hosted"))
