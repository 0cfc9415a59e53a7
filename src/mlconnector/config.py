"""Settings: `ml-connector.toml` (written, commented, by `ml-connector init`), overridable by `MLC_*` variables.

No secret lives here: credentials are in the vault. The file says where things are and how often to poll.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from mlconnector.engine import cron_every
from mlconnector.ports import AGENT_PORT, CLEO_SANDBOX_PORT

CONFIG_ENV = "MLC_CONFIG"
DEFAULT_CONFIG = Path("ml-connector.toml")
ENV_PREFIX = "MLC_"
DEFAULT_AGENT_URL = f"https://127.0.0.1:{AGENT_PORT}"
DEFAULT_CLEO_URL = f"http://127.0.0.1:{CLEO_SANDBOX_PORT}"


class ConfigError(Exception):
    """The configuration cannot be used: says where (file and key, or variable), the value, and how to fix it."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class AgentSettings(BaseModel):
    """The agent directly over HTTPS (`url`, `fingerprint`: single-site), or through a hub it dialled out to
    (`hub_url` set: the relay's address; `hub_fingerprint` or `hub_ca_file` says how to trust it; the vault's
    `hub` entry holds the worker token)."""

    url: str = DEFAULT_AGENT_URL
    fingerprint: str | None = None
    timeout_seconds: float = 30.0
    hub_url: str | None = None
    hub_fingerprint: str | None = None
    hub_ca_file: Path | None = None

    @field_validator("hub_url")
    @classmethod
    def _hub_over_https(cls, url: str | None) -> str | None:
        if url is not None and (urlsplit(url).scheme != "https" or not urlsplit(url).hostname):
            raise ValueError(f"hub URL {url!r} must be the hub relay's https:// address")
        return url


class CleoSettings(BaseModel):
    base_url: str = DEFAULT_CLEO_URL
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

    @field_validator("*")
    @classmethod
    def _fits_the_scheduler(cls, seconds: int) -> int:
        cron_every(seconds)  # the scheduler's own rule, checked when the file is read rather than when a job starts
        return seconds


class EngineSettings(BaseModel):
    """How many documents one process works on at once, and how often it looks for queued work.

    Hosted (many tenants): `tenant_workers` caps how many of one tenant's documents one process works on at once
    (default half of `workers`), so a tenant's burst leaves room for the others; every `reconcile_seconds` a worker
    picks up new and disabled tenants; a worker silent for `worker_lease_seconds` is declared dead and its unfinished
    work is recovered by a survivor."""

    workers: int = 8
    queue_poll_seconds: float = 0.1
    tenant_workers: int | None = Field(default=None, ge=1)
    reconcile_seconds: float = Field(default=5.0, gt=0)
    heartbeat_seconds: float = Field(default=5.0, gt=0)
    worker_lease_seconds: float = Field(default=30.0, gt=0)


class RetrySettings(BaseModel):
    """Per-document backoff after a transient failure (agent, Sage lock, Cleo): first wait, doubling up to the cap;
    documents waiting longer than `stalled_after_hours` open a `stalled` exception (and keep being retried)."""

    first_seconds: float = 30.0
    max_seconds: float = 1800.0
    stalled_after_hours: float = 4.0


class ToleranceSettings(BaseModel):
    over_shipment_percent: float = 0.0
    price_variance_percent: float = Field(default=2.0, ge=0)
    # Per unit, in the PO's currency: a price within this amount passes whatever the percentage — the only way a
    # line costed at zero in Sage can allow a charge (a share of zero is zero).
    price_variance_amount: float = Field(default=0.0, ge=0)
    fa_overdue_hours: float = 24.0
    post_invoices: bool = True


class LogSettings(BaseModel):
    """Where log lines go: the console and `ml-connector.log` in the data directory (rotated)."""

    level: str = "INFO"
    format: str = "console"  # console (key=value) or json (one JSON object per line); MLC_LOG_FORMAT / --log-json
    file: bool = True
    max_bytes: int = 10_000_000
    backups: int = 5


class MetricsSettings(BaseModel):
    """The Prometheus endpoint of `ml-connector run` (off unless enabled; bound to 127.0.0.1 unless told)."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 9464
    sage_timezone: str = ""  # Sage's DateUpdated/TimeUpdated are the Sage server's local time; "" = this machine's


class WebSettings(BaseModel):
    """The web console served inside `ml-connector run` (off unless enabled; `ml-connector web` serves it alone)."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=8720, ge=0, le=65535)
    certfile: str = ""  # TLS certificate and key (PEM) to serve HTTPS; both or neither
    keyfile: str = ""


