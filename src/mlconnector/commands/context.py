"""What every connector command opens: settings, store, vault (errors become one line in `commands.errors`)."""

from __future__ import annotations

from dataclasses import dataclass

from mlconnector.commands.errors import CommandError, fail
from mlconnector.config import Settings, load_settings
from mlconnector.store import Store
from mlconnector.vault import MasterKey, Vault, load_master_key

__all__ = ["CommandError", "Context", "fail"]


@dataclass
class Context:
    settings: Settings
    store: Store
    key: MasterKey
    vault: Vault

    @classmethod
    def open(cls, *, create_key: bool = False) -> Context:
        """Refuses to run without an ml-connector.toml (no stray database in whatever directory this runs in)."""
        settings = load_settings()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        store = Store(settings.store_url)
        key = load_master_key(settings.data_dir, settings.tenant, create=create_key)
        return cls(settings=settings, store=store, key=key, vault=Vault(store, key, settings.tenant))
