"""The console in a real browser (Debian's Chromium through Playwright): what a clerk does, start to finish.

The tests run in file order over one world (module fixtures): sign in and check the overview against the store;
find a PO and read its timeline; a viewer looks but cannot retry; fix a GL exception and retry it from the page;
map an unmapped vendor and see its PO go out on the next run; a PO waiting on Cleo shows its last error on the
overview; a vendor marked "not an EDI vendor" has its held PO skipped and its exception resolved. Every screen is
saved as a screenshot.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, time

import pytest
from sqlalchemy import func, select

from flows.inbound_helpers import interchange, invoice, po_lines, send_all, ship_notice
from mlconnector.flows.liveness import Backoff
from mlconnector.store.models import ExceptionRecord, OutboundDocument

from .conftest import PASSWORDS, Console


def process_all(console: Console) -> list[str]:
    connector = console.world.connector
    return [connector.process_inbound(key) for key in connector.collect_inbound()]


def set_gl_status(console: Console, account_key: str, status: str) -> None:
    """Sage's GL chart as the simulated company holds it: 'A' active, 'I' inactive."""
    conn = sqlite3.connect(console.world.sim.db_path)
    try:
        conn.execute("UPDATE GL_Account SET Status=? WHERE AccountKey=?", (status, account_key))
        conn.commit()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def seeded(console: Console) -> dict[str, str]:
    """Two POs sent, a third whose invoice stops on an inactive GL account, a fourth held for an unmapped vendor."""
    world = console.world
    sent = [world.create_po("01-V0001", lines=2), world.create_po("01-V0002", lines=1)]
    gl_po = world.create_po("01-V0001", lines=2)
    send_all(world)
    world.connector.refresh_gl()
    world.sandbox.admin().drop_in(
        "ALPHA",
        interchange([ship_notice("SHIP-GL", {gl_po: [(n, i, q) for n, i, q, _ in po_lines(world, gl_po)]})], 700),
        None,
    )
    assert process_all(console) == ["applied"]
    account_key = world.agent_client.purchase_order(gl_po).lines[0].purchases_acct_key
    set_gl_status(console, account_key, "I")  # someone deactivates the account in Sage; the GL refresh sees it
    world.connector.refresh_gl()
    world.sandbox.admin().drop_in("ALPHA", interchange([invoice("INV-GL", gl_po, po_lines(world, gl_po))], 701), None)
    assert process_all(console) == ["exception"]
    held = world.create_po("01-V0004", lines=1)
    send_all(world)
    return {"po": sent[0], "gl_po": gl_po, "account_key": account_key, "held": held}


def sign_in(console: Console, browser, username: str):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(console.url + "/")
    assert "/login" in page.url
    page.screenshot(path=str(console.screenshots / "login.png"), full_page=True)
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORDS[username])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(console.url + "/")
    return page


def shot(console: Console, page, name: str) -> None:  # type: ignore[no-untyped-def]
    page.screenshot(path=str(console.screenshots / f"{name}.png"), full_page=True)


def test_sign_in_and_the_overview_figures_match_the_store(console: Console, browser, seeded) -> None:  # type: ignore[no-untyped-def]
    page = sign_in(console, browser, "alice")
    today = datetime.combine(datetime.now(UTC).date(), time(0), tzinfo=UTC)
    with console.world.store.transaction() as session:
        sent_850 = session.scalar(
            select(func.count()).where(OutboundDocument.document_type == "850", OutboundDocument.created_at >= today)
        )
        open_count = session.scalar(select(func.count()).where(ExceptionRecord.status == "open"))
        kinds = dict(
            session.execute(
                select(ExceptionRecord.kind, func.count())
                .where(ExceptionRecord.status == "open")
                .group_by(ExceptionRecord.kind)
            ).all()
        )
    assert sent_850 == 4 and open_count >= 2
    assert page.locator('[data-key="today-OUT-850"]').inner_text() == str(sent_850)
    assert page.locator('[data-key="week-OUT-850"]').inner_text() == str(sent_850)
    assert page.locator("#open-exceptions").inner_text() == str(open_count)
    for kind, n in kinds.items():
        assert page.locator(f'[data-kind="{kind}"]').inner_text() == str(n)
    assert page.locator("svg.chart rect").count() >= 28
    contact = page.locator("#last-contact").inner_text()
    assert "Cleo, last good call: 20" in contact and "Sage (agent), last good call: 20" in contact
    shot(console, page, "overview")
    page.context.close()


