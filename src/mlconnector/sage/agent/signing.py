"""Request signing: HMAC-SHA256 over method, path, body hash, timestamp and nonce; replay and staleness checks.

Canonical string (UTF-8, newline-joined): ``METHOD``, path with query, hex SHA-256 of the body, unix timestamp,
nonce. Headers: ``X-ML-Timestamp``, ``X-ML-Nonce``, ``X-ML-Signature`` (hex).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Protocol

TS_HEADER = "x-ml-timestamp"
NONCE_HEADER = "x-ml-nonce"
SIG_HEADER = "x-ml-signature"
MAX_SKEW_SECONDS = 300


class SignatureError(Exception):
    """Why a request was refused (the reason goes in the 401 body; never the key or the expected signature)."""


def canonical(method: str, path: str, body: bytes, timestamp: str, nonce: str) -> bytes:
    return "\n".join([method.upper(), path, hashlib.sha256(body).hexdigest(), timestamp, nonce]).encode()


def sign(key: bytes, method: str, path: str, body: bytes, timestamp: str, nonce: str) -> str:
    return hmac.new(key, canonical(method, path, body, timestamp, nonce), hashlib.sha256).hexdigest()


def signed_headers(key: bytes, method: str, path: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """Fresh timestamp and nonce for every attempt: a retried request is a new request, never a replay."""
    ts = str(int(time.time() if now is None else now))
    nonce = secrets.token_hex(16)
    return {TS_HEADER: ts, NONCE_HEADER: nonce, SIG_HEADER: sign(key, method, path, body, ts, nonce)}


class Nonces(Protocol):
    def add(self, nonce: str, now: float) -> bool:
        """Record the nonce; False if it was already used."""
        ...


class NonceCache:
    """Nonces seen within the staleness window, in memory (tests); a second use of one is a replay."""

    def __init__(self, ttl: float = 2 * MAX_SKEW_SECONDS, max_entries: int = 200_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, nonce: str, now: float) -> bool:
        """Record the nonce; False if it was already used."""
        with self._lock:
            while self._seen and (
                next(iter(self._seen.values())) < now - self.ttl or len(self._seen) > self.max_entries
            ):
                self._seen.popitem(last=False)
            if nonce in self._seen:
                return False
            self._seen[nonce] = now
            return True


class NonceStore:
    """Nonces seen within the staleness window, in a SQLite file beside the agent's key, so a request captured
    before a restart (or a crash) is still refused after it. Each nonce is committed before its request runs."""

    def __init__(self, path: Path, ttl: float = 2 * MAX_SKEW_SECONDS) -> None:
        self.path, self.ttl = Path(path), ttl
        self._lock = threading.Lock()
        self._pruned = 0.0
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # WAL: a commit survives the process dying at once
            self._db.execute("CREATE TABLE IF NOT EXISTS nonces (nonce TEXT PRIMARY KEY, seen REAL NOT NULL)")
            self._db.execute("CREATE INDEX IF NOT EXISTS nonces_seen ON nonces (seen)")
        except sqlite3.Error as exc:
            raise OSError(
                f"Cannot open the agent's replay log {self.path} ({exc}); move it aside to start a new one."
            ) from None

    def add(self, nonce: str, now: float) -> bool:
        with self._lock:
            if now - self._pruned > 60:
                self._db.execute("DELETE FROM nonces WHERE seen < ?", (now - self.ttl,))
                self._pruned = now
            return self._db.execute("INSERT OR IGNORE INTO nonces VALUES (?, ?)", (nonce, now)).rowcount == 1

    def close(self) -> None:
        self._db.close()


def verify(
    key: bytes,
    method: str,
    path: str,
    body: bytes,
    headers: dict[str, str],
    nonces: Nonces,
    now: float | None = None,
) -> None:
    """Raise SignatureError unless the request is signed with `key`, fresh, and not seen before."""
    now = time.time() if now is None else now
    ts, nonce, sig = headers.get(TS_HEADER), headers.get(NONCE_HEADER), headers.get(SIG_HEADER)
    if not ts or not nonce or not sig:
        raise SignatureError("Request is not signed.")
    try:
        ts_value = int(ts)
    except ValueError:
        raise SignatureError("Signature timestamp is not a number.") from None
    if abs(now - ts_value) > MAX_SKEW_SECONDS:
        raise SignatureError("Request timestamp is more than 5 minutes from the agent's clock.")
    if len(nonce) < 16 or len(nonce) > 128:
        raise SignatureError("Nonce must be 16 to 128 characters.")
    if not hmac.compare_digest(sign(key, method, path, body, ts, nonce), sig):
        raise SignatureError("Signature does not match.")
    if not nonces.add(nonce, now):
        raise SignatureError("Nonce already used (replayed request).")
