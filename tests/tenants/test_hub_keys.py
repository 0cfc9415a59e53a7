"""The hub's keys in a hosted deployment come from each tenant's own vault: an enabled tenant's agent is known by
its own key only; a disabled, unknown or keyless tenant is refused like a wrong key."""

from __future__ import annotations

import base64
import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from typer.testing import CliRunner

from mlconnector.cli import app
from mlconnector.config import load_settings
from mlconnector.store import db
from mlconnector.tunnel import registry
from mlconnector.tunnel.registry import keys_from_tenants
from mlconnector.vault import MasterKey

from .hosting import Hosted
from .test_isolation import _add


def test_the_hub_finds_each_enabled_tenants_own_agent_key(hosted: Hosted) -> None:
    _add(hosted, "a")
    _add(hosted, "b")
    _add(hosted, "c")
    key_a, key_b = os.urandom(32), os.urandom(32)
    hosted.vault("a").put("agent", {"key": key_a.hex()})
    hosted.vault("b").put("agent", {"key": base64.b64encode(key_b).decode()})
    key_for = keys_from_tenants(load_settings(), MasterKey(base64.urlsafe_b64decode(hosted.master_key), "env"))
    assert key_for("a") == key_a and key_for("b") == key_b
    assert key_for("c") is None  # no agent key stored yet
    assert key_for("nobody") is None and key_for("../a") is None
    assert hosted.cli("tenants", "disable", "a").exit_code == 0
    assert key_for("a") is None  # read at each connect: disabling needs no hub restart
    assert hosted.cli("tenants", "enable", "a").exit_code == 0
    assert key_for("a") == key_a
    wrong = keys_from_tenants(load_settings(), MasterKey(os.urandom(32), "env"))
    assert wrong("a") is None  # another deployment's master key opens nothing


def test_many_agents_connecting_share_one_registry_pool_and_check_no_migrations(
    hosted: Hosted, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fifty agents redialling a restarted hub at once: each connect is a registry read and a vault read on one pool
    opened once, not a new database connection, advisory lock and migration check per agent (as it was), and the
    hub keeps no more idle connections than lookups it runs at once."""
    keys = {}
    for name in ("a", "b", "c", "d"):
        _add(hosted, name)
        keys[name] = os.urandom(32)
        hosted.vault(name).put("agent", {"key": keys[name].hex()})
    opened: list[registry.Platform] = []
    checked: list[object] = []

    class CountingPlatform(registry.Platform):
        def __init__(self, url: str) -> None:
            super().__init__(url)
            opened.append(self)

    monkeypatch.setattr(registry, "Platform", CountingPlatform)
    monkeypatch.setattr(db, "migrate", lambda *args, **kwargs: checked.append(args))
    key_for = keys_from_tenants(load_settings(), MasterKey(base64.urlsafe_b64decode(hosted.master_key), "env"))
    names = list(keys) * 15  # 60 connects, 8 at a time (the hub looks keys up in worker threads)
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(key_for, names)) == [keys[name] for name in names]
    assert len(opened) == 1 and checked == []
    assert opened[0].engine.pool.checkedin() <= registry.LOOKUPS_AT_ONCE  # idle connections the hub keeps
    assert hosted.cli("tenants", "disable", "b").exit_code == 0
    assert key_for("b") is None and key_for("a") == keys["a"]  # still read fresh at each connect


def test_hub_serve_wants_one_source_of_keys(hosted: Hosted) -> None:
    for args in ((), ("--agent-keys", "/nonexistent", "--tenants")):
        result = CliRunner().invoke(app, ["hub", "serve", *args])
        assert result.exit_code == 1, result.output
        assert "Give one of --agent-keys DIR" in result.output and "Traceback" not in result.output
