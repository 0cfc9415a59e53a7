"""The hub's keys in a hosted deployment come from each tenant's own vault: an enabled tenant's agent is known by
its own key only; a disabled, unknown or keyless tenant is refused like a wrong key."""

from __future__ import annotations

import base64
import os

from typer.testing import CliRunner

from mlconnector.cli import app
from mlconnector.config import load_settings
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


def test_hub_serve_wants_one_source_of_keys(hosted: Hosted) -> None:
    for args in ((), ("--agent-keys", "/nonexistent", "--tenants")):
        result = CliRunner().invoke(app, ["hub", "serve", *args])
        assert result.exit_code == 1, result.output
        assert "Give one of --agent-keys DIR" in result.output and "Traceback" not in result.output
