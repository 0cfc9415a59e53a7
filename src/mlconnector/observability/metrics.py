"""Prometheus metrics for `ml-connector run` (prometheus-client).

Two kinds, on purpose:
- **State** (documents by type and status, open exceptions by kind) is read from the store at scrape time by a
  custom collector, so every worker of a PostgreSQL deployment reports the same figures.
- **Events** (job durations, calls to the agent and Cleo and their retries, the agent's round-trip time, PO-created
  → 850-accepted latency, state changes) are counted by the process that saw them; Prometheus sums the workers.
"""

from __future__ import annotations

import hmac
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server
from zoneinfo import ZoneInfo

import httpx
from prometheus_client import CollectorRegistry, Counter, Histogram, make_wsgi_app
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mlconnector.engine import Job
from mlconnector.observability import changes


class EventMetrics:
    """The event metrics of one registry; `extra` label names (["tenant"] for a hosted worker) come first."""

    def __init__(self, registry: CollectorRegistry, extra: list[str]) -> None:
        self.job_seconds = Histogram(
            "mlc_job_duration_seconds",
            "How long a job's collect step or one of its documents took.",
            [*extra, "job", "phase", "outcome"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900),
            registry=registry,
        )
        self.upstream_calls = Counter(
            "mlc_upstream_calls_total",
            "Calls to Sage (BOI, through the agent) and Cleo, by operation and outcome (retries inside one call "
            "excluded).",
            [*extra, "system", "operation", "outcome"],
            registry=registry,
        )
        self.upstream_retries = Counter(
            "mlc_upstream_retries_total",
            "Extra attempts made inside calls to Sage or Cleo (a 5xx, 429, timeout or dropped connection tried again).",
            [*extra, "system", "operation"],
            registry=registry,
        )
        self.agent_round_trip = Histogram(
            "mlc_agent_round_trip_seconds",
            "One HTTP round trip to the Sage agent (BOI work included).",
            [*extra, "operation"],
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=registry,
        )
        self.cleo_request = Histogram(
            "mlc_cleo_request_seconds",
            "One HTTP request to Cleo.",
            [*extra, "operation"],
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=registry,
        )
        self.po_to_cleo = Histogram(
            "mlc_po_to_cleo_seconds",
            "From a PO's creation in Sage (its DateUpdated/TimeUpdated when first sent) to Cleo accepting its 850.",
            extra,
            buckets=(30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 14400, 43200, 86400),
            registry=registry,
        )
        self.state_changes = Counter(
            "mlc_document_changes_total",
            "Document state changes (audit lines) committed by this process.",
            [*extra, "direction", "type", "status"],
            registry=registry,
        )
        self.exceptions_opened = Counter(
            "mlc_exceptions_opened_total", "Exceptions opened by this process.", [*extra, "kind"], registry=registry
        )


REGISTRY = CollectorRegistry(auto_describe=True)
"""A single site's metrics: no tenant label (as before tenants existed)."""
HOSTED_REGISTRY = CollectorRegistry(auto_describe=True)
"""A hosted worker's metrics: every family carries `tenant` first."""
SINGLE = EventMetrics(REGISTRY, [])
HOSTED = EventMetrics(HOSTED_REGISTRY, ["tenant"])
JOB_SECONDS, UPSTREAM_CALLS, UPSTREAM_RETRIES = SINGLE.job_seconds, SINGLE.upstream_calls, SINGLE.upstream_retries
AGENT_ROUND_TRIP, CLEO_REQUEST, PO_TO_CLEO = SINGLE.agent_round_trip, SINGLE.cleo_request, SINGLE.po_to_cleo
STATE_CHANGES, EXCEPTIONS_OPENED = SINGLE.state_changes, SINGLE.exceptions_opened


def events(tenant: str | None) -> tuple[EventMetrics, tuple[str, ...]]:
    """The metrics to count into and the leading label values: a hosted tenant's, or the single site's."""
    return (HOSTED, (tenant,)) if tenant else (SINGLE, ())


# ------------------------------------------------------------------------------------------- store collector


class StoreCollector(Collector):
    """Documents by type and status, open exceptions by kind: counted in the store at every scrape.

    A single site counts its one store (no tenant label). A hosted worker is given `tenants`, a callable returning
    {tenant id: that tenant's Store} for the enabled tenants, and counts each tenant's schema under `tenant`."""

    def __init__(self, store: Any, tenants: Callable[[], dict[str, Any]] | None = None) -> None:
        self.store, self.tenants = store, tenants

    def collect(self) -> Iterator[GaugeMetricFamily]:
        extra = ["tenant"] if self.tenants is not None else []
        documents = GaugeMetricFamily(
            "mlc_documents",
            "Documents in the store by direction, type and status.",
            labels=[*extra, "direction", "type", "status"],
        )
        exceptions = GaugeMetricFamily("mlc_open_exceptions", "Open exceptions by kind.", labels=[*extra, "kind"])
        up = GaugeMetricFamily("mlc_store_up", "1 when the store (every tenant's schema) answered this scrape.")
        try:
            stores = {None: self.store} if self.tenants is None else self.tenants()
            for tenant, store in stores.items():
                leading = [tenant] if tenant is not None else []
                groups, kinds = _store_counts(store)
                for labels, count in groups:
                    documents.add_metric([*leading, *labels], count)
                for labels, count in kinds:
                    exceptions.add_metric([*leading, *labels], count)
        except Exception:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield from (documents, exceptions, up)


