"""What `ml-connector run` switches on: logs, metrics, alerts — built from the settings and the vault."""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlconnector.engine import Job

if TYPE_CHECKING:
    from mlconnector.alerts import Alerter, Channel
    from mlconnector.commands.context import Context
    from mlconnector.flows.connector import Connector
    from mlconnector.store import Store

log = logging.getLogger("mlconnector.run")


def start_logging(ctx: Context, *, json: bool = False) -> Path | None:
    """Console + rotating file in the data directory; every vault secret is masked from here on."""
    from mlconnector.commands.context import fail
    from mlconnector.observability import logging as logs

    settings = ctx.settings.log
    try:
        path = logs.configure(
            level=settings.level,
            json=logs.wants_json(settings.format, json),
            data_dir=ctx.settings.data_dir if settings.file else None,
            file=settings.file,
            max_bytes=settings.max_bytes,
            backups=settings.backups,
        )
    except ValueError as exc:
        fail(f"[log] level: {exc}.", hint="Set [log] level (or MLC_LOG_LEVEL) to DEBUG, INFO, WARNING or ERROR.")
    logs.register_vault(ctx.vault)
    return path


def instrument(connector: Connector, tenant: str | None = None) -> None:
    """Count and time the connector's calls to the agent (BOI) and Cleo (under `tenant` for a hosted tenant's)."""
    from mlconnector.observability import metrics

    if hasattr(connector.sage, "_call") and hasattr(connector.sage, "_http"):
        metrics.instrument_agent(connector.sage, tenant)
    if hasattr(connector.cleo, "session"):
        metrics.instrument_cleo(connector.cleo, tenant)


def start_metrics(ctx: Context, tenants: Callable[[], dict[str, Store]] | None = None) -> int | None:
    """The Prometheus endpoint, when [metrics] enabled; returns the bound port (None when off or not bindable).

    A hosted worker passes `tenants` ({tenant id: Store} of the enabled tenants): every family then carries
    `tenant`, and documents and exceptions are counted in each tenant's schema."""
    from mlconnector.commands.context import fail
    from mlconnector.observability import metrics

    settings = ctx.settings.metrics
    try:
        metrics.install(sage_timezone=settings.sage_timezone)
    except (KeyError, ValueError):  # ZoneInfoNotFoundError is a KeyError
        fail(
            f"[metrics] sage_timezone = {settings.sage_timezone!r} is not a time zone.",
            hint='Use an IANA name such as "America/Chicago", or "" for this machine\'s zone.',
        )
    if not settings.enabled:
        return None
    token = ctx.vault.get("metrics")["token"].reveal() if "metrics" in ctx.vault.names() else None
    if token is None and not ipaddress.ip_address(_resolve(settings.host)).is_loopback:
        fail(
            f"[metrics] host = {settings.host!r} opens the metrics beyond this machine without a token.",
            hint="Store one with `ml-connector credentials set metrics` (Prometheus sends it as a bearer token), "
            'or keep host = "127.0.0.1".',
        )
    try:
        _server, port = metrics.serve(ctx.store, host=settings.host, port=settings.port, token=token, tenants=tenants)
    except OSError as exc:  # another worker on this host has the port: run on, without an endpoint here
        log.warning("metrics endpoint not started", extra={"port": settings.port, "error": str(exc)})
        return None
    log.info("metrics endpoint started", extra={"url": f"http://{settings.host}:{port}/metrics"})
    return port


def _resolve(host: str) -> str:
    try:
        return socket.gethostbyname(host)
    except OSError:
        return "0.0.0.0"


def jobs_with_observers(ctx: Context, jobs: list[Job]) -> list[Job]:
    """The connector's jobs, timed, plus the alerts job when [alerts] enabled."""
    from mlconnector.observability.metrics import timed_jobs

    observed = timed_jobs(jobs, tenant=ctx.store.tenant)
    if ctx.settings.alerts.enabled:
        from mlconnector.commands.context import fail
        from mlconnector.engine import cron_every

        try:
            cron_every(ctx.settings.alerts.every_seconds)
        except ValueError as exc:
            fail(f"[alerts] every_seconds: {exc}.", hint="e.g. 30, 60 or 300.")
        alerter = make_alerter(ctx)
        observed.append(Job("alerts", ctx.settings.alerts.every_seconds, alerter.run_pass))
    return observed


def channels(ctx: Context) -> list[Channel]:
    """The channels [alerts] names, with their secrets from the vault (smtp login, webhook and slack urls)."""
    from mlconnector.alerts import EmailChannel, WebhookChannel
    from mlconnector.commands.context import fail

    settings, tenant = ctx.settings.alerts, ctx.settings.tenant
    stored = set(ctx.vault.names())
    found: list[Channel] = []
    if settings.email_to:
        if not settings.smtp_host:
            fail(
                "[alerts] email_to is set but smtp_host is empty.", hint="Set [alerts] smtp_host in ml-connector.toml."
            )
        if settings.smtp_security not in ("none", "starttls", "ssl"):
            fail(
                f"[alerts] smtp_security = {settings.smtp_security!r} is not none, starttls or ssl.",
                hint="Set [alerts] smtp_security in ml-connector.toml.",
            )
        login = ctx.vault.get("smtp") if "smtp" in stored else {}
        found.append(
            EmailChannel(
                host=settings.smtp_host,
                port=settings.smtp_port,
                sender=settings.email_from,
                recipients=settings.email_to,
                tenant=tenant,
                security=settings.smtp_security,
                user=login["user"].reveal() if "user" in login else None,
                password=login["password"].reveal() if "password" in login else None,
                timeout=settings.smtp_timeout_seconds,
            )
        )
    for style, enabled in (("generic", settings.webhook), ("slack", settings.slack)):
        if enabled:
            entry = "webhook" if style == "generic" else "slack"
            url = ctx.vault.get(entry)["url"].reveal()
            found.append(WebhookChannel(url, style=style, tenant=tenant, timeout=settings.webhook_timeout_seconds))
    return found


def probes(ctx: Context) -> dict[str, Callable[[], Any]]:
    """One quick check each of the agent (its signed /v1/health) and Cleo (a login and one page), no retries."""
    import httpx

    from mlconnector.cleo.session import RetryPolicy
    from mlconnector.commands.running import cleo_client, sage_client
    from mlconnector.sage.agent.signing import signed_headers

    timeout = httpx.Timeout(ctx.settings.alerts.probe_timeout_seconds)

    def agent() -> None:
        with sage_client(ctx) as client:
            client._http.timeout = timeout
            response = client._http.get("/v1/health", headers=signed_headers(client._key, "GET", "/v1/health", b""))
            if response.status_code != 200:
                raise RuntimeError(f"the agent answered HTTP {response.status_code}")

    def cleo() -> None:
        with cleo_client(ctx) as client:
            client.session._http.timeout = timeout
            client.session.retry = RetryPolicy(attempts=1, total_timeout=ctx.settings.alerts.probe_timeout_seconds)
            client.list_inbound(count=1)

    return {"agent": agent, "cleo": cleo}


def make_alerter(ctx: Context) -> Alerter:
    from mlconnector.alerts import Alerter

    settings = ctx.settings.alerts
    return Alerter(
        ctx.store,
        channels(ctx),
        probes=probes(ctx),
        unreachable_after=timedelta(minutes=settings.unreachable_minutes),
        digest_over=settings.digest_over,
        console_url=settings.console_url,
        ignore_kinds=settings.ignore_kinds,
    )
