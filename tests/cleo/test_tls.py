"""Cleo over HTTPS: the client trusts the sandbox's self-signed certificate because it is named, and nothing else."""

from __future__ import annotations

import datetime as dt
import re
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mlconnector.cleo import CleoClient, CleoCredentials, CleoSession, CleoTrustError, RetryPolicy
from mlconnector.cleo.sandbox import RunningSandbox, running_sandbox
from mlconnector.cleo.sandbox.server import CERT_FILE, KEY_FILE
from mlconnector.tls import ensure_self_signed

from .support import FAST_RETRY, PASSWORD, USER


@pytest.fixture
def https_sandbox(tmp_path: Path) -> Iterator[RunningSandbox]:
    with running_sandbox(data_dir=tmp_path, tls_dir=tmp_path / "tls") as running:
        yield running


def client(sandbox: RunningSandbox, **options: object) -> CleoClient:
    options.setdefault("retry", FAST_RETRY)
    return CleoClient.connect(
        sandbox.base_url,
        CleoCredentials(USER, PASSWORD),
        timeout=5.0,
        **options,  # type: ignore[arg-type]
    )


def test_the_sandbox_serves_https_and_a_client_trusting_its_certificate_works(https_sandbox: RunningSandbox) -> None:
    assert https_sandbox.base_url.startswith("https://127.0.0.1:")
    assert https_sandbox.ca_file is not None and https_sandbox.ca_file.read_bytes().startswith(b"-----BEGIN CERT")
    with client(https_sandbox, ca_file=https_sandbox.ca_file) as cleo:
        cleo.list_partners()
        cleo.list_partners()
        assert cleo.logins == 1
    assert https_sandbox.admin().stats()["logins"] == 1, "the admin handle trusts the same certificate"


def test_without_the_certificate_the_system_cas_refuse_it_at_once(https_sandbox: RunningSandbox) -> None:
    slow_retries = RetryPolicy(attempts=3, wait_initial=30, wait_max=30, wait_jitter=0, total_timeout=120)
    started = time.monotonic()
    with (
        client(https_sandbox, retry=slow_retries) as cleo,
        pytest.raises(CleoTrustError, match=r"not trusted.*ca_file") as info,
    ):
        cleo.list_partners()
    # The reason is OpenSSL's own verdict, not just our sentence (which always says "certificate").
    assert re.search(r"is not trusted \(self[- ]signed certificate\)", str(info.value)), str(info.value)
    assert time.monotonic() - started < 25, "not retried: a retry would first wait 30 s"
    assert https_sandbox.store.query_messages("demo", [], 0, 10)[1] == 0


def test_trusting_another_certificate_refuses_the_sandbox(https_sandbox: RunningSandbox, tmp_path: Path) -> None:
    other = ensure_self_signed(tmp_path / "other" / "cert.pem", tmp_path / "other" / "key.pem", "someone else")
    with client(https_sandbox, ca_file=other) as cleo, pytest.raises(CleoTrustError):
        cleo.list_partners()


def test_verification_cannot_be_switched_off_and_a_missing_ca_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot be turned off"):
        CleoSession("https://cleo.example.com", CleoCredentials(USER, PASSWORD), verify=False)
    with pytest.raises(FileNotFoundError) as info:
        CleoClient.connect("https://cleo.example.com", CleoCredentials(USER, PASSWORD), ca_file=tmp_path / "nope.pem")
    assert info.value.filename == str(tmp_path / "nope.pem")


def certificate_for_another_host(tls_dir: Path) -> None:
    """The sandbox's certificate files, but naming only cleo.example.com (no localhost, no 127.0.0.1)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cleo.example.com")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("cleo.example.com")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    tls_dir.mkdir()
    (tls_dir / CERT_FILE).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tls_dir / KEY_FILE).write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


def test_the_certificate_must_name_the_host(tmp_path: Path) -> None:
    """Trusting a certificate is not enough: it must be issued for the host in the URL."""
    certificate_for_another_host(tmp_path / "tls")
    with running_sandbox(data_dir=tmp_path, tls_dir=tmp_path / "tls") as sandbox:
        assert sandbox.ca_file == tmp_path / "tls" / CERT_FILE
        with client(sandbox, ca_file=sandbox.ca_file) as cleo, pytest.raises(CleoTrustError, match="mismatch"):
            cleo.list_partners()


def test_sessions_on_the_system_trust_share_one_verifying_context(https_sandbox: RunningSandbox) -> None:
    """A hosted worker opens a Cleo session per tenant: they share one context (each holds the whole CA bundle), and
    it still verifies — the sandbox's self-signed certificate is refused without `ca_file`."""
    sessions = [CleoSession(https_sandbox.base_url, CleoCredentials(USER, PASSWORD), retry=FAST_RETRY) for _ in "ab"]
    try:
        contexts = [s._http._transport._pool._ssl_context for s in sessions]  # type: ignore[attr-defined]
        assert contexts[0] is contexts[1]
        assert contexts[0].verify_mode == ssl.CERT_REQUIRED and contexts[0].check_hostname
        with pytest.raises(CleoTrustError):
            CleoClient(sessions[0]).list_inbound(count=1)
    finally:
        for s in sessions:
            s.close()
