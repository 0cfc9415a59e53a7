"""Settings: `ml-connector.toml` (written, commented, by `ml-connector init`), overridable by `MLC_*` variables.

No secret lives here: credentials are in the vault. The file says where things are and how often to poll.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

CONFIG_ENV = "MLC_CONFIG"
DEFAULT_CONFIG = Path("ml-connector.toml")


class AgentSettings(BaseModel):
    url: str = "https://127.0.0.1:8711"
    fingerprint: str | None = None
    timeout_seconds: float = 30.0


class CleoSettings(BaseModel):
    base_url: str = "http://127.0.0.1:8712"
    default_token_lifetime_seconds: int = 3600
    timeout_seconds: float = 30.0
    ca_file: Path | None = None  # PEM to trust for Cleo's HTTPS (a private CA, the sandbox's certificate)

    @field_validator("base_url")
    @classmethod
    def _https_off_this_machine(cls, url: str) -> str:
        """Credentials and purchase orders cross the network only over TLS; plain HTTP is for loopback only."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"Cleo URL {url!r} is not an http(s):// address")
        if parts.scheme == "http" and not _loopback(parts.hostname):
            raise ValueError(f"Cleo URL {url} is plain HTTP to another machine; use its https:// address")
        return url


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class EdiSettings(BaseModel):
    """Our side of every interchange (ISA05/06, GS02)."""

    sender_qualifier: str = "ZZ"
    sender_id: str = "ABCDIST"
    application_sender: str = "ABCDIST"
    usage: str = "P"
    buyer_name: str = "ABC Distribution"


class ScheduleSettings(BaseModel):
    purchase_orders_seconds: int = 900
    vendors_seconds: int = 900
    gl_seconds: int = 14400
    inbound_seconds: int = 300


class EngineSettings(BaseModel):
    """How many documents one process works on at once, and how often it looks for queued work."""

    workers: int = 8
    queue_poll_seconds: float = 0.1


class ToleranceSettings(BaseModel):
    over_shipment_percent: float = 0.0
    price_variance_percent: float = 2.0
    fa_overdue_hours: float = 24.0
    post_invoices: bool = True


class Settings(BaseSettings):
    """Everything the connector needs to know that is not a secret."""

    model_config = SettingsConfigDict(env_prefix="MLC_", env_nested_delimiter="__", extra="ignore")

    tenant: str = "default"
    data_dir: Path = Path("var")
    database_url: str | None = None
    sage_company: str = "ABC"
    agent: AgentSettings = Field(default_factory=AgentSettings)
    cleo: CleoSettings = Field(default_factory=CleoSettings)
    edi: EdiSettings = Field(default_factory=EdiSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    engine: EngineSettings = Field(default_factory=EngineSettings)
    tolerances: ToleranceSettings = Field(default_factory=ToleranceSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_path())
        return (init_settings, env_settings, toml)

    @property
    def store_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'ml-connector.sqlite').resolve()}"


def config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV, DEFAULT_CONFIG))


def load_settings() -> Settings:
    return Settings()


CONFIG_TEMPLATE = """\
# ml-connector configuration. Secrets are NOT kept here: `ml-connector credentials set sage|cleo|agent`
# stores them encrypted in the database. Every value can be overridden by an environment variable,
# e.g. MLC_DATABASE_URL or MLC_SCHEDULE__PURCHASE_ORDERS_SECONDS.

tenant = "{tenant}"
# Where the database (SQLite by default), the key file and logs live.
data_dir = "{data_dir}"
# PostgreSQL for several workers: "postgresql+psycopg://user@host:5432/db". Empty = SQLite in data_dir.
# database_url = ""
sage_company = "{company}"

[agent]                       # the ml-connector agent on the Sage 100 server
url = "{agent_url}"
{fingerprint_line}

[cleo]
base_url = "{cleo_url}"
default_token_lifetime_seconds = 3600   # used when Cleo's login answer has no expires_in

[edi]                         # our interchange sender (ISA05/ISA06, GS02)
sender_qualifier = "ZZ"
sender_id = "ABCDIST"
application_sender = "ABCDIST"
usage = "P"                   # P production, T test
buyer_name = "ABC Distribution"  # N1*BY on every 850

[schedule]                    # seconds between runs
purchase_orders_seconds = 900
vendors_seconds = 900
gl_seconds = 14400
inbound_seconds = 300

[engine]
workers = 8                   # documents one process works on at once
queue_poll_seconds = 0.1      # how often it looks for queued documents

[tolerances]
over_shipment_percent = 0.0   # an ASN may ship this much over the open quantity
price_variance_percent = 2.0  # an invoice price may differ this much from the PO price
fa_overdue_hours = 24         # no 997 after this long → an `overdue` exception
post_invoices = true          # post receipts of invoice (AP open invoice + GL) as soon as they are entered
"""


def write_config(
    path: Path,
    *,
    tenant: str = "default",
    data_dir: str = "var",
    company: str = "ABC",
    agent_url: str = "https://127.0.0.1:8711",
    cleo_url: str = "http://127.0.0.1:8712",
    fingerprint: str | None = None,
) -> None:
    fingerprint_line = (
        f'fingerprint = "{fingerprint}"  # the agent certificate, pinned'
        if fingerprint
        else '# fingerprint = "..."  # the agent certificate (`ml-connector agent fingerprint` on the agent)'
    )
    path.write_text(
        CONFIG_TEMPLATE.format(
            tenant=tenant,
            data_dir=data_dir,
            company=company,
            agent_url=agent_url,
            cleo_url=cleo_url,
            fingerprint_line=fingerprint_line,
        )
    )
