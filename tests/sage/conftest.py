"""Fixtures for the Sage side: a seeded simulated company, both backends, gateways with instant backoff."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlconnector.sage.com import ComBackend
from mlconnector.sage.errors import RetryPolicy
from mlconnector.sage.gateway import SageGateway
from mlconnector.sage.sim.script import SimBackend

from .fake_com import fake_dispatch_for, make_variant

USER, PASSWORD, COMPANY = "ml", "ml-demo", "ABC"


def no_wait_policy(attempts: int = 4, sleep: Any = None) -> RetryPolicy:
    return RetryPolicy(
        attempts=attempts, wait_initial=0.0, wait_max=0.0, jitter=0.0, retry_after=7, sleep=sleep or (lambda _s: None)
    )


@pytest.fixture
def sim(tmp_path: Path) -> SimBackend:
    """Company ABC with 6 generated POs in a temporary data dir."""
    backend = SimBackend(tmp_path / "sage")
    backend.init_company(purchase_orders=6)
    return backend


@pytest.fixture(params=["simulator", "com-fake"])
def backend(request: pytest.FixtureRequest, sim: SimBackend) -> Any:
    """The same company reached directly or through the COM marshalling code over a fake pywin32 Dispatch."""
    if request.param == "simulator":
        return sim
    return ComBackend(sim.home(), dispatch=fake_dispatch_for(sim), variant=make_variant, co_initialize=lambda: None)


@pytest.fixture
def gateway(backend: Any) -> Iterator[SageGateway]:
    gw = SageGateway(backend, USER, PASSWORD, COMPANY, policy=no_wait_policy())
    yield gw
    gw.close()
