"""The outbound guarantees over real processes: agent and Cleo sandbox as servers, the connector as a command,
kill -9 at the dangerous moments, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

import mlconnector.x12 as x12
from mlconnector.demo import Stack, cleo_outbound_messages, create_purchase_orders, demo_environment, start_stack
from mlconnector.sage.sim.demo import PurchasingClerk
from mlconnector.store.models import ExceptionRecord

pytestmark = pytest.mark.slow


@pytest.fixture
def stack(tmp_path: Path, database_url: str) -> Iterator[Stack]:
    with demo_environment(tmp_path / "stack") as processes:
        built = start_stack(tmp_path / "stack", processes, database_url=database_url)
        try:
            yield built
        finally:
            built.store.close()


def sync(stack: Stack, *jobs: str, env: dict[str, str] | None = None, expect: int = 0) -> str:
    result = stack.connector("sync", "now", *(jobs or ("pos",)), env=env)
    assert result.returncode == expect, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def po_numbers_in_cleo(stack: Stack) -> list[tuple[str, str]]:
    """(PO number, BEG01 purpose) of every 850 in the sandbox, in arrival order."""
    found = []
    for message in cleo_outbound_messages(stack):
        (received,) = x12.read_documents(message["payload"])
        found.append((received.document.po_number, received.document.purpose.value))
    return found


def open_exceptions(stack: Stack) -> list[ExceptionRecord]:
    with stack.store.transaction() as session:
        return list(session.scalars(select(ExceptionRecord).where(ExceptionRecord.status == "open")))


def assert_control_numbers_without_gap(stack: Stack) -> None:
    per_partner: dict[str, list[int]] = defaultdict(list)
    for message in cleo_outbound_messages(stack):
        per_partner[message["partner"]].append(int(message["icn"]))
    for partner, icns in per_partner.items():
        assert sorted(icns) == list(range(1, len(icns) + 1)), f"{partner}: ICNs {sorted(icns)}"


def test_pos_changes_unmapped_vendor_and_replay(stack: Stack) -> None:
    pos = create_purchase_orders(stack, 6, unmapped=1)
    mapped, held = pos[:-1], pos[-1]
    sync(stack)
    assert sorted(p for p, _ in po_numbers_in_cleo(stack)) == sorted(mapped)
    sync(stack)
    assert len(po_numbers_in_cleo(stack)) == 6, "re-reading unchanged POs sends nothing"

    clerk = PurchasingClerk(stack.sim)
    try:
        clerk.change_po(mapped[0], "000001", 77)
    finally:
        clerk.close()
    sync(stack)
    assert po_numbers_in_cleo(stack)[-1] == (mapped[0], "05")
    assert len(po_numbers_in_cleo(stack)) == 7, "one change, one document"

    (exception,) = open_exceptions(stack)
    assert (exception.kind, exception.document_ref) == ("unmapped_vendor", f"PO:{held}")
    listing = stack.connector("exceptions", "list", env={"COLUMNS": "250"}).stdout
    assert f"{exception.id} " in listing and "unmapped_vendor" in listing and f"PO:{held}" in listing, listing
    shown = stack.connector("exceptions", "show", str(exception.id), env={"COLUMNS": "250"})
    assert shown.returncode == 0, shown.stderr
    assert f"#{exception.id} unmapped_vendor (open," in shown.stdout
    assert f"What: PO {held} is held: it was not sent to Cleo" in shown.stdout
    assert f"Why: Vendor {stack.unmapped} has no Cleo trading partner." in shown.stdout
    assert f"Fix: ml-connector map vendor {stack.unmapped} PARTNER" in shown.stdout
    mapped_now = stack.connector("map", "vendor", stack.unmapped, stack.aliases[stack.unmapped])
    assert mapped_now.returncode == 0, mapped_now.stderr
    sync(stack)
    assert po_numbers_in_cleo(stack)[-1] == (held, "00")
    assert open_exceptions(stack) == [], "mapping the vendor resolved the exception"

    replayed = stack.connector("replay", "--since", "2000-01-01")
    assert replayed.returncode == 0, replayed.stderr
    assert "8 already in Cleo" in replayed.stdout
    assert len(po_numbers_in_cleo(stack)) == 8, "replaying everything sends nothing new"
    assert_control_numbers_without_gap(stack)


@pytest.mark.parametrize(
    ("fault", "after"),
    [("after_allocating_control_numbers", "2"), ("after_post_before_recording", "2"), ("mid_batch", "3")],
)
def test_kill_9_then_restart_sends_each_po_exactly_once(stack: Stack, fault: str, after: str) -> None:
    pos = create_purchase_orders(stack, 6)
    killed = stack.connector("sync", "now", "pos", env={"MLC_FAULT_AT": fault, "MLC_FAULT_AFTER": after})
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    sync(stack)
    sync(stack)  # and once more: a settled system sends nothing
    arrived = [p for p, _ in po_numbers_in_cleo(stack)]
    assert sorted(arrived) == sorted(pos), "every PO exactly once"
    assert_control_numbers_without_gap(stack)


def test_status_and_credentials_test_speak_plainly(stack: Stack) -> None:
    create_purchase_orders(stack, 2)
    sync(stack)
    status = stack.connector("status", env={"COLUMNS": "200"})
    assert status.returncode == 0, status.stderr
    assert "outbound sent" in status.stdout and "agent: OK — reachable" in status.stdout
    assert "Cleo: OK — reachable, login accepted" in status.stdout

    wrong = subprocess.run(
        [sys.executable, "-P", "-m", "mlconnector", "credentials", "set", "cleo", "--stdin"],
        input='{"username": "demo", "password": "not-it"}',
        env={**os.environ, **stack.connector_env()},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert wrong.returncode == 0, wrong.stderr
    checked = stack.connector("credentials", "test", env={"COLUMNS": "200"})
    assert checked.returncode == 1  # a monitor sees it: Cleo is not usable with these credentials
    assert "agent: OK — reachable" in checked.stdout
    assert "Cleo: NOT USABLE" in checked.stdout and "not-it" not in checked.stdout + checked.stderr
    assert "Traceback" not in checked.stderr
