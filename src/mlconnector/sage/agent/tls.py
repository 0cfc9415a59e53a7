"""`agent init`: a self-signed TLS certificate and a per-agent HMAC key, written with mode 0600."""

from __future__ import annotations

import hashlib
import secrets
import ssl
from dataclasses import dataclass
from pathlib import Path

from mlconnector.tls import self_signed_certificate, write_private

CERT_FILE, KEY_FILE, HMAC_FILE = "agent-cert.pem", "agent-key.pem", "agent-hmac.key"
NONCES_FILE = "agent-nonces.sqlite3"


@dataclass(frozen=True)
class AgentFiles:
    """Where an agent's identity lives; the connector needs the HMAC key and the certificate fingerprint."""

    directory: Path

    @property
    def cert(self) -> Path:
        return self.directory / CERT_FILE

    @property
    def key(self) -> Path:
        return self.directory / KEY_FILE

    @property
    def hmac_key_file(self) -> Path:
        return self.directory / HMAC_FILE

    @property
    def nonces(self) -> Path:
        """The replay log: nonces of the signed requests served in the last 10 minutes."""
        return self.directory / NONCES_FILE

    def exists(self) -> bool:
        return self.cert.exists() and self.key.exists() and self.hmac_key_file.exists()

    def hmac_key(self) -> bytes:
        return bytes.fromhex(self.hmac_key_file.read_text().strip())

    def fingerprint(self) -> str:
        return cert_fingerprint(self.cert.read_bytes())


def cert_fingerprint(pem_or_der: bytes) -> str:
    """SHA-256 of the DER certificate, lowercase hex: what the client pins."""
    der = ssl.PEM_cert_to_DER_cert(pem_or_der.decode()) if pem_or_der.startswith(b"-----") else pem_or_der
    return hashlib.sha256(der).hexdigest()


def init_agent(directory: Path, hostnames: list[str] | None = None, *, force: bool = False) -> AgentFiles:
    """Create the certificate (EC P-256, 5 years, SAN localhost/127.0.0.1/hostname) and a 256-bit HMAC key."""
    files = AgentFiles(Path(directory))
    if files.exists() and not force:
        raise FileExistsError(f"An agent identity already exists in {directory}; pass --force to replace it.")
    files.directory.mkdir(parents=True, exist_ok=True)
    cert, key = self_signed_certificate("ml-connector agent", hostnames)
    write_private(files.key, key)
    write_private(files.cert, cert)
    write_private(files.hmac_key_file, secrets.token_hex(32).encode() + b"\n")
    return files
