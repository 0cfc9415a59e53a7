"""Shared fixtures: a fresh database per test on SQLite and, where the server is there, PostgreSQL.

Locally a missing PostgreSQL skips its tests with the reason. Under CI (`CI=true`, as CI services set it) it fails the
run at once instead, so a green CI always includes every PostgreSQL variant.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

PG_ADMIN_URL = os.environ.get("MLC_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PG_FIXTURES = ("postgres_admin_url", "postgres_url")


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _ci_message(reason: str) -> str:
    return f"{reason}: CI=true, so the PostgreSQL tests must run; start PostgreSQL or set MLC_TEST_PG_URL."


def _postgres_reason() -> str | None:
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
    except OperationalError as exc:
        return f"PostgreSQL not reachable at {PG_ADMIN_URL} ({exc.orig.__class__.__name__})"
    return None


def _needs_postgres(item: pytest.Item) -> bool:
    names = getattr(item, "fixturenames", ())
    callspec = getattr(item, "callspec", None)
    return (
        item.get_closest_marker("postgres") is not None
        or any(name in names for name in PG_FIXTURES)
        or (callspec is not None and callspec.params.get("database_url") == "postgresql")
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under CI, check PostgreSQL once before any test runs and stop the run with one clear line if it is missing."""
    if not _in_ci() or config.option.collectonly or not any(_needs_postgres(item) for item in items):
        return
    reason = _postgres_reason()
    if reason:
        pytest.exit(_ci_message(reason), returncode=pytest.ExitCode.TESTS_FAILED)


@pytest.fixture(autouse=True)
def no_os_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never touch the developer's real keyring; keys come from files or MLC_MASTER_KEY."""
    monkeypatch.setenv("MLC_KEYRING", "off")


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    reason = _postgres_reason()
    if reason and _in_ci():
        pytest.fail(_ci_message(reason), pytrace=False)
    if reason:
        pytest.skip(reason)
    return PG_ADMIN_URL


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A throw-away database on the local PostgreSQL server, dropped after the test."""
    name = f"mlc_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = postgres_admin_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.sqlite'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def stack(tmp_path):  # type: ignore[no-untyped-def]
    """The demo's stack on SQLite: the agent and the Cleo sandbox as real HTTPS processes, stopped after the test.
    (The e2e files that run on both databases define their own, taking `database_url`.)"""
    from mlconnector.demo import demo_environment, start_stack

    with demo_environment(tmp_path / "stack") as processes:
        built = start_stack(tmp_path / "stack", processes)
        try:
            yield built
        finally:
            built.store.close()
