"""The hosted console on real PostgreSQL: one console, three tenants (schemas t_acme, t_beta, t_gamma), users who
belong to one, two or all of them. Each tenant has its own simulated Sage behind its own agent (HTTPS) and its own
connector; one Cleo sandbox. Over HTTP: a user sees only their tenants' documents, exceptions, audit lines and
credentials, whatever URL or form field they send (403/404, never data); actions land in the right tenant's audit
log with the user's name. In Chromium: the switcher.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select, text

from flows.conftest import FAST_CLEO, PARTNERS, SENDER, World, partner_book
from flows.inbound_helpers import interchange, ship_notice
from mlconnector.cleo import CleoClient, CleoCredentials
from mlconnector.cleo.sandbox import running_sandbox
from mlconnector.flows.connector import Connector
from mlconnector.sage.agent.testing import running_agent
from mlconnector.sage.errors import RetryPolicy as SageRetryPolicy
from mlconnector.sage.sim.demo import PurchasingClerk
from mlconnector.sage.sim.script import SimBackend
from mlconnector.store import Store
from mlconnector.store.models import AuditEntry, ExceptionRecord, OutboundDocument, PartnerMapping
from mlconnector.store.ops import audit, map_vendor, raise_exception
from mlconnector.store.platform import Platform, tenant_schema
from mlconnector.vault import MasterKey, Vault
from mlconnector.web.app import ConsoleServices, HostedConsole, TenantChoice
from mlconnector.web.users import add_user, grant, revoke

from .conftest import serving

pytestmark = pytest.mark.postgres

TENANTS = {"acme": "Acme Supply", "beta": "Beta Foods", "gamma": "Gamma Tools"}
# Every row a tenant gets carries its mark, so a leak is found by a plain text search of what the console answers.
MARK = {"acme": "ACME-ONLY-4711", "beta": "BETA-ONLY-0815", "gamma": "GAMMA-ONLY-2323"}
SECRET = {"acme": "acme-cleo-password-9f2c", "beta": "beta-cleo-password-77aa", "gamma": "gamma-pw-0000000000"}
PASSWORD = "a-long-console-password"
MEMBERS = {  # user: (role, tenants)
    "ann": ("operator", ["acme"]),
    "bob": ("operator", ["beta"]),
    "mia": ("operator", ["acme", "beta"]),
    "pat": ("admin", ["*"]),
    "vic": ("viewer", ["beta"]),
    "nod": ("operator", ["gamma"]),
}
SCREENS = ["/", "/documents", "/exceptions", "/partners", "/audit", "/audit/export"]


@dataclass
class Hosted:
    url: str
    platform: Platform
    worlds: dict[str, World]
    ids: dict[str, dict[str, int | str]]  # per tenant: its marked exception id, outbound id, inbound exception id


def login(url: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=url, follow_redirects=False, timeout=20)
    token = client.get("/login").text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    answer = client.post("/login", data={"csrf_token": token, "username": username, "password": PASSWORD})
    assert answer.status_code == 303, answer.text
    csrf(client)
    return client


def csrf(client: httpx.Client) -> str:
    """The token of the page last rendered for the client's current tenant (kept on the client)."""
    page = client.get("/")
    assert page.status_code == 200, page.text
    client.csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]  # type: ignore[attr-defined]
    return client.csrf  # type: ignore[attr-defined,no-any-return]


def current_tenant(client: httpx.Client) -> str:
    return client.get("/").text.split('id="current-tenant">', 1)[1].split("</span>", 1)[0]


def switch(client: httpx.Client, tenant: str) -> httpx.Response:
    answer = client.post("/tenant", data={"csrf_token": client.csrf, "tenant": tenant})  # type: ignore[attr-defined]
    if answer.status_code == 303:
        csrf(client)
    return answer


