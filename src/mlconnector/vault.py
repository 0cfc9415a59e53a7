"""Credentials encrypted at rest: AES-GCM with the tenant and entry name as associated data.

The master key comes, in order, from the OS keyring where a real one exists (Windows Credential Manager, macOS
Keychain), from `MLC_MASTER_KEY` (url-safe base64 of 32 bytes), or from a key file created with mode 0600 by
`ml-connector init`. Binding (tenant, name) as associated data means a ciphertext copied to another tenant or
entry does not decrypt. Secrets are handed out as `Secret` so they never show in a repr, a log line or a traceback.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select

from mlconnector.store import Store
from mlconnector.store.models import Credential

KEYRING_SERVICE = "ml-connector"
KEY_ENV = "MLC_MASTER_KEY"
KEY_FILE_NAME = "master.key"
ENTRY_NAMES = ("sage", "cleo", "agent", "smtp", "webhook", "slack", "metrics", "hub")  # smtp…slack: alerts


class VaultError(Exception):
    """A vault problem a person can act on (the message says what to do)."""


class Secret:
    """A string that does not print itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and secrets.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash(("Secret", hashlib.sha256(self._value.encode()).digest()))


@dataclass(frozen=True, slots=True)
class MasterKey:
    key: bytes
    source: str

    @property
    def key_id(self) -> str:
        """A short fingerprint stored beside each entry, so a wrong key is named rather than a cryptic failure."""
        return hashlib.sha256(b"ml-connector-key-id" + self.key).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"MasterKey(id={self.key_id}, source={self.source})"


def _decode_key(text: str, where: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip().encode())
    except (binascii.Error, ValueError) as exc:
        raise VaultError(f"The master key in {where} is not valid base64.") from exc
    if len(key) != 32:
        raise VaultError(f"The master key in {where} must be 32 bytes (url-safe base64), not {len(key)}.")
    return key


def encode_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode()


def _real_keyring():  # type: ignore[no-untyped-def]
    """The OS keyring, or None on a headless box where keyring only has its failing or plaintext backends
    (or when `MLC_KEYRING=off`, for a machine whose keyring must not be used, such as a test run)."""
    if os.environ.get("MLC_KEYRING", "").lower() in ("off", "0", "no"):
        return None
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:  # pragma: no cover - keyring is a dependency
        return None
    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 0) < 1:
        return None
    name = type(backend).__module__
    if not any(part in name for part in ("Windows", "macOS", "SecretService", "kwallet", "libsecret")):
        return None
    return keyring


def load_master_key(key_dir: Path, tenant: str, *, create: bool = False) -> MasterKey:
    """Find the master key (keyring → env → key file); with `create`, make a new key file when none exists."""
    ring = _real_keyring()
    if ring is not None:
        stored = ring.get_password(KEYRING_SERVICE, f"master-key:{tenant}")
        if stored:
            return MasterKey(_decode_key(stored, "the OS keyring"), "keyring")
        if create:
            key = AESGCM.generate_key(bit_length=256)
            ring.set_password(KEYRING_SERVICE, f"master-key:{tenant}", encode_key(key))
            return MasterKey(key, "keyring")
    env = os.environ.get(KEY_ENV)
    if env:
        return MasterKey(_decode_key(env, KEY_ENV), "env")
    path = key_dir / KEY_FILE_NAME
    if path.exists():
        return MasterKey(_decode_key(path.read_text(), str(path)), "file")
    if not create:
        raise VaultError(
            f"No master key: set {KEY_ENV}, or run `ml-connector init` to create {path} (keep a backup of it)."
        )
    return write_key_file(path, AESGCM.generate_key(bit_length=256))


def write_key_file(path: Path, key: bytes) -> MasterKey:
    """Write a key file readable by its owner only (created 0600, never world-readable even briefly)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(encode_key(key) + "\n")
    os.replace(tmp, path)
    return MasterKey(key, "file")


class Vault:
    """Encrypted credential entries (`sage`, `cleo`, `agent`) for one tenant, stored in the connector's database."""

    def __init__(self, store: Store, key: MasterKey, tenant: str) -> None:
        self._store = store
        self._key = key
        self.tenant = tenant

    def _aad(self, name: str) -> bytes:
        return f"ml-connector|{self.tenant}|{name}".encode()

    def put(self, name: str, fields: dict[str, str]) -> None:
        if name not in ENTRY_NAMES:
            raise VaultError(f"Unknown credential {name!r}: use one of {', '.join(ENTRY_NAMES)}.")
        nonce = os.urandom(12)
        ciphertext = AESGCM(self._key.key).encrypt(nonce, json.dumps(fields).encode(), self._aad(name))
        with self._store.transaction() as session:
            row = session.get(Credential, (self.tenant, name))
            if row is None:
                session.add(
                    Credential(
                        tenant=self.tenant, name=name, key_id=self._key.key_id, nonce=nonce, ciphertext=ciphertext
                    )
                )
            else:
                row.key_id, row.nonce, row.ciphertext = self._key.key_id, nonce, ciphertext

    def get(self, name: str) -> dict[str, Secret]:
        with self._store.transaction() as session:
            row = session.get(Credential, (self.tenant, name))
            if row is None:
                raise VaultError(
                    f"No {name} credentials for tenant {self.tenant}: run `ml-connector credentials set {name}`."
                )
            return {k: Secret(v) for k, v in self._decrypt(row, self._key).items()}

    def names(self) -> list[str]:
        with self._store.transaction() as session:
            return list(session.scalars(select(Credential.name).where(Credential.tenant == self.tenant)))

    def _decrypt(self, row: Credential, key: MasterKey) -> dict[str, str]:
        if row.key_id != key.key_id:
            raise VaultError(
                f"The {row.name} credentials were encrypted with master key {row.key_id}, but this machine has key "
                f"{key.key_id} ({key.source}). Restore the original key file or {KEY_ENV},"
                " or set the credentials again."
            )
        try:
            plain = AESGCM(key.key).decrypt(row.nonce, row.ciphertext, self._aad(row.name))
        except InvalidTag as exc:
            raise VaultError(
                f"The stored {row.name} credentials do not decrypt (tampered, or copied from another tenant). "
                f"Set them again with `ml-connector credentials set {row.name}`."
            ) from exc
        return json.loads(plain)

    def rotate_key(self, new_key: MasterKey) -> int:
        """Re-encrypt every entry of this tenant under `new_key` in one transaction; returns how many."""
        with self._store.transaction() as session:
            rows = list(session.scalars(select(Credential).where(Credential.tenant == self.tenant)))
            for row in rows:
                plain = self._decrypt(row, self._key)
                nonce = os.urandom(12)
                row.ciphertext = AESGCM(new_key.key).encrypt(nonce, json.dumps(plain).encode(), self._aad(row.name))
                row.nonce, row.key_id = nonce, new_key.key_id
        self._key = new_key
        return len(rows)
