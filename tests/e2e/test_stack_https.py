"""The stack the demo and every end-to-end test run on talks to Cleo over HTTPS, trusting the sandbox's self-signed
certificate because the config names it, not because verification is off or the system store happens to have it."""

from __future__ import annotations

import httpx
import pytest
from cryptography import x509

from mlconnector.config import load_settings
from mlconnector.demo import Stack

pytestmark = pytest.mark.slow


def test_the_demo_stack_reaches_cleo_over_https_with_the_named_certificate(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLC_CONFIG", str(stack.config))
    cleo = load_settings().cleo
    assert cleo.base_url == f"https://127.0.0.1:{stack.cleo_port}" == stack.cleo_url
    assert cleo.ca_file is not None and cleo.ca_file == stack.cleo_ca_file
    certificate = x509.load_pem_x509_certificate(cleo.ca_file.read_bytes())
    assert certificate.issuer == certificate.subject, "the sandbox's own self-signed certificate"

    # The sandbox speaks TLS only: a plain-HTTP request gets no HTTP answer at all.
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{stack.cleo_port}/api/partners", timeout=5)
    # Without the named certificate the system's CAs refuse the sandbox.
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{stack.cleo_url}/api/partners", timeout=5)

    # The connector, as a separate process reading this config, logs in to Cleo over that TLS connection.
    status = stack.connector("status", env={"COLUMNS": "200"})
    assert status.returncode == 0, status.stdout + status.stderr
    assert "Cleo: OK — reachable, login accepted" in status.stdout