def seed(world: World, tenant: str, extra_exceptions: int) -> dict[str, int | str]:
    """Marked rows (an audit line, an open exception, an outbound document, a mapping) and one real inbound
    exception: an ASN for a PO this tenant's Sage does not have, retryable from the console."""
    mark = MARK[tenant]
    with world.store.transaction() as session:
        for n in range(extra_exceptions):  # so the tenants' exception ids differ: an id from one is no id in another
            raise_exception(
                session,
                kind="stalled",
                what=f"{mark} filler {n}",
                why=mark,
                suggested_fix="none",
                document_ref=f"{mark}-{n}",
            )
        audit(session, direction="OUT", document_type="850", source_id=mark, status="staged", message=mark)
        marked = raise_exception(
            session,
            kind="unmapped_vendor",
            what=f"PO {mark} has no trading partner",
            why=mark,
            suggested_fix="map it",
            document_ref=mark,
        )
        doc = OutboundDocument(
            id=100 + extra_exceptions,  # and so their outbound ids differ
            idempotency_key=f"850:{mark}",
            document_type="850",
            po_number=f"PO-{tenant}",
            vendor_no=f"01-{mark[:8]}",
            version_hash="x" * 64,
            purpose="00",
        )
        session.add(doc)
        session.flush()
        map_vendor(session, f"01-{mark[:8]}", "ALPHA")
        marked_id, doc_id = marked.id, doc.id
    asn = ship_notice(f"SHIP-{mark}", {f"{mark[:4]}99": [("1", "NO-SUCH-ITEM", Decimal(1))]})
    world.sandbox.admin().drop_in("ALPHA", interchange([asn], 700 + extra_exceptions), None)
    assert [world.connector.process_inbound(k) for k in world.connector.collect_inbound()] == ["exception"]
    with world.store.transaction() as session:
        inbound = session.scalars(
            select(ExceptionRecord.id).where(ExceptionRecord.idempotency_key.is_not(None)).order_by(ExceptionRecord.id)
        ).all()
    assert len(inbound) == 1
    return {"marked": marked_id, "doc": doc_id, "inbound": inbound[0], "po": f"PO-{tenant}"}


@pytest.fixture(scope="module")
def deployment(postgres_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hosted]:
    name = f"mlc_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = postgres_admin_url.rsplit("/", 1)[0] + f"/{name}"
    tmp = tmp_path_factory.mktemp("hosted-console")
    platform = Platform(url)
    key = MasterKey(b"k" * 32, "test")
    policy = SageRetryPolicy(
        attempts=2, wait_initial=0.0, wait_max=0.0, jitter=0.0, retry_after=1, sleep=lambda _s: None
    )
    worlds: dict[str, World] = {}
    vaults: dict[str, Vault] = {}
    try:
        with ExitStack() as running:
            for n, (tenant, title) in enumerate(TENANTS.items()):
                sandbox = running.enter_context(
                    running_sandbox(data_dir=tmp / f"cleo-{tenant}", partners=partner_book())
                )
                platform.add(tenant, title, {})
                store = Store(url, schema=tenant_schema(tenant))
                with store.transaction() as session:
                    for vendor, alias in list(PARTNERS.items())[:2]:
                        map_vendor(session, vendor, alias)
                sim = SimBackend(tmp / f"sage-{tenant}")
                sim.init_company(purchase_orders=0)
                agent = running.enter_context(running_agent(sim, tmp / f"agent-{tenant}", policy=policy))
                agent_client = agent.client("ml", "ml-demo", "ABC", wait_initial=0.01, wait_max=0.05)
                cleo = CleoClient.connect(
                    sandbox.base_url, CleoCredentials("demo", "demo-password"), retry=FAST_CLEO, timeout=10
                )
                connector = Connector(store, agent_client, cleo, SENDER)
                worlds[tenant] = World(
                    sim, store, sandbox, agent_client, cleo, connector, PurchasingClerk(sim), random.Random(n)
                )
                vaults[tenant] = Vault(store, key, tenant)
                vaults[tenant].put("cleo", {"username": tenant, "password": SECRET[tenant]})
            ids = {tenant: seed(worlds[tenant], tenant, 3 * n) for n, tenant in enumerate(TENANTS)}
            with platform.users() as session:
                for username, (role, tenants) in MEMBERS.items():
                    add_user(session, username, PASSWORD, role)
                    grant(session, username, tenants)

            def open_tenant(tenant: str) -> ConsoleServices:
                world = worlds[tenant]
                return ConsoleServices(
                    store=world.store,
                    connector=lambda: world.connector,
                    vault=vaults[tenant],
                    settings_summary={"tenant": tenant},
                    test_connection=lambda: [("Cleo", True, f"login accepted for {tenant}")],
                )

            services = ConsoleServices(
                store=None,
                hosted=HostedConsole(
                    users=platform.users,
                    tenants=lambda: [TenantChoice(t.id, t.name, t.enabled) for t in platform.registered()],
                    open_tenant=open_tenant,
                ),
            )
            url, server, thread = serving(services)
            try:
                yield Hosted(url, platform, worlds, ids)
            finally:
                server.should_exit = True  # type: ignore[attr-defined]
                thread.join(10)
                for world in worlds.values():
                    world.clerk.close()
                    world.cleo.close()
                    world.agent_client.close()
                for world in worlds.values():
                    world.store.close()
    finally:
        platform.close()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def everything_seen(client: httpx.Client, hosted: Hosted, as_admin: bool = False) -> str:
    """The text of every screen, every tenant's PO timeline and search, and each tenant's ids in the URL (nothing
    asked for contains a mark, so a mark in an answer is data)."""
    pages = [client.get(route).text for route in SCREENS + (["/settings"] if as_admin else [])]
    pages.append(client.get("/audit", params={"q": "ONLY"}).text)
    pages.append(client.get("/documents", params={"vendor": "01-"}).text)
    for ids in hosted.ids.values():
        pages.append(client.get(f"/po/{ids['po']}").text)
        pages.append(client.get("/documents", params={"po": str(ids["po"])}).text)
        pages.append(client.get(f"/exceptions/{ids['marked']}").text)
        pages.append(client.get(f"/documents/OUT/{ids['doc']}").text)
    return "\n".join(pages)


