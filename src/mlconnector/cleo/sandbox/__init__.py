"""The Cleo sandbox: a stand-in Cleo tenant (cleo-api.md §8–9) with simulated trading partners and fault injection.

Names are loaded on first use, so `ml-connector` commands that never serve the sandbox do not import FastAPI.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlconnector.cleo.sandbox.app import SandboxUser, create_app
    from mlconnector.cleo.sandbox.server import RunningSandbox, SandboxAdmin, build_sandbox, running_sandbox
    from mlconnector.cleo.sandbox.store import SandboxStore

_HOMES = {
    "SandboxUser": "app",
    "create_app": "app",
    "RunningSandbox": "server",
    "SandboxAdmin": "server",
    "build_sandbox": "server",
    "running_sandbox": "server",
    "SandboxStore": "store",
}

__all__ = [
    "RunningSandbox",
    "SandboxAdmin",
    "SandboxStore",
    "SandboxUser",
    "build_sandbox",
    "create_app",
    "running_sandbox",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(name)
    return getattr(importlib.import_module(f"mlconnector.cleo.sandbox.{_HOMES[name]}"), name)