Counts = list[tuple[list[str], int]]


def _store_counts(store: Any) -> tuple[Counts, Counts]:
    """([direction, type, status], n) per document group; ([kind], n) per open-exception kind."""
    from mlconnector.store.models import ExceptionRecord, InboundDocument, OutboundDocument

    groups: Counts = []
    with store.transaction() as session:
        for direction, model in (("out", OutboundDocument), ("in", InboundDocument)):
            rows = session.execute(
                select(model.document_type, model.status, func.count()).group_by(model.document_type, model.status)
            )
            groups += [([direction, doc_type, status], count) for doc_type, status, count in rows]
        rows = session.execute(
            select(ExceptionRecord.kind, func.count())
            .where(ExceptionRecord.status == "open")
            .group_by(ExceptionRecord.kind)
        )
        kinds: Counts = [([kind], count) for kind, count in rows]
    return groups, kinds


# -------------------------------------------------------------------------------------------------- jobs


def timed_jobs(jobs: list[Job], tenant: str | None = None) -> list[Job]:
    """The same jobs, each step timed into `mlc_job_duration_seconds` (under `tenant` for a hosted tenant's)."""
    metrics, leading = events(tenant)

    def wrap(name: str, phase: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any) -> Any:
            started = time.perf_counter()
            outcome = "error"
            try:
                result = fn(*args)
                outcome = "ok"
                return result
            finally:
                metrics.job_seconds.labels(*leading, name, phase, outcome).observe(time.perf_counter() - started)

        timed.__name__ = getattr(fn, "__name__", phase)
        return timed

    return [
        Job(
            job.name,
            job.every_seconds,
            wrap(job.name, "collect", job.collect),
            wrap(job.name, "document", job.handle) if job.handle else None,
            wrap(job.name, "finish", job.finish) if job.finish else None,
        )
        for job in jobs
    ]


# ------------------------------------------------------------------------------------------ upstream calls

_call = threading.local()  # the logical call in progress on this thread: its attempts are counted here
_ID = re.compile(r"^(?=.*\d)[\w.:-]{6,}$")


def _operation(method: str, path: str) -> str:
    """`GET /api/messages/{id}/content` — ids folded away so the label set stays small."""
    parts = [("{id}" if _ID.match(p) else p) for p in path.split("?", 1)[0].split("/") if p]
    return f"{method} /{'/'.join(parts)}"


class _TimedTransport(httpx.BaseTransport):
    """Counts and times every HTTP attempt a client makes, retries included."""

    def __init__(self, inner: httpx.BaseTransport, observe: Callable[[httpx.Request, float], None]) -> None:
        self.inner, self.observe = inner, observe

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        _call.attempts = getattr(_call, "attempts", 0) + 1
        started = time.perf_counter()
        try:
            return self.inner.handle_request(request)
        finally:
            self.observe(request, time.perf_counter() - started)

    def close(self) -> None:
        self.inner.close()


def _logical(
    system: str, operation: Callable[..., str], fn: Callable[..., Any], tenant: str | None
) -> Callable[..., Any]:
    metrics, leading = events(tenant)

    def counted(*args: Any, **kwargs: Any) -> Any:
        op = operation(*args)
        outer = getattr(_call, "attempts", None)
        _call.attempts = 0
        outcome = "error"
        try:
            result = fn(*args, **kwargs)
            outcome = "ok"
            return result
        finally:
            attempts = _call.attempts
            _call.attempts = outer if outer is not None else 0
            metrics.upstream_calls.labels(*leading, system, op, outcome).inc()
            if attempts > 1:
                metrics.upstream_retries.labels(*leading, system, op).inc(attempts - 1)

    return counted


def instrument_agent(client: Any, tenant: str | None = None) -> Any:
    """Count BOI calls through the agent (one per operation, retries apart) and time each round trip."""
    metrics, leading = events(tenant)
    if getattr(client, "_mlc_instrumented", False):
        return client
    client._mlc_instrumented = True
    http: httpx.Client = client._http

    def observe(request: httpx.Request, seconds: float) -> None:
        metrics.agent_round_trip.labels(*leading, request.url.path.rsplit("/", 1)[-1]).observe(seconds)

    http._transport = _TimedTransport(http._transport, observe)
    client._call = _logical("sage", lambda op, *_: op, client._call, tenant)
    return client