def test_a_user_of_one_tenant_sees_that_tenant_only_whatever_the_url(deployment: Hosted) -> None:
    ann = login(deployment.url, "ann")
    assert "Acme Supply" in current_tenant(ann)
    assert 'id="tenant-switch"' not in ann.get("/").text  # one tenant: no switcher
    seen = everything_seen(ann, deployment)
    assert MARK["acme"] in seen
    assert MARK["beta"] not in seen and MARK["gamma"] not in seen
    # Beta's and gamma's ids and PO numbers, typed into the URL: not found (acme has no such rows), never their data.
    for tenant in ("beta", "gamma"):
        ids = deployment.ids[tenant]
        assert ann.get(f"/exceptions/{ids['marked']}").status_code == 404
        assert ann.get(f"/po/{ids['po']}").status_code == 404
        assert ann.get(f"/documents/OUT/{ids['doc']}").status_code == 404
    export = ann.get("/audit/export").text
    assert MARK["acme"] in export and MARK["beta"] not in export


def test_switching_to_a_tenant_one_does_not_belong_to_is_refused(deployment: Hosted) -> None:
    ann = login(deployment.url, "ann")
    for wanted in ("beta", "gamma", "no_such_tenant", "*", ""):
        answer = switch(ann, wanted)
        assert answer.status_code == 403, wanted
        assert "You do not have access to that tenant." in answer.text and MARK["beta"] not in answer.text
    assert "Acme Supply" in current_tenant(ann)
    mia = login(deployment.url, "mia")  # acme and beta, not gamma
    options = mia.get("/").text.split('id="tenant-switch"', 1)[1].split("</select>", 1)[0]
    assert "acme" in options and "beta" in options and "gamma" not in options
    assert switch(mia, "gamma").status_code == 403
    assert switch(mia, "beta").status_code == 303
    assert "Beta Foods" in current_tenant(mia)
    seen = everything_seen(mia, deployment)
    assert MARK["beta"] in seen and MARK["acme"] not in seen and MARK["gamma"] not in seen


def test_a_form_rendered_for_one_tenant_cannot_act_on_the_tenant_switched_to_since(deployment: Hosted) -> None:
    """Two tabs: the exception page of acme stays open while the user switches to beta in another."""
    mia = login(deployment.url, "mia")
    switch(mia, "acme")
    acme_token = mia.csrf  # type: ignore[attr-defined]
    beta_exception = deployment.ids["beta"]["marked"]
    assert switch(mia, "beta").status_code == 303
    answer = mia.post(f"/exceptions/{beta_exception}/resolve", data={"csrf_token": acme_token, "note": "tab mix-up"})
    assert answer.status_code == 403 and "you have switched to Beta Foods since" in answer.text
    with deployment.worlds["beta"].store.transaction() as session:
        assert session.get(ExceptionRecord, beta_exception).status == "open"  # type: ignore[union-attr]


def test_actions_are_audited_in_their_tenant_with_the_users_name(deployment: Hosted) -> None:
    ann = login(deployment.url, "ann")
    acme, beta = deployment.worlds["acme"], deployment.worlds["beta"]
    acme_ids, beta_ids = deployment.ids["acme"], deployment.ids["beta"]
    retried = ann.post(f"/exceptions/{acme_ids['inbound']}/retry", data={"csrf_token": ann.csrf})
    assert retried.status_code == 200 and "Retried" in retried.text
    mapped = ann.post("/partners/map", data={"csrf_token": ann.csrf, "vendor_no": "01-V0004", "partner": "CHARLIE"})
    assert "Vendor 01-V0004 → Cleo partner CHARLIE" in mapped.text
    resolved = ann.post(
        f"/exceptions/{acme_ids['marked']}/resolve", data={"csrf_token": ann.csrf, "note": "mapped by hand"}
    )
    assert "Resolved with the note" in resolved.text
    # An exception id that is beta's (and no id in acme): nothing runs, nothing is resolved, in either tenant.
    assert beta_ids["inbound"] not in (acme_ids["inbound"], acme_ids["marked"])
    stray = ann.post(f"/exceptions/{beta_ids['inbound']}/retry", data={"csrf_token": ann.csrf})
    assert f"No exception {beta_ids['inbound']}." in stray.text
    stray = ann.post(f"/exceptions/{beta_ids['marked']}/resolve", data={"csrf_token": ann.csrf, "note": "x"})
    assert stray.status_code == 404 and f"No exception {beta_ids['marked']}." in stray.text

    def console_lines(world: World) -> set[tuple[str, str]]:
        with world.store.transaction() as session:
            rows = session.scalars(
                select(AuditEntry).where(AuditEntry.document_type == "console", AuditEntry.source_id == "ann")
            ).all()
            return {(r.status, r.target_id or "") for r in rows}

    lines = console_lines(acme)
    assert {
        ("retry", str(acme_ids["inbound"])),
        ("mapped", "01-V0004"),
        ("resolved", str(acme_ids["marked"])),
    } <= lines
    assert console_lines(beta) == set()  # ann never did anything in beta
    with beta.store.transaction() as session:
        assert session.get(PartnerMapping, "01-V0004") is None
        assert session.get(ExceptionRecord, beta_ids["marked"]).status == "open"  # type: ignore[union-attr]
        assert session.get(ExceptionRecord, beta_ids["inbound"]).retries == 0  # type: ignore[union-attr]
    with acme.store.transaction() as session:
        assert session.get(PartnerMapping, "01-V0004").partner == "CHARLIE"  # type: ignore[union-attr]


