"""What every connector command opens: settings, store, vault; and one clear line when something is wrong."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn, ParamSpec, TypeVar

import typer
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from mlconnector.config import Settings, load_settings
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
        except VaultError as exc:
            _report(str(exc), None)
        except SQLAlchemyError as exc:
            _report(f"The connector database is not usable: {exc.__class__.__name__}.", "Check database_url.")
        except OSError as exc:
            _report(f"{exc.strerror or exc}: {exc.filename or ''}".strip(": "), None)
        raise typer.Exit(1)

    return wrapper


def _report(message: str, hint: str | None) -> None:
    errors.print(f"[red]error:[/red] {message}", markup=True, highlight=False)
    if hint:
        errors.print(f"[dim]hint:[/dim] {hint}", highlight=False)


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
