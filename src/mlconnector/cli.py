"""The `ml-connector` command: thin Typer wiring; every command lives with the package it drives."""

from __future__ import annotations

from pathlib import Path

import typer

from mlconnector import __version__
from mlconnector.cleo.sandbox.cli import cleo_sandbox_app
from mlconnector.commands import admin, running
from mlconnector.sage.agent.cli import agent_app
from mlconnector.sage.cli import sage_sim_app
from mlconnector.web import cli as web_cli
from mlconnector.x12.cli import app as x12_app

app = typer.Typer(
    name="ml-connector",
    help="Sage 100 ⇄ Cleo connector.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def root() -> None:
    """Sage 100 ⇄ Cleo connector."""


admin.register(app)
running.register(app, admin.credentials_app)
app.add_typer(x12_app, name="x12")
app.add_typer(sage_sim_app, name="sage-sim")
app.add_typer(agent_app, name="agent")
app.add_typer(cleo_sandbox_app, name="cleo-sandbox")
web_cli.register(app)  # `web` and `users`; FastAPI is imported only when the console starts


@app.command()
def demo(
    workdir: Path = typer.Option(Path("demo-data"), help="Scratch directory (wiped at the start)."),
    purchase_orders: int = typer.Option(12, min=1, max=500, help="POs to create for mapped vendors."),
    serve: bool = typer.Option(False, "--serve", help="Afterwards keep everything running with the web console."),
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
