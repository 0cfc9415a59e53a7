"""The `ml-connector` command: thin Typer wiring; every command lives with the package it drives."""

from __future__ import annotations

import typer

from mlconnector import __version__
from mlconnector.cleo.sandbox.cli import cleo_sandbox_app
from mlconnector.commands import admin, running
from mlconnector.sage.agent.cli import agent_app
from mlconnector.sage.cli import sage_sim_app
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


@app.command()
def version() -> None:
    """Print the installed version."""
    typer.echo(__version__)


def main() -> None:
    """Console-script entry point."""
    app()