def test_find_a_po_by_number_and_read_its_timeline(console: Console, browser, seeded) -> None:  # type: ignore[no-untyped-def]
    page = sign_in(console, browser, "alice")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.goto(console.url + "/documents")
    page.locator("#f-po").fill(seeded["po"])
    page.locator("form.filters").get_by_role("button", name="Search").click()
    page.wait_for_url("**/documents?*")
    assert page.locator("#result-count").inner_text().startswith("1 document")
    shot(console, page, "documents")
    page.locator("#po-jump").fill(seeded["gl_po"])
    page.locator("#po-jump").press("Enter")
    page.wait_for_url(f"**/po/{seeded['gl_po']}")
    timeline = page.locator("#timeline").inner_text()
    assert "850 sent" in timeline and "997 not received yet" in timeline
    assert "Sage receipt of goods" in timeline and "856 applied" in timeline
    assert "810 exception" in timeline and "gl_account" in timeline
    shot(console, page, "timeline")
    page.get_by_role("link", name="raw X12").first.click()
    page.wait_for_url("**/documents/OUT/*")
    assert "BEG" in page.locator(".segments").inner_text() and "Purchase Order Number" in page.content()
    shot(console, page, "document")
    page.context.close()


def test_a_viewer_sees_an_exception_but_cannot_retry_it(console: Console, browser, seeded) -> None:  # type: ignore[no-untyped-def]
    page = sign_in(console, browser, "victor")
    page.goto(console.url + "/exceptions?kind=gl_account")
    page.get_by_role("link", name="#", exact=False).first.click()
    page.wait_for_url("**/exceptions/*")
    assert page.get_by_role("button", name="Retry").count() == 0
    assert "Your role (viewer) can look but not retry or resolve." in page.locator("main").inner_text()
    assert page.get_by_role("link", name="Settings").count() == 0
    page.context.close()


