"""`agent init`: a self-signed TLS certificate and a per-agent HMAC key, written with mode 0600."""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
import secrets
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

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


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, 0o600)


def init_agent(directory: Path, hostnames: list[str] | None = None, *, force: bool = False) -> AgentFiles:
    """Create the certificate (EC P-256, 5 years, SAN localhost/127.0.0.1/hostname) and a 256-bit HMAC key."""
    files = AgentFiles(Path(directory))
    if files.exists() and not force:
        raise FileExistsError(f"An agent identity already exists in {directory}; pass --force to replace it.")
    files.directory.mkdir(parents=True, exist_ok=True)
    names = list(dict.fromkeys(["localhost", socket.gethostname(), *(hostnames or [])]))
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ml-connector agent")])
    now = dt.datetime.now(dt.UTC)
    san = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=5 * 365))
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    _write_private(
        files.key,
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )
    _write_private(files.cert, cert.public_bytes(serialization.Encoding.PEM))
    _write_private(files.hmac_key_file, secrets.token_hex(32).encode() + b"\n")
    return files
