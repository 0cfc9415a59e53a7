"""Self-signed TLS identities for our own servers (the agent, the Cleo sandbox) and explicit trust of one.

A self-signed certificate is trusted by naming it — a CA file a client loads or a pinned fingerprint — never by
turning verification off.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def self_signed_certificate(
    common_name: str, hostnames: list[str] | None = None, *, days: int = 5 * 365
) -> tuple[bytes, bytes]:
    """(certificate PEM, private key PEM): EC P-256, SAN localhost, this host, 127.0.0.1 and `hostnames`."""
    names, addresses = [], [ipaddress.ip_address("127.0.0.1")]
    for name in dict.fromkeys(["localhost", socket.gethostname(), *(hostnames or [])]):
        try:
            address = ipaddress.ip_address(name)
        except ValueError:
            names.append(name)
        else:
            if address not in addresses:
                addresses.append(address)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    san = [x509.DNSName(n) for n in names] + [x509.IPAddress(a) for a in addresses]
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def write_private(path: Path, data: bytes) -> None:
    """Write a file readable by its owner only (created 0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, 0o600)


def ensure_self_signed(cert_path: Path, key_path: Path, common_name: str, hostnames: list[str] | None = None) -> Path:
    """Create the certificate and key unless both exist; returns the certificate (what clients are told to trust)."""
    if not (cert_path.exists() and key_path.exists()):
        cert_path.parent.mkdir(parents=True, exist_ok=True)
        cert, key = self_signed_certificate(common_name, hostnames)
        write_private(key_path, key)
        write_private(cert_path, cert)
    return cert_path


def trust_context(ca_file: Path | str) -> ssl.SSLContext:
    """A client context that verifies the server (chain and host name) against `ca_file` only, TLS 1.2 or later."""
    path = Path(ca_file)
    if not path.is_file():
        raise FileNotFoundError(2, "The CA/certificate file to trust does not exist", str(path))
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(path))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx
