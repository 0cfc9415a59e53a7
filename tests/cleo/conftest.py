"""Fixtures for the Cleo tests: a sandbox over real HTTP on a free port, clients with tiny retry waits, 850s."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mlconnector.cleo import CleoClient, CleoCredentials
from mlconnector.cleo.sandbox import RunningSandbox, running_sandbox

from .support import FAST_RETRY, PASSWORD, USER


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[RunningSandbox]:
    with running_sandbox(data_dir=tmp_path) as running:
        yield running


@pytest.fixture
def connect(sandbox: RunningSandbox) -> Iterator[Callable[..., CleoClient]]:
    """Factory for clients of the `demo` tenant; every client made is closed after the test."""
    made: list[CleoClient] = []

    def make(**options: object) -> CleoClient:
        options.setdefault("retry", FAST_RETRY)
        options.setdefault("timeout", 5.0)
        client = CleoClient.connect(sandbox.base_url, CleoCredentials(USER, PASSWORD), **options)  # type: ignore[arg-type]
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
