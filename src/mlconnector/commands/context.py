"""What every connector command opens: settings, store, vault; and one clear line when something is wrong."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from mlconnector.cleo.errors import CleoError
from mlconnector.config import Settings, load_settings
from mlconnector.sage.agent.client import AgentError
from mlconnector.sage.errors import SageError
from mlconnector.store import Store
from mlconnector.vault import MasterKey, Vault, VaultError, load_master_key

P = ParamSpec("P")
R = TypeVar("R")
errors = Console(stderr=True)


class CommandError(Exception):
    """A failure to report as one line plus a hint, exit code 1."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def fail(message: str, hint: str | None = None) -> NoReturn:
    raise CommandError(message, hint)


def guarded(func: Callable[P, R]) -> Callable[P, R]:
    """Turn the errors a person can fix into one line and a hint; never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except CommandError as exc:
            _report(str(exc), exc.hint)
        except AgentError as exc:
            _report(f"Sage agent: {exc}", "Is the agent running, and are [agent] url and fingerprint right?")
        except SageError as exc:
            _report(f"Sage: {exc}", None)
        except CleoError as exc:
            _report(f"Cleo: {exc}", "Check [cleo] base_url and `ml-connector credentials set cleo`.")
        except VaultError as exc:
            _report(str(exc), None)
        except SQLAlchemyError as exc:
            _report(f"The connector database is not usable: {exc.__class__.__name__}.", "Check database_url.")
        except OSError as exc:
            _report(f"{exc.strerror or exc}: {exc.filename or ''}".strip(": "), None)
        raise typer.Exit(1)

    return wrapper


def _report(message: str, hint: str | None) -> None:
    errors.print("[red]error:[/red] ", end="", markup=True)
    errors.print(message, markup=False, highlight=False)
    if hint:
        errors.print("[dim]hint:[/dim] ", end="", markup=True)
        errors.print(hint, markup=False, highlight=False)


@dataclass
class Context:
    settings: Settings
    store: Store
    key: MasterKey
    vault: Vault

    @classmethod
    def open(cls, *, create_key: bool = False) -> Context:
        settings = load_settings()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        store = Store(settings.store_url)
        key = load_master_key(settings.data_dir, settings.tenant, create=create_key)
        return cls(settings=settings, store=store, key=key, vault=Vault(store, key, settings.tenant))