def instrument_cleo(client: Any, tenant: str | None = None) -> Any:
    """Count Cleo API calls (login included) and their retries, and time each request."""
    metrics, leading = events(tenant)
    session = client.session
    if getattr(session, "_mlc_instrumented", False):
        return client
    session._mlc_instrumented = True
    http: httpx.Client = session._http

    def observe(request: httpx.Request, seconds: float) -> None:
        metrics.cleo_request.labels(*leading, _operation(request.method, request.url.path)).observe(seconds)

    http._transport = _TimedTransport(http._transport, observe)
    session._send = _logical("cleo", lambda method, url, *_: _operation(method, url), session._send, tenant)
    return client


# --------------------------------------------------------------------------------- PO → 850 accepted latency


def sage_time(date: str, hours: str, zone: tzinfo) -> datetime | None:
    """Sage's `DateUpdated$` (YYYYMMDD) + `TimeUpdated$` (decimal hours) in the Sage server's zone, as UTC."""
    try:
        day = datetime.strptime(date.strip(), "%Y%m%d")
        moment = day + timedelta(hours=float(hours.strip() or 0))
    except ValueError:
        return None
    return moment.replace(tzinfo=zone).astimezone(UTC)


def _local_zone() -> tzinfo:
    zone = datetime.now().astimezone().tzinfo
    return zone or UTC


class LatencyProbe:
    """Before an 850's `sent` line commits, find when Sage created that PO; observe the gap once committed."""

    def __init__(self, sage_timezone: str = "") -> None:
        self.zone: tzinfo = ZoneInfo(sage_timezone) if sage_timezone else _local_zone()

    def enrich(self, session: Session, change: changes.Change) -> None:
        if not (change.kind == "document" and change.direction == "OUT" and change.status == "sent"):
            return
        if change.document_type != "850" or not change.key:
            return
        from mlconnector.sage.models import PurchaseOrder
        from mlconnector.store.models import PurchaseOrderState

        # Only the first version of a PO (key "<po>:1:<hash>") measures creation → acceptance.
        parts = change.key.split(":")
        if len(parts) < 3 or parts[1] != "1":
            return
        state = session.get(PurchaseOrderState, change.source_id)
        if state is None or state.sequence != 1:
            return
        po = PurchaseOrder.model_validate_json(state.document)
        created = sage_time(po.date_updated, po.time_updated, self.zone)
        if created is not None:
            change.extra["sage_created_at"] = created

    def observe(self, change: changes.Change) -> None:
        created = change.extra.get("sage_created_at")
        if created is not None:
            metrics, leading = events(change.tenant)
            latency = metrics.po_to_cleo.labels(*leading) if leading else metrics.po_to_cleo  # no labels: itself
            latency.observe(max(0.0, (change.at - created).total_seconds()))


def count_change(change: changes.Change) -> None:
    metrics, leading = events(change.tenant)
    if change.kind == "exception":
        metrics.exceptions_opened.labels(*leading, change.document_type).inc()
    else:
        metrics.state_changes.labels(*leading, change.direction, change.document_type, change.status).inc()


# ---------------------------------------------------------------------------------------------- the server


_probe = LatencyProbe()


def install(*, sage_timezone: str = "") -> LatencyProbe:
    """Start counting state changes and the PO → 850 latency in this process (once, however often called)."""
    _probe.zone = ZoneInfo(sage_timezone) if sage_timezone else _local_zone()
    changes.subscribe(count_change)
    changes.subscribe(_probe.observe)
    changes.enrich(_probe.enrich)
    return _probe


_store_collectors: dict[int, StoreCollector] = {}


class _Handler(WSGIRequestHandler):
    timeout = 10  # seconds a client may take to send its request: a slow client is dropped, not waited for

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _guarded(app: Callable[..., Any], token: str | None) -> Callable[..., Any]:
    """With a token, every scrape must send `Authorization: Bearer <token>` (Prometheus: `authorization:`)."""

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if token is not None:
            given = environ.get("HTTP_AUTHORIZATION", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                start_response("401 Unauthorized", [("Content-Type", "text/plain"), ("WWW-Authenticate", "Bearer")])
                return [b"A bearer token is needed for these metrics.\n"]
        return app(environ, start_response)

    return wsgi


def serve(
    store: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 9464,
    token: str | None = None,
    tenants: Callable[[], dict[str, Any]] | None = None,
) -> tuple[Any, int]:
    """Serve /metrics (this process's events plus the store's state) on host:port; returns (server, bound port).

    With `tenants` (a hosted worker: {tenant id: Store} of the enabled tenants) every family carries `tenant` and
    the documents and exceptions are counted per tenant schema. Port 0 picks a free port (tests).
    `server.shutdown()` stops it.
    """
    registry = REGISTRY if tenants is None else HOSTED_REGISTRY
    collector = _store_collectors.get(id(registry))
    if collector is None:
        collector = _store_collectors[id(registry)] = StoreCollector(store, tenants)
        registry.register(collector)
    collector.store, collector.tenants = store, tenants
    server = make_server(
        host, port, _guarded(make_wsgi_app(registry), token), ThreadingWSGIServer, handler_class=_Handler
    )
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server, server.server_address[1]
