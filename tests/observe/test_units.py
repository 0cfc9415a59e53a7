"""The pure parts: Sage's stamps in the Sage server's zone, operation labels, the log format switch, config errors."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from mlconnector.observability import logging as logs
from mlconnector.observability.metrics import _operation, sage_time


def test_sage_stamps_are_read_in_the_sage_servers_zone() -> None:
    # 14.5 decimal hours on 3 Dec 2026 in Chicago (UTC-6) is 20:30 UTC.
    assert sage_time("20261203", "14.50000", ZoneInfo("America/Chicago")) == datetime(2026, 12, 3, 20, 30, tzinfo=UTC)
    assert sage_time("20261203", "00.25000", UTC) == datetime(2026, 12, 3, 0, 15, tzinfo=UTC)
    assert sage_time("", "14.5", UTC) is None
    assert sage_time("20261203", "soon", UTC) is None


def test_operation_labels_fold_ids_away() -> None:
    assert _operation("GET", "/api/messages/m-78022b1a95b34fc7/content") == "GET /api/messages/{id}/content"
    assert _operation("POST", "/api/messages?x=1") == "POST /api/messages"


def test_json_logs_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(logs.FORMAT_ENV, raising=False)
    assert not logs.wants_json("console")
    assert logs.wants_json("json")
    assert logs.wants_json("console", flag=True)
    monkeypatch.setenv(logs.FORMAT_ENV, "json")
    assert logs.wants_json("console")


def test_an_unknown_log_level_is_refused() -> None:
    with pytest.raises(ValueError, match="LOUD"):
        logs.configure(level="LOUD", console=False, file=False)


def test_the_log_file_rotates(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import logging

    path = logs.configure(level="INFO", data_dir=tmp_path, console=False, max_bytes=2_000, backups=2)
    try:
        for n in range(200):
            logging.getLogger("mlconnector.test").info("line %d of a long enough message to fill the file", n)
    finally:
        logs.shutdown()
    assert path is not None and path.exists()
    rotated = sorted(p.name for p in tmp_path.iterdir())
    assert rotated == ["ml-connector.log", "ml-connector.log.1", "ml-connector.log.2"]
    assert "line 199 " in path.read_text()
    assert all(p.stat().st_size <= 2_200 for p in tmp_path.iterdir())


def test_timed_jobs_keep_every_step_of_a_job() -> None:
    """Timing wraps collect, each document and the finishing step; dropping one (the inbound poll's single register
    run is its `finish`) would silently leave receipts unposted."""
    from mlconnector.engine import Job
    from mlconnector.observability.metrics import timed_jobs

    calls: list[str] = []
    job = Job(
        "inbound",
        300,
        lambda: calls.append("collect") or ["a"],
        lambda key: calls.append(f"handle {key}") or "done",
        finish=lambda: calls.append("finish"),
    )
    [timed] = timed_jobs([job])
    assert timed.handle is not None and timed.finish is not None
    timed.collect()
    timed.handle("a")
    timed.finish()
    assert calls == ["collect", "handle a", "finish"]


def test_the_level_filters_the_file(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import logging

    monkeypatch.delenv(logs.LEVEL_ENV, raising=False)
    path = logs.configure(level="WARNING", data_dir=tmp_path, console=False)
    try:
        logging.getLogger("mlconnector.test").info("routine detail")
        logging.getLogger("mlconnector.test").warning("worth a look")
    finally:
        logs.shutdown()
    assert path is not None
    text = path.read_text()
    assert "worth a look" in text and "routine detail" not in text
    monkeypatch.setenv(logs.LEVEL_ENV, "debug")  # the variable wins over the file's setting
    path = logs.configure(level="WARNING", data_dir=tmp_path / "d", console=False)
    try:
        logging.getLogger("mlconnector.test").debug("fine detail")
    finally:
        logs.shutdown()
    assert path is not None and "fine detail" in path.read_text()
