"""One clear line instead of a traceback, for the Sage-side commands."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer

F = TypeVar("F", bound=Callable[..., Any])


def clean_errors(*expected: type[BaseException]) -> Callable[[F], F]:
    """Print `error: <message>` on stderr and exit 1 for the exceptions a user can act on."""

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except expected as exc:
                typer.echo(f"error: {exc}", err=True)
                raise typer.Exit(1) from None

        return wrapper  # type: ignore[return-value]

    return decorate
