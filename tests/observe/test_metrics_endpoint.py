"""The /metrics endpoint: a bearer token when one is stored, slow clients dropped, the store read at scrape time."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mlconnector.observability import metrics
from mlconnector.store import Store
from mlconnector.store.ops import raise_exception

TOKEN = "scrape-token-0123456789"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'state.sqlite'}")
    yield store
    store.close()


@pytest.fixture
def endpoint(store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, int]]:
    monkeypatch.setattr(metrics._Handler, "timeout", 0.5)
    server, port = metrics.serve(store, host="127.0.0.1", port=0, token=TOKEN)
    try:
        yield f"http://127.0.0.1:{port}/metrics", port
    finally:
        server.shutdown()
        server.server_close()


def test_a_scrape_needs_the_token(endpoint: tuple[str, int], store: Store) -> None:
    url, _ = endpoint
    assert httpx.get(url, timeout=5).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer wrong"}, timeout=5).status_code == 401
    with store.transaction() as session:
        for n in range(3):
            raise_exception(session, kind="stalled", what="w", why="y", suggested_fix="f", document_ref=f"PO:{n}")
    answer = httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    assert answer.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(answer.text)}
    (sample,) = families["mlc_open_exceptions"].samples
    assert sample.labels == {"kind": "stalled"} and sample.value == 3


def test_a_slow_client_is_dropped(endpoint: tuple[str, int]) -> None:
    _, port = endpoint
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET /metrics HTTP/1.1\r\n")  # and never finishes the request
        started = time.monotonic()
        assert sock.recv(1024) == b""  # the server hung up
        assert time.monotonic() - started < 4
