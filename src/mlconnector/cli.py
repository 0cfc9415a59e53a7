"""The `ml-connector` command: a lazy root group; each command's module is imported only when that command runs.

`ml-connector --help` lists every command from the table below without importing any of them (the table's help
texts are checked against the commands' own in tests/test_cli_lazy.py), and `ml-connector x12 …` imports the X12
package and nothing of the connector. Every failure ends in one line from `commands.errors` (the one place that
maps exceptions to messages), with the traceback only under `--debug`.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup, TyperOption

from mlconnector import __version__
from mlconnector.commands.errors import report

STAND_INS = "Stand-ins and tools"


@dataclass(frozen=True)
class Lazy:
    """Where a command lives (module, attribute: a Typer group or a command function) and its one-line help."""

    module: str
    attribute: str
    help: str
    panel: str | None = None


LAZY: dict[str, Lazy] = {
    "init": Lazy(
        "mlconnector.commands.admin",
        "init",
        "Write a commented ml-connector.toml, create the master key (0600) and the database.",
    ),
    "tenants": Lazy(
        "mlconnector.commands.tenants", "tenants_app", "Hosted tenants on one PostgreSQL: add, list, disable."
    ),
    "credentials": Lazy("mlconnector.commands.admin", "credentials_app", "Credentials, encrypted at rest."),
    "map": Lazy("mlconnector.commands.admin", "map_app", "Which Sage vendor trades with which Cleo partner."),
    "run": Lazy(
        "mlconnector.commands.running",
        "run",
        "Run the scheduler and workers until Ctrl-C (start more processes on PostgreSQL to share the work).",
    ),
    "sync": Lazy("mlconnector.commands.running", "sync_app", "Run jobs now instead of waiting for their schedule."),
    "status": Lazy(
        "mlconnector.commands.running",
        "status",
        "Counts, open exceptions, last activity, and whether the agent and Cleo answer.",
    ),
    "exceptions": Lazy(
        "mlconnector.commands.admin", "exceptions_app", "Exceptions: what went wrong, why, and how to fix it."
    ),
    "audit": Lazy("mlconnector.commands.admin", "audit_app", "The audit log: every step, both directions."),
    "replay": Lazy(
        "mlconnector.commands.running",
        "replay",
        "Send documents again from the audit log; idempotency keys make it a no-op where they already arrived.",
    ),
    "web": Lazy(
        "mlconnector.web.cli",
        "web",
        "Serve the web console (sign in with a user from `ml-connector users add`).",
    ),
    "users": Lazy(
        "mlconnector.web.cli",
        "users_app",
        "Who may sign in to the web console (roles: viewer, clerk, admin; hosted: and to which tenants).",
    ),
    "x12": Lazy("mlconnector.x12.cli", "app", "Validate, acknowledge (997, TA1) and inspect X12 files.", STAND_INS),
    "sage-sim": Lazy(
        "mlconnector.sage.cli",
        "sage_sim_app",
        "The simulated Sage 100 company ABC (BOI surface over SQLite).",
        STAND_INS,
    ),
    "agent": Lazy(
        "mlconnector.sage.agent.cli",
        "agent_app",
        "The Sage 100 agent: gateway operations over signed HTTPS.",
        STAND_INS,
    ),
    "hub": Lazy(
        "mlconnector.tunnel.cli",
        "hub_app",
        "The agent hub: agents dial out to it; workers reach them through it.",
    ),
    "cleo-sandbox": Lazy(
        "mlconnector.cleo.sandbox.cli",
        "cleo_sandbox_app",
        "A stand-in Cleo tenant with simulated trading partners and fault injection.",
        STAND_INS,
    ),
}


def load_command(name: str) -> Any:
    """Import the command `name` and turn it into a click command (a group for a Typer app)."""
    entry = LAZY[name]
    target = getattr(importlib.import_module(entry.module), entry.attribute)
    if isinstance(target, typer.Typer):
        command = typer.main.get_group(target)
    else:
        single = typer.Typer()
        single.command(name=name)(target)
        command = typer.main.get_command(single)
    command.name = name
    command.rich_help_panel = entry.panel  # type: ignore[attr-defined]
    return command


class LazyGroup(TyperGroup):
    """Lists the lazy commands by their table entry; imports one only when it is run (or completed)."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*LAZY, *(name for name in self.commands if name not in LAZY)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in self.commands or cmd_name not in LAZY:
            return self.commands.get(cmd_name)
        entry = LAZY[cmd_name]  # a stand-in that only carries the help line (for `--help` and completion)
        placeholder = typer.core.TyperCommand(name=cmd_name, help=entry.help, short_help=entry.help)
        placeholder.rich_help_panel = entry.panel  # type: ignore[attr-defined]
        return placeholder

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] in LAZY and args[0] not in self.commands:
            self.commands[args[0]] = load_command(args[0])
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.core._click.exceptions.ClickException):
            raise
        except (Exception, KeyboardInterrupt) as exc:
            raise typer.Exit(report(exc)) from None


def _no_type_for_flags(self: TyperOption, ctx: Any) -> str | None:
    """Help shows `<int>` or `<path>` where a value is wanted, nothing for an on/off flag."""
    if self.is_flag:
        return None
    return _typed_display(self, ctx)


_typed_display = TyperOption.display_type_rich
TyperOption.display_type_rich = _no_type_for_flags  # type: ignore[method-assign]

app = typer.Typer(
    name="ml-connector",
    help="Sage 100 ⇄ Cleo connector.",
    cls=LazyGroup,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"ml-connector {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    debug: Annotated[bool, typer.Option("--debug", help="Show the full traceback when something fails.")] = False,
    tenant: Annotated[
        str | None,
        typer.Option("--tenant", help="Act on this hosted tenant (from `ml-connector tenants list`).", metavar="ID"),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", help="Print the version and exit.", callback=_print_version, is_eager=True),
    ] = False,
) -> None:
    """Sage 100 ⇄ Cleo connector."""
    if debug:
        os.environ["MLC_DEBUG"] = "1"
    if tenant:
        os.environ["MLC_TENANT_ID"] = tenant  # read by commands.context.Context.open


@app.command(rich_help_panel=STAND_INS)
def demo(
    workdir: Annotated[Path, typer.Option(help="Scratch directory (wiped at the start).")] = Path("demo-data"),
    purchase_orders: Annotated[int, typer.Option(min=1, max=500, help="POs to create for mapped vendors.")] = 12,
    serve: Annotated[
        bool, typer.Option("--serve", help="Afterwards keep everything running with the web console (Ctrl-C stops).")
    ] = False,
) -> None:
    """Run the whole cycle on this machine: simulated Sage + agent, Cleo sandbox, the connector."""
    from mlconnector.demo import run_demo

    try:
        summary = run_demo(workdir.resolve(), purchase_orders=purchase_orders, serve=serve)
    except RuntimeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"Finished in {summary.seconds:.0f} s.")
    typer.echo(summary.line())


@app.command()
def version() -> None:
    """Print the installed version."""
    typer.echo(__version__)


def main() -> None:
    """Console-script entry point."""
    app()
