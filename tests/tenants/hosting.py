"""A hosted deployment for the tenant tests: an ml-connector.toml on a fresh PostgreSQL database, a master key."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlconnector.cli import app
from mlconnector.config import write_config
from mlconnector.store import Store
from mlconnector.store.platform import tenant_schema
from mlconnector.vault import MasterKey, Vault


@dataclass
class Hosted:
    config: Path
    database_url: str
    master_key: str
    stores: list[Store]

    def env(self, **extra: str) -> dict[str, str]:
        return {"MLC_CONFIG": str(self.config), "MLC_MASTER_KEY": self.master_key, "MLC_KEYRING": "off", **extra}

    def cli(self, *args: str, input: str | None = None, **env: str):  # type: ignore[no-untyped-def]
        """One `ml-connector …` in this process (MLC_TENANT_ID, which `--tenant` sets, is undone afterwards)."""
        return CliRunner().invoke(app, list(args), input=input, env={**self.env(**env), "MLC_TENANT_ID": ""})

    def store(self, tenant: str) -> Store:
        store = Store(self.database_url, schema=tenant_schema(tenant))
        self.stores.append(store)
        return store

    def vault(self, tenant: str) -> Vault:
        key = MasterKey(base64.urlsafe_b64decode(self.master_key), "env")
        return Vault(self.store(tenant), key, tenant)


def hosted_config(directory: Path, database_url: str, **settings: str) -> Path:
    config = directory / "ml-connector.toml"
    write_config(config, tenant="hosting", data_dir=str(directory / "var"))
    lines = [f'database_url = "{database_url}"', *(f"{k} = {v}" for k, v in settings.items())]
    text = config.read_text().replace('# database_url = ""', "\n".join(lines))
    config.write_text(text)
    return config


@pytest.fixture
def hosted(tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hosted]:
    key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    deployment = Hosted(hosted_config(tmp_path, postgres_url), postgres_url, key, [])
    for name, value in deployment.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MLC_TENANT_ID", raising=False)
    try:
        yield deployment
    finally:
        for store in deployment.stores:
            store.close()
