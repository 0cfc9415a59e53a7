"""RFC 6238 TOTP codes: the sandbox checks them at login, and callers (or tests) can produce one from a secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time


def totp(secret_b32: str, *, at: float | None = None, step: int = 30, digits: int = 6) -> str:
    """The code for `at` (default now) from a base32 secret, as authenticator apps show it."""
    key = base64.b32decode(secret_b32.upper() + "=" * (-len(secret_b32) % 8))
    counter = int((time.time() if at is None else at) // step)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def verify_totp(secret_b32: str, code: str, *, at: float | None = None, window: int = 1, step: int = 30) -> bool:
    """True when `code` matches the current step or one within `window` steps (clock drift)."""
    now = time.time() if at is None else at
    return any(
        hmac.compare_digest(totp(secret_b32, at=now + k * step, step=step), code) for k in range(-window, window + 1)
    )