class AlertSettings(BaseModel):
    """Who is told about new exceptions, and how; SMTP and webhook secrets are in the vault (smtp, webhook, slack)."""

    enabled: bool = False
    every_seconds: int = 60
    email_to: list[str] = Field(default_factory=list)
    email_from: str = "ml-connector@localhost"
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_security: str = "none"  # none, starttls or ssl
    smtp_timeout_seconds: float = 10.0
    webhook: bool = False  # generic JSON POST to the vault's `webhook` url
    slack: bool = False  # Slack-compatible POST to the vault's `slack` url
    webhook_timeout_seconds: float = 10.0
    digest_over: int = 5  # more new causes than this in one pass → one digest message
    unreachable_minutes: float = 15.0  # the agent or Cleo failing its probe this long → an alert
    probe_timeout_seconds: float = 10.0  # one probe of the agent or Cleo gives up after this long
    console_url: str = ""  # e.g. https://connector.example.com — alerts link to /exceptions/{id}
    ignore_kinds: list[str] = Field(default_factory=list)  # exception kinds nobody needs to be told about


class Settings(BaseSettings):
    """Everything the connector needs to know that is not a secret."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="ignore")

    tenant: str = "default"
    hosted: bool = False  # `run` serves the tenants of `ml-connector tenants` (PostgreSQL), not this file's tenant
    data_dir: Path = Path("var")
    database_url: str | None = None
    sage_company: str = "ABC"
    agent: AgentSettings = Field(default_factory=AgentSettings)
    retry: RetrySettings = Field(default_factory=RetrySettings)
    cleo: CleoSettings = Field(default_factory=CleoSettings)
    edi: EdiSettings = Field(default_factory=EdiSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    engine: EngineSettings = Field(default_factory=EngineSettings)
    tolerances: ToleranceSettings = Field(default_factory=ToleranceSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    web: WebSettings = Field(default_factory=WebSettings)

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


class TenantConfig(BaseModel):
    """A hosted tenant's own part of the settings (stored in the tenant registry; never a secret).

    Everything else (database, data directory, engine, logs, metrics, web) is the deployment's, from ml-connector.toml.
    """

    model_config = {"extra": "forbid"}

    name: str = ""
    sage_company: str = "ABC"
    agent: AgentSettings = Field(default_factory=AgentSettings)
    cleo: CleoSettings = Field(default_factory=CleoSettings)
    edi: EdiSettings = Field(default_factory=EdiSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    retry: RetrySettings = Field(default_factory=RetrySettings)
    tolerances: ToleranceSettings = Field(default_factory=ToleranceSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)


def _unknown_key(document: dict[str, Any], model: type[BaseModel], prefix: str = "") -> str | None:
    """The first key the model does not have (a typo would otherwise be ignored and its default used silently)."""
    for key, value in document.items():
        field = model.model_fields.get(key)
        if field is None:
            return prefix + key
        kind = field.annotation
        nested = isinstance(value, dict) and isinstance(kind, type) and issubclass(kind, BaseModel)
        if nested and (found := _unknown_key(value, kind, f"{prefix}{key}.")):  # type: ignore[arg-type]
            return found
    return None


def tenant_config(document: dict[str, Any], where: str) -> TenantConfig:
    """Validate a tenant's config document; a wrong value is one `ConfigError` line naming the key."""
    if unknown := _unknown_key(document, TenantConfig):
        raise ConfigError(
            f"{where}: {unknown} is not a setting a tenant has.",
            "A tenant has: name, sage_company, [agent], [cleo], [edi], [schedule], [retry], [tolerances], [alerts]; "
            "check the spelling.",
        )
    try:
        return TenantConfig.model_validate(document)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(p) for p in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        raise ConfigError(
            f"{where}: {key} = {error.get('input')!r}: {message}.",
            "Fix the tenant's config (keys: sage_company, [agent], [cleo], [edi], [schedule], [retry], [tolerances], "
            "[alerts]).",
        ) from None


def tenant_settings(base: Settings, tenant_id: str, document: dict[str, Any]) -> Settings:
    """The settings a hosted tenant runs with: the deployment's, with the tenant's own part laid over them."""
    own = tenant_config(document, f"tenant {tenant_id}")
    fields = {name: getattr(own, name) for name in TenantConfig.model_fields if name != "name"}
    return base.model_copy(update={**fields, "tenant": tenant_id, "hosted": True}, deep=True)


def config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV, DEFAULT_CONFIG))


def load_settings(*, require_file: bool = True) -> Settings:
    """The settings, or a `ConfigError` naming the file, key and value that is wrong (never a traceback)."""
    path = config_path()
    if not path.exists():
        if require_file:
            raise ConfigError(
                f"No configuration: {path.resolve()} does not exist.",
                f"Run `ml-connector init` in this directory, or point {CONFIG_ENV} at your ml-connector.toml.",
            )
    else:
        try:
            document = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}.", "Fix that line (strings need quotes).") from None
        _refuse_unknown_keys(path, document)
    _refuse_unknown_variables()
    try:
        return Settings()
    except ValidationError as exc:
        raise _config_error(path, exc) from None


def _unknown(loc: list[str]) -> tuple[str, list[str]] | None:
    """The first part of `loc` that names no setting, and the names it could have meant (None: all known)."""
    model: Any = Settings
    for depth, part in enumerate(loc):
        fields = getattr(model, "model_fields", None)
        if fields is None:  # below a plain value (a list, a dict): nothing more to check
            return None
        if part not in fields:
            return ".".join(loc[: depth + 1]), list(fields)
        default = fields[part].get_default(call_default_factory=True)
        model = type(default) if isinstance(default, BaseModel) else None
    return None


