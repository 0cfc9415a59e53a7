"""The Cleo sandbox: a stand-in Cleo tenant (cleo-api.md §8–9) with simulated trading partners and fault injection."""

from mlconnector.cleo.sandbox.app import SandboxUser, create_app
from mlconnector.cleo.sandbox.server import RunningSandbox, SandboxAdmin, build_sandbox, running_sandbox
from mlconnector.cleo.sandbox.store import SandboxStore

__all__ = [
    "RunningSandbox",
    "SandboxAdmin",
    "SandboxStore",
    "SandboxUser",
    "build_sandbox",
    "create_app",
    "running_sandbox",
]
