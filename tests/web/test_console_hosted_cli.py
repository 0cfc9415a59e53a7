"""`ml-connector users …` and `ml-connector web` in a hosted deployment (hosted = true, PostgreSQL): users are the
platform's, each with the tenants they may see; the console the CLI builds serves each user their tenants only, and
`--tenant ID web` only that tenant."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mlconnector.commands.context import Context
from mlconnector.store.ops import audit
from mlconnector.web.cli import console_services
from tenants.hosting import Hosted, hosted_config

from .conftest import serving

pytestmark = pytest.mark.postgres
PASSWORD = "a-long-console-password"


@pytest.fixture
def deployment(tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hosted]:
    key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    hosted = Hosted(hosted_config(tmp_path, postgres_url, hosted="true"), postgres_url, key, [])
    for name, value in hosted.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MLC_TENANT_ID", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    for tenant in ("acme", "beta"):
        added = hosted.cli(
            "tenants", "add", tenant, "--cleo-url", "https://127.0.0.1:9", "--agent-url", "https://127.0.0.1:9"
        )
        assert added.exit_code == 0, added.output
        with hosted.store(tenant).transaction() as session:
            audit(
                session,
                direction="OUT",
                document_type="850",
                source_id=tenant,
                status="staged",
                message=f"{tenant.upper()}-MARK",
            )
    try:
        yield hosted
    finally:
        for store in hosted.stores:
            store.close()


def add(hosted: Hosted, *args: str):  # type: ignore[no-untyped-def]
    return hosted.cli("users", "add", *args, "--password-stdin", input=PASSWORD + "\n")


def test_users_belong_to_tenants(deployment: Hosted) -> None:
    assert add(deployment, "ann", "--role", "operator", "--tenants", "acme").exit_code == 0
    missing = add(deployment, "xena")
    assert missing.exit_code == 1 and "Say which tenants" in missing.output and "Traceback" not in missing.output
    unknown = add(deployment, "yuri", "--tenants", "acme,nosuch")
    assert unknown.exit_code == 1 and "No tenant 'nosuch'" in unknown.output
    assert (
        deployment.cli("--tenant", "beta", "users", "add", "bob", "--password-stdin", input=PASSWORD + "\n").exit_code
        == 0
    )
    assert add(deployment, "pat", "--role", "admin", "--all-tenants").exit_code == 0
    listing = deployment.cli("users", "list").output
    rows = {line.split()[1]: line for line in listing.splitlines() if line.startswith("│")}
    assert "acme" in rows["ann"] and "beta" not in rows["ann"] and "beta" in rows["bob"] and "all" in rows["pat"]
    assert "yuri" not in rows and "xena" not in rows  # a refused add leaves no user behind
    assert deployment.cli("users", "grant", "ann", "--tenants", "beta").exit_code == 0
    assert "acme, beta" in deployment.cli("users", "list").output
    assert "1 tenant(s) taken away" in deployment.cli("users", "revoke", "ann", "--tenants", "beta").output
    # Nothing of it is in a tenant's own store: the users are the platform's.
    with deployment.store("acme").transaction() as session:
        from mlconnector.web.users import list_users

        assert list_users(session) == []


def sees(url: str, username: str) -> str:
    with httpx.Client(base_url=url, timeout=20) as client:
        token = client.get("/login").text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        client.post("/login", data={"csrf_token": token, "username": username, "password": PASSWORD})
        return client.get("/audit", params={"q": "MARK"}).text


@pytest.mark.parametrize("only", [None, "acme"])
def test_the_console_the_cli_serves_shows_each_user_their_tenants(
    deployment: Hosted, monkeypatch: pytest.MonkeyPatch, only: str | None
) -> None:
    """`ml-connector web` (hosted) and `ml-connector --tenant acme web` (acme only), as the command wires them."""
    assert add(deployment, "ann", "--tenants", "acme").exit_code == 0
    assert add(deployment, "bob", "--tenants", "beta").exit_code == 0
    assert add(deployment, "pat", "--all-tenants").exit_code == 0
    if only:
        monkeypatch.setenv("MLC_TENANT_ID", only)
    ctx = Context.open()
    url, server, thread = serving(console_services(ctx))
    try:
        ann, bob, pat = sees(url, "ann"), sees(url, "bob"), sees(url, "pat")
        assert "ACME-MARK" in ann and "BETA-MARK" not in ann
        assert "ACME-MARK" in pat and "BETA-MARK" not in pat  # pat starts on the first tenant
        if only:
            assert "belongs to no tenant" in bob and "BETA-MARK" not in bob
            assert 'id="tenant-switch"' not in pat  # this console serves acme alone
        else:
            assert "BETA-MARK" in bob and "ACME-MARK" not in bob
            assert 'id="tenant-switch"' in pat
    finally:
        server.should_exit = True  # type: ignore[attr-defined]
        thread.join(10)
        ctx.store.close()
