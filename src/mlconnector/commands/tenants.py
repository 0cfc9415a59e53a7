"""Hosted tenants: add, list, disable, enable (PostgreSQL; the registry is in schema `platform`).

Adding a tenant creates its schema `t_<id>` with every migration; its credentials and mapping are then set with the
usual commands under `ml-connector --tenant ID …`. Disabling one stops its scheduled jobs on every worker within one
reconcile pass (`[engine] reconcile_seconds`) and touches no other tenant.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from mlconnector.commands.context import fail
from mlconnector.config import load_settings, tenant_config
from mlconnector.store import Store
from mlconnector.store.platform import DISABLED, ENABLED, Platform, check_tenant_id, tenant_schema
from mlconnector.vault import load_master_key

console = Console()
tenants_app = typer.Typer(help="Hosted tenants on one PostgreSQL: add, list, disable.", no_args_is_help=True)


def _platform() -> Platform:
    settings = load_settings()
    return Platform(settings.store_url)


def _read_config(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as exc:
        fail(f"Cannot read {path}: {exc.strerror}.", hint="Give the tenant's config file (TOML or JSON).")
    try:
        return json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        fail(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'TOML'}: {exc}.")


@tenants_app.command("add")
def add(
    tenant_id: Annotated[str, typer.Argument(help="Short lower-case id, e.g. acme (its schema is t_acme).")],
    config: Annotated[
        Path | None, typer.Option("--config", help="The tenant's settings: TOML or JSON ([agent], [cleo], …).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="The customer's name as people say it.")] = None,
    cleo_url: Annotated[str | None, typer.Option(help="The tenant's Cleo API address.")] = None,
    agent_url: Annotated[str | None, typer.Option(help="The tenant's agent address (direct HTTPS mode).")] = None,
    fingerprint: Annotated[str | None, typer.Option(help="The tenant's agent certificate fingerprint.")] = None,
    company: Annotated[str | None, typer.Option(help="The tenant's Sage company code.")] = None,
) -> None:
    """Register a tenant and create its schema with every migration."""
    check_tenant_id(tenant_id)
    document = _read_config(config) if config else {}
    flags = {"cleo": {"base_url": cleo_url}, "agent": {"url": agent_url, "fingerprint": fingerprint}}
    for section, values in flags.items():
        for key, value in values.items():
            if value is not None:
                document.setdefault(section, {})[key] = value
    if company is not None:
        document["sage_company"] = company
    if name is not None:
        document["name"] = name
    checked = tenant_config(document, str(config) if config else f"tenant {tenant_id}")
    settings = load_settings()
    platform = Platform(settings.store_url)
    try:
        tenant = platform.add(tenant_id, checked.name or tenant_id, checked.model_dump(mode="json", exclude={"name"}))
        try:
            Store(settings.store_url, schema=tenant_schema(tenant_id)).close()  # creates and migrates its schema
        except Exception:
            platform.remove(tenant_id)  # a tenant without its tables would fail every job; add it again later
            raise
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        load_master_key(settings.data_dir, "hosted", create=True)
    finally:
        platform.close()
    console.print(f"Tenant {tenant.id} added (schema {tenant.schema}); workers pick it up within a reconcile pass.")
    console.print(
        f"Next: `ml-connector --tenant {tenant.id} credentials set sage|cleo|agent`, then "
        f"`ml-connector --tenant {tenant.id} map vendor …`."
    )


@tenants_app.command("list")
def list_tenants(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts and monitoring.")] = False,
) -> None:
    """The tenants: id, name, status, and where each one's Cleo and agent are."""
    platform = _platform()
    try:
        found = platform.registered()
    finally:
        platform.close()
    if as_json:
        rows = [
            {
                "id": t.id,
                "name": t.name,
                "status": t.status,
                "created_at": t.created_at.isoformat(),
                "schema": t.schema,
                "config": t.config,
            }
            for t in found
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    if not found:
        console.print("No tenants yet: `ml-connector tenants add ID --config tenant.toml`.")
        return
    table = Table("id", "name", "status", "Cleo", "agent", "created")
    for t in found:
        style = "" if t.enabled else "[dim]"
        table.add_row(
            t.id,
            t.name,
            f"{style}{t.status}",
            str(t.config.get("cleo", {}).get("base_url", "")),
            str(t.config.get("agent", {}).get("url", "")),
            f"{t.created_at:%Y-%m-%d %H:%M}",
        )
    console.print(table)


def _set_status(tenant_id: str, status: str) -> None:
    platform = _platform()
    try:
        tenant = platform.set_status(tenant_id, status)
    finally:
        platform.close()
    console.print(f"Tenant {tenant.id} {tenant.status}.")


@tenants_app.command("disable")
def disable(tenant_id: Annotated[str, typer.Argument(help="The tenant's id (from `tenants list`).")]) -> None:
    """Stop a tenant's scheduled jobs on every worker (its data and documents stay; `enable` resumes)."""
    _set_status(tenant_id, DISABLED)


@tenants_app.command("enable")
def enable(tenant_id: Annotated[str, typer.Argument(help="The tenant's id (from `tenants list`).")]) -> None:
    """Run a disabled tenant's jobs again."""
    _set_status(tenant_id, ENABLED)
