"""A message the sandbox holds always has its partner's answers coming: the 850 and the answers it schedules are
one transaction (a sandbox killed between two commits had kept an accepted 850 whose partner never answered, and
the connector's retry, answered 409 for the known ICN, could never make it answer)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlconnector.cleo.sandbox.store import SandboxStore

PAYLOAD = "ISA*00*..."


class Killed(BaseException):
    """The process dying mid-request (not an Exception: nothing in the sandbox may swallow it)."""


def _schedule_then(store: SandboxStore, then: BaseException | None) -> Any:
    def answers(message: dict[str, Any]) -> None:
        store.schedule("demo", 1.0, "deliver", message_id=message["id"])
        store.next_counter("demo", "HARBOR", "interchange")
        if then is not None:
            raise then

    return answers


def _create(store: SandboxStore, icn: str, on_created: Any) -> tuple[dict[str, Any], bool]:
    return store.create_outbound("demo", "HARBOR", "850", PAYLOAD, icn, f"key-{icn}", on_created=on_created)


def test_killed_while_scheduling_keeps_neither_and_the_retry_gets_both(tmp_path: Path) -> None:
    store = SandboxStore(tmp_path / "sandbox.sqlite")
    with pytest.raises(Killed):
        _create(store, "000000001", _schedule_then(store, Killed()))
    assert store.pending_events("demo") == 0
    assert store.query_messages("demo", [], 0, 10)[1] == 0  # the 850 was not kept either
    message, replayed = _create(store, "000000001", _schedule_then(store, None))
    assert not replayed and message["icn"] == "000000001"
    assert store.pending_events("demo") == 1


def test_a_partner_bug_keeps_the_message_and_drops_only_its_answers(tmp_path: Path) -> None:
    store = SandboxStore(tmp_path / "sandbox.sqlite")
    message, replayed = _create(store, "000000002", _schedule_then(store, ValueError("bad plan")))
    assert not replayed and store.query_messages("demo", [], 0, 10)[1] == 1
    assert store.pending_events("demo") == 0  # the half-scheduled answers rolled back with their savepoint
    assert store.stats("demo")["simulation_errors"] == 1
    assert store.next_counter("demo", "HARBOR", "interchange") == 1  # the counter's bump rolled back too
    again, replayed = _create(store, "000000002", _schedule_then(store, None))
    assert replayed and again["id"] == message["id"] and store.pending_events("demo") == 0