def test_fix_the_gl_account_in_sage_then_retry_from_the_page_resolves_the_exception(  # type: ignore[no-untyped-def]
    console: Console, browser, seeded
) -> None:
    page = sign_in(console, browser, "olga")
    complaints: list[str] = []  # CSP violations and script errors show up on the browser's console
    page.on(
        "console",
        lambda message: (
            complaints.append(f"{message.text} at {message.location} on {page.url}")
            if message.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda error: complaints.append(str(error)))
    page.goto(console.url + "/exceptions")
    shot(console, page, "exceptions")
    page.goto(console.url + "/exceptions?kind=gl_account")
    page.locator("table.queue a", has_text="#").first.click()
    page.wait_for_url("**/exceptions/*")
    exception_id = int(page.url.rsplit("/", 1)[1])
    assert "inactive" in page.locator("main").inner_text()
    fix = page.locator("dl.facts dd").nth(3).inner_text()  # what / why / document / fix: the fix names the actions
    assert fix.startswith("Reactivate GL account") and '"Refresh GL now"' in fix and '"Retry"' in fix
    shot(console, page, "exception")
    # Still inactive in Sage: a retry says so and the exception stays open.
    page.get_by_role("button", name="Retry").click()
    page.locator("#outcome").wait_for()
    assert "still open" in page.locator("#outcome").inner_text()
    set_gl_status(console, seeded["account_key"], "A")  # the fix: reactivate the account in Sage
    page.get_by_role("button", name="Refresh GL now").click()
    page.locator("#outcome", has_text="GL refreshed").wait_for()
    page.get_by_role("button", name="Retry").click()
    page.locator("#outcome", has_text="resolved").wait_for()
    assert "resolved" in page.locator("#exception-status").inner_text()
    shot(console, page, "exception-retried")
    assert complaints == []
    with console.world.store.transaction() as session:
        assert session.get(ExceptionRecord, exception_id).status == "resolved"
    page.context.close()


def test_map_an_unmapped_vendor_and_its_po_goes_out_on_the_next_run(console: Console, browser, seeded) -> None:  # type: ignore[no-untyped-def]
    page = sign_in(console, browser, "olga")
    page.goto(console.url + "/partners")
    row = page.locator("#vendor-01-V0004")
    assert "not mapped" in row.inner_text() and "1 held" in row.inner_text()
    shot(console, page, "partners")
    form = page.locator("#map-form")
    form.get_by_label("Sage vendor number").fill("01-V0004")
    form.get_by_label("Cleo trading partner").fill("NO-SUCH-PARTNER")
    form.get_by_role("button", name="Map").click()
    page.get_by_text("Cleo has no trading partner NO-SUCH-PARTNER").wait_for()
    row = page.locator("#vendor-01-V0004")
    row.get_by_label("Cleo partner for 01-V0004").fill("CHARLIE")
    row.get_by_role("button", name="Map vendor 01-V0004").click()
    page.get_by_text("Vendor 01-V0004 → Cleo partner CHARLIE").wait_for()
    assert "CHARLIE" in page.locator("#vendor-01-V0004").inner_text()
    send_all(console.world)  # the next run of the PO job
    with console.world.store.transaction() as session:
        statuses = {
            (o.status, o.partner)
            for o in session.scalars(select(OutboundDocument).where(OutboundDocument.po_number == seeded["held"]))
        }
    assert ("sent", "CHARLIE") in statuses
    page.goto(console.url + f"/po/{seeded['held']}")
    assert "850 sent" in page.locator("#timeline").inner_text()
    page.context.close()


def test_settings_audit_and_a_connection_test(console: Console, browser, seeded) -> None:  # type: ignore[no-untyped-def]
    page = sign_in(console, browser, "alice")
    page.goto(console.url + "/settings")
    page.get_by_role("button", name="Test connection").click()
    page.locator("#tests").wait_for()
    assert "Cleo" in page.locator("#tests").inner_text()
    for field in ("password", "totp_secret"):
        assert page.locator(f"#c-cleo-{field}").get_attribute("type") == "password"
    shot(console, page, "settings")
    page.goto(console.url + "/audit?q=" + seeded["held"])
    assert seeded["held"] in page.locator("table.audit").inner_text()
    shot(console, page, "audit")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export these lines (JSON lines)").click()
    assert download.value.suggested_filename == "audit.jsonl"
    page.context.close()


def test_every_form_control_has_a_label_and_no_screen_breaks_its_csp(console: Console, browser, seeded) -> None:  # type: ignore[no-untyped-def]
    page = sign_in(console, browser, "alice")
    complaints: list[str] = []
    page.on("console", lambda message: complaints.append(message.text) if message.type == "error" else None)
    screens = (
        "/",
        "/documents",
        "/exceptions",
        "/exceptions/1",
        "/partners",
        "/settings",
        "/audit",
        "/documents/OUT/1",
    )
    for route in (*screens, f"/po/{seeded['po']}"):
        page.goto(console.url + route)
        unlabelled = page.evaluate(
            """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
                 .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
                 .map(el => el.name || el.id)"""
        )
        assert unlabelled == [], (route, unlabelled)
        # Every action is a real link or button (the keyboard reaches those), none taken out of the tab order.
        not_reachable = page.evaluate(
            """() => [...document.querySelectorAll('[hx-get], [hx-post], [onclick], [tabindex]')]
                 .filter(el => !['A', 'BUTTON', 'FORM', 'MAIN'].includes(el.tagName)
                               || (el.tagName !== 'MAIN' && el.getAttribute('tabindex') === '-1'))
                 .map(el => el.outerHTML.slice(0, 80))"""
        )
        assert not_reachable == [], (route, not_reachable)
    assert complaints == []
    page.context.close()


def test_a_po_waiting_on_cleo_shows_its_attempts_and_last_error_on_the_overview(  # type: ignore[no-untyped-def]
    console: Console, browser, seeded
) -> None:
    world, connector = console.world, console.world.connector
    before = connector.backoff
    connector.backoff = Backoff(first_seconds=3600, max_seconds=3600)
    admin = world.sandbox.admin()
    po = world.create_po("01-V0002", lines=1)
    admin.add_fault("500", count=10_000, method="POST", path="/api/messages")
    try:
        work = [w for w in connector.collect_purchase_orders() if po in w]
        assert [connector.send_outbound(w) for w in work] == ["deferred"]
        page = sign_in(console, browser, "olga")
        waiting = page.locator("#waiting-kinds").inner_text()
        assert "outbound (to Cleo)" in waiting and "CleoUnavailable" in waiting
        row = page.locator("table.docs tr", has=page.get_by_role("link", name=po))
        text = row.inner_text()
        assert "Cleo unreachable or busy" in text and "CleoUnavailable" in text
        assert row.locator("td.attempts").inner_text() == "1"
        shot(console, page, "overview-waiting")
        page.goto(console.url + "/documents?waiting=1")
        assert "CleoUnavailable" in page.locator(f"table.docs tr:has(a:text('{po}'))").inner_text()
        shot(console, page, "documents-waiting")
        page.goto(console.url + f"/po/{po}")
        assert "waiting on Cleo unreachable or busy, attempt 1" in page.locator("#timeline").inner_text()
        page.context.close()
    finally:
        admin.clear_faults()
        connector.backoff = before
    again = [w for w in connector.collect_purchase_orders() if po in w]  # Cleo answers: due now, a new attempt
    assert [connector.send_outbound(w) for w in again] == ["sent"]


def test_mark_a_vendor_not_an_edi_vendor_skips_its_held_po_and_resolves_its_exception(  # type: ignore[no-untyped-def]
    console: Console, browser, seeded
) -> None:
    world = console.world
    po = world.create_po("01-V0005", lines=1)
    send_all(world)
    with world.store.transaction() as session:
        assert session.scalars(select(OutboundDocument.status).where(OutboundDocument.po_number == po)).all() == [
            "held"
        ]
        unmapped = [
            x
            for x in session.scalars(
                select(ExceptionRecord).where(
                    ExceptionRecord.kind == "unmapped_vendor", ExceptionRecord.status == "open"
                )
            )
            if (x.details or {}).get("vendor") == "01-V0005"
        ]
        assert len(unmapped) == 1
        exception_id = unmapped[0].id
    page = sign_in(console, browser, "olga")
    page.goto(console.url + "/partners")
    row = page.locator("#vendor-01-V0005")
    assert "not mapped" in row.inner_text() and "1 held" in row.inner_text()
    row.get_by_role("button", name="Vendor 01-V0005 is not an EDI vendor").click()
    page.get_by_text("Vendor 01-V0005 does not trade by EDI: 1 held PO(s) skipped, 1 exception(s) resolved").wait_for()
    row = page.locator("#vendor-01-V0005")
    assert "not an EDI vendor" in row.inner_text() and "1 skipped" in row.inner_text()
    shot(console, page, "partners-not-edi")
    with world.store.transaction() as session:
        assert session.scalars(select(OutboundDocument.status).where(OutboundDocument.po_number == po)).all() == [
            "skipped"
        ]
        assert session.get(ExceptionRecord, exception_id).status == "resolved"
    send_all(world)  # the next run sends nothing for it and opens no exception
    with world.store.transaction() as session:
        assert session.scalars(select(OutboundDocument.status).where(OutboundDocument.po_number == po)).all() == [
            "skipped"
        ]
    page.context.close()
