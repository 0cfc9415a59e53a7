"""What every connector command opens: settings, store, vault (errors become one line in `commands.errors`).

`ml-connector --tenant ID …` (or MLC_TENANT_ID) opens a hosted tenant instead of the file's own tenant: its settings
are the file's with the tenant's config laid over them, its store is scoped to its schema, its vault to its entries.
Every command works per tenant that way, with no code of its own for it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from mlconnector.commands.errors import CommandError, fail
from mlconnector.config import Settings, load_settings, tenant_settings
from mlconnector.store import Store
from mlconnector.vault import MasterKey, Vault, load_master_key

__all__ = ["TENANT_ENV", "CommandError", "Context", "fail"]

TENANT_ENV = "MLC_TENANT_ID"


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
        tenant_id = os.environ.get(TENANT_ENV, "").strip()
        if tenant_id:
            return cls.hosted(settings, tenant_id)
        store = Store(settings.store_url)
        key = load_master_key(settings.data_dir, settings.tenant, create=create_key)
        return cls(settings=settings, store=store, key=key, vault=Vault(store, key, settings.tenant))

    @classmethod
    def hosted(cls, base: Settings, tenant_id: str, *, key: MasterKey | None = None) -> Context:
        """A hosted tenant from the registry: its settings, its schema, its vault entries (one master key per
        deployment; each entry is bound to its tenant, so a ciphertext copied across tenants does not decrypt)."""
        from mlconnector.store.platform import Platform

        platform = Platform(base.store_url)
        try:
            tenant = platform.get(tenant_id)
        finally:
            platform.close()
        settings = tenant_settings(base, tenant.id, tenant.config)
        store = Store(settings.store_url, schema=tenant.schema)
        key = key or load_master_key(base.data_dir, "hosted")
        return cls(settings=settings, store=store, key=key, vault=Vault(store, key, tenant.id))