def _did_you_mean(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name.rsplit(".", 1)[-1], known, n=1)
    return f"Did you mean {close[0]}? " if close else ""


def _refuse_unknown_keys(path: Path, document: dict[str, Any]) -> None:
    """A misspelt key would silently leave its default in force (a schedule, a tolerance): say so instead."""

    def walk(table: dict[str, Any], loc: list[str]) -> None:
        for key, value in table.items():
            found = _unknown([*loc, key])
            if found is not None:
                name, known = found
                section, _, leaf = name.rpartition(".")
                where = f"[{section}] {leaf}" if section else leaf
                raise ConfigError(
                    f"{path}: {where} is not a setting.",
                    f"{_did_you_mean(name, known)}The commented file `ml-connector init` writes lists every key.",
                )
            if isinstance(value, dict):
                walk(value, [*loc, key])

    walk(document, [])


def _refuse_unknown_variables() -> None:
    """`MLC_SECTION__KEY` names a setting (one-word MLC_ variables are the program's own, e.g. MLC_CONFIG)."""
    for variable in sorted(os.environ):
        if variable.upper().startswith(ENV_PREFIX) and "__" in variable:
            loc = variable[len(ENV_PREFIX) :].lower().split("__")
            found = _unknown(loc)
            if found is not None:
                name, known = found
                raise ConfigError(
                    f"Environment variable {variable} names no setting ({name.replace('.', ' ')} is unknown).",
                    f"{_did_you_mean(name, known)}Unset it, or see docs/operations.md for the names.",
                )


def _config_error(path: Path, exc: ValidationError) -> ConfigError:
    """One line for the first wrong value: in which variable or which [section] key of which file."""
    error = exc.errors()[0]
    loc = [str(p) for p in error["loc"]]
    message = error["msg"].removeprefix("Value error, ")
    variable = ENV_PREFIX + "__".join(loc).upper()
    env_value = next((v for k, v in os.environ.items() if k.upper() == variable), None)
    key = loc[-1]
    example = _default(loc)
    fix = f"e.g. {key} = {example!r}" if example is not None else f"see the comments in {path}"
    if env_value is not None:
        return ConfigError(
            f"Environment variable {variable}={env_value}: {message}.", f"Set it to a valid value ({fix}) or unset it."
        )
    section = f"[{'.'.join(loc[:-1])}] " if len(loc) > 1 else ""
    return ConfigError(f"{path}: {section}{key} = {error.get('input')!r}: {message}.", f"Fix it in {path} ({fix}).")


def _default(loc: list[str]) -> Any:
    model: Any = Settings
    for part in loc:
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return None
        value = field.get_default(call_default_factory=True)
        model = type(value) if isinstance(value, BaseModel) else None
        if model is None:
            return value if part == loc[-1] and isinstance(value, str | int | float | bool) else None
    return None


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

[retry]                       # a document that failed for a passing cause (agent, Sage lock, Cleo) is retried
first_seconds = 30            # first wait, doubling each time …
max_seconds = 1800            # … up to this; it goes at once when the agent or Cleo answers again
stalled_after_hours = 4       # waiting longer than this → a `stalled` exception naming the cause (still retried)

[tolerances]
over_shipment_percent = 0.0   # an ASN may ship this much over the open quantity
price_variance_percent = 2.0  # an invoice price may differ this much from the PO price …
price_variance_amount = 0.0   # … or this much per unit, whichever allows more (0: a no-charge line allows nothing)
fa_overdue_hours = 24         # no 997 after this long → an `overdue` exception
post_invoices = true          # post receipts of invoice (AP open invoice + GL) as soon as they are entered

[log]
level = "INFO"                # DEBUG, INFO, WARNING, ERROR
format = "console"            # or "json" (also MLC_LOG_FORMAT=json, or `run --log-json`)
file = true                   # ml-connector.log in data_dir, rotated at max_bytes, keeping `backups` old files

[metrics]                     # Prometheus endpoint of `ml-connector run`: http://127.0.0.1:9464/metrics
enabled = false
port = 9464

[alerts]                      # secrets: `ml-connector credentials set smtp|webhook|slack`
enabled = false
email_to = []                 # e.g. ["purchasing@example.com"]
smtp_host = ""
smtp_port = 25
smtp_security = "none"        # none, starttls, ssl
webhook = false               # generic JSON POST to the stored webhook url
slack = false                 # Slack-compatible POST to the stored slack url
digest_over = 5               # more new alerts than this at once → one digest
unreachable_minutes = 15      # agent or Cleo down this long → an alert
probe_timeout_seconds = 10    # each probe of the agent and Cleo gives up after this long
console_url = ""              # the web console, for links in alerts

[web]                         # the web console inside `ml-connector run` (or serve it alone: `ml-connector web`)
enabled = false
host = "127.0.0.1"            # this machine only; behind a reverse proxy for others (docs/console.md)
port = 8720
"""


def write_config(
    path: Path,
    *,
    tenant: str = "default",
    data_dir: str = "var",
    company: str = "ABC",
    agent_url: str = DEFAULT_AGENT_URL,
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