def test_a_viewer_cannot_act_and_settings_show_the_tenants_own_vault_and_users(deployment: Hosted) -> None:
    vic = login(deployment.url, "vic")
    assert (
        vic.post(
            f"/exceptions/{deployment.ids['beta']['marked']}/resolve", data={"csrf_token": vic.csrf, "note": "x"}
        ).status_code
        == 403
    )
    pat = login(deployment.url, "pat")
    options = pat.get("/").text.split('id="tenant-switch"', 1)[1].split("</select>", 1)[0]
    assert all(tenant in options for tenant in TENANTS)
    assert switch(pat, "gamma").status_code == 303
    settings = pat.get("/settings").text
    people = settings.split("<h2>Users</h2>", 1)[1]
    assert "nod" in people and "pat" in people and "ann" not in people and "bob" not in people
    for tenant in TENANTS:
        assert SECRET[tenant] not in settings
    assert "login accepted for gamma" in pat.post("/settings/test", data={"csrf_token": pat.csrf}).text


def test_a_revoked_tenant_is_gone_at_the_next_click(deployment: Hosted) -> None:
    bob = login(deployment.url, "bob")
    assert MARK["beta"] in bob.get("/audit", params={"q": "ONLY"}).text
    with deployment.platform.users() as session:
        revoke(session, "bob", ["beta"])
    try:
        answer = bob.get("/")
        assert answer.status_code == 403 and "belongs to no tenant" in answer.text
        assert MARK["beta"] not in bob.get("/audit", params={"q": "ONLY"}).text
        token = answer.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        assert bob.post("/logout", data={"csrf_token": token}).status_code == 303  # but can still sign out
    finally:
        with deployment.platform.users() as session:
            grant(session, "bob", ["beta"])


def test_the_switcher_in_a_real_browser(deployment: Hosted, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(deployment.url + "/")
    page.get_by_label("User name").fill("mia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(deployment.url + "/")
    complaints: list[str] = []  # script errors and CSP violations show up on the browser's console
    page.on("console", lambda message: complaints.append(message.text) if message.type == "error" else None)
    if "Beta Foods" in page.locator("#current-tenant").inner_text():  # an earlier test left mia on beta
        page.get_by_label("Switch to tenant").select_option("acme")
        page.get_by_role("button", name="Switch").click()
        page.wait_for_url(deployment.url + "/")
    assert "Acme Supply" in page.locator("#current-tenant").inner_text()
    page.goto(deployment.url + "/audit?q=ONLY")
    assert MARK["acme"] in page.locator("main").inner_text()
    page.get_by_label("Switch to tenant").select_option("beta")
    page.get_by_role("button", name="Switch").click()
    page.wait_for_url(deployment.url + "/")
    assert "Beta Foods" in page.locator("#current-tenant").inner_text()
    shots = Path(__import__("os").environ.get("MLC_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "tenant-switch.png"), full_page=True)
    page.goto(deployment.url + "/audit?q=ONLY")
    assert MARK["acme"] not in page.locator("main").inner_text()
    page.goto(deployment.url + "/audit?q=ONLY")
    assert MARK["beta"] in page.locator("main").inner_text()
    for _ in range(30):  # the switcher is reachable from the keyboard, like every control
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "tenant-switch":
            break
    assert page.evaluate("document.activeElement.id") == "tenant-switch"
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
             .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
             .map(el => el.name || el.id)"""
    )
    assert unlabelled == [] and complaints == []
    context.close()
