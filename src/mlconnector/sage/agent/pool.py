"""BOI sessions pooled per (user, company), each on its own thread, used by one caller at a time.

A COM session is apartment-bound and serial (reference §1), so every pooled session owns a single worker thread:
calls queue on it, and COM is initialised once on that thread.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from mlconnector.sage.boi import BoiBackend
from mlconnector.sage.errors import RetryPolicy, SageError
from mlconnector.sage.gateway import SageGateway

T = TypeVar("T")
_SALT = secrets.token_bytes(16)


def _digest(password: str) -> bytes:
    """Keep only a salted digest to compare later calls' passwords; the password itself is not stored."""
    return hmac.new(_SALT, password.encode(), hashlib.sha256).digest()


class _Entry:
    def __init__(self, backend: BoiBackend) -> None:
        self.executor = ThreadPoolExecutor(max_workers=1, initializer=backend.thread_init, thread_name_prefix="boi")
        self.gateway: SageGateway | None = None
        self.digest = b""


class SessionPool:
    """Opens a gateway the first time a (user, company) calls and reuses it while the password matches."""

    def __init__(
        self,
        backend: BoiBackend,
        policy: RetryPolicy | None = None,
        max_sessions: int = 8,
        fault_hook: Callable[[str], None] | None = None,
    ) -> None:
        self.backend = backend
        self.policy = policy or RetryPolicy()
        self.max_sessions = max_sessions
        self.fault_hook = fault_hook
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def _entry(self, user: str, company: str) -> _Entry:
        with self._lock:
            key = (user.upper(), company.upper())
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = _Entry(self.backend)
                while len(self._entries) > self.max_sessions:
                    _, old = self._entries.popitem(last=False)
                    old.executor.submit(self._close, old)
                    old.executor.shutdown(wait=False)
            self._entries.move_to_end(key)
            return entry

    def run(self, user: str, password: str, company: str, op: Callable[[SageGateway], T]) -> T:
        """Run `op` on the session's own thread; bad credentials raise SageAuthError and open nothing."""
        entry = self._entry(user, company)
        digest = _digest(password)

        def call() -> T:
            if entry.gateway is None or not hmac.compare_digest(entry.digest, digest):
                fresh = SageGateway(self.backend, user, password, company, policy=self.policy)
                self._close(entry)
                entry.gateway, entry.digest = fresh, digest
            entry.gateway.fault_hook = self.fault_hook
            try:
                return op(entry.gateway)
            except SageError:
                raise
            except Exception:
                with contextlib.suppress(Exception):  # a COM error may leave the session unusable:
                    self._close(entry)  # drop it, and the next call opens a fresh one
                raise

        return entry.executor.submit(call).result()

    @staticmethod
    def _close(entry: _Entry) -> None:
        if entry.gateway is not None:
            try:
                entry.gateway.close()
            finally:
                entry.gateway = None

    def close(self) -> None:
        with self._lock:
            entries = list(self._entries.values())
            self._entries.clear()
        for entry in entries:
            entry.executor.submit(self._close, entry).result()
            entry.executor.shutdown(wait=True)
