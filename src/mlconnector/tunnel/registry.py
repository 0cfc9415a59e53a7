"""The hub's agent keys in a hosted deployment: each enabled tenant's own vault entry `agent`.

The operator stores a customer's agent key once, as for any tenant credential
(`ml-connector --tenant ID credentials set agent`); the hub reads it at each connect, so adding, replacing or
disabling a tenant needs no hub restart, and a disabled or unknown tenant's agent is refused like a wrong key.
"""

from __future__ import annotations

import base64
import binascii
import threading

import structlog

from mlconnector.config import Settings
from mlconnector.store.db import Store
from mlconnector.store.platform import Platform, TenantError
from mlconnector.tunnel import frames
from mlconnector.tunnel.hub import KeyLookup
from mlconnector.vault import MasterKey, Vault, VaultError

log = structlog.get_logger("mlconnector.tunnel.registry")
LOOKUPS_AT_ONCE = 2
"""Agent connects whose key is read from the database at the same time (each a couple of short queries)."""


def decode_agent_key(text: str) -> bytes | None:
    """The vault's agent key: the hex of `agent-hmac.key` (or base64); None when it is neither."""
    text = text.strip()
    try:
        return bytes.fromhex(text) if len(text) == 64 else base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def keys_from_tenants(base: Settings, master_key: MasterKey) -> KeyLookup:
    """`key_for(tenant)`: the agent key of an enabled hosted tenant, else None (the hub then refuses the agent).

    The registry's pool and the tenants' stores (one shared pool) are opened once for the hub's life (again after a
    database failure), the stores without a migration check (the workers migrate, not the hub): a lookup is two
    short queries, so fifty agents redialling a restarted hub do not each open new database connections, take the
    registry's advisory lock and read the migration files, as they did. At most `LOOKUPS_AT_ONCE` lookups run at
    once, so the hub keeps at most that many idle connections in each pool (the workers need the database's
    connections more than the hub does)."""
    platform: Platform | None = None
    stores: dict[str, Store] = {}
    opening = threading.Lock()
    gate = threading.BoundedSemaphore(LOOKUPS_AT_ONCE)

    def store_of(schema: str) -> Store:
        with opening:
            if schema not in stores:
                stores[schema] = Store(base.store_url, schema=schema, run_migrations=False)
            return stores[schema]

    def forget() -> None:
        nonlocal platform
        with opening:  # the database went away: fresh pools at the next connect
            if platform is not None:
                platform.close()
            for store in stores.values():
                store.close()
            platform = None
            stores.clear()

    def registry() -> Platform:
        nonlocal platform
        with opening:
            if platform is None:
                platform = Platform(base.store_url)
            return platform

    def key_for(tenant: str) -> bytes | None:
        if not frames.valid_tenant(tenant):
            return None
        with gate:
            return lookup(tenant)

    def lookup(tenant: str) -> bytes | None:
        try:
            found = registry().get(tenant)
        except TenantError:
            return None
        except Exception:
            forget()
            raise
        if not found.enabled:
            log.warning("hub.tenant_disabled", tenant=tenant)
            return None
        try:
            secret = Vault(store_of(found.schema), master_key, found.id).get("agent").get("key")
        except VaultError:
            secret = None
        except Exception:
            forget()
            raise
        if secret is None:
            log.warning("hub.tenant_has_no_agent_key", tenant=tenant)
            return None
        return decode_agent_key(secret.reveal())

    return key_for
