"""The agent's operations are declared once: routes and client methods come from the table and agree with it."""

from __future__ import annotations

import inspect
from pathlib import Path

from mlconnector.sage.agent.client import AgentClient
from mlconnector.sage.agent.operations import HEALTH_PATH, OPERATIONS, PATHS
from mlconnector.sage.agent.server import create_app
from mlconnector.sage.gateway import SageGateway
from mlconnector.sage.sim.script import SimBackend


def test_each_request_model_carries_exactly_the_gateway_calls_parameters() -> None:
    for name, op in OPERATIONS.items():
        params = [p for p in inspect.signature(op.call).parameters if p != "self"]
        fields = [f for f in op.request.model_fields if f != "credentials"]
        assert fields == params, name
        assert op.call is getattr(SageGateway, name)


def test_the_agents_routes_are_the_table(tmp_path: Path) -> None:
    app = create_app(SimBackend(tmp_path / "sage"), b"k" * 32)
    routes = {route.path: sorted(route.methods) for route in app.app.routes if hasattr(route, "methods")}
    assert routes == {path: [method] for path, method in PATHS.items()}
    assert PATHS[HEALTH_PATH] == "GET"


def test_the_client_has_one_method_per_operation_with_the_gateways_signature() -> None:
    for name, op in OPERATIONS.items():
        method = getattr(AgentClient, name)
        assert inspect.signature(method) == inspect.signature(op.call), name
    gateway_ops = {n for n, v in vars(SageGateway).items() if callable(v) and n in OPERATIONS}
    assert gateway_ops == set(OPERATIONS)
