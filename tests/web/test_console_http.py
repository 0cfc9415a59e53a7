"""The console's guards over plain HTTP: every route needs a sign-in, every POST a CSRF token, roles hold,
security headers are there; plus the pieces (password hashes, X12 view, chart) on their own."""

from __future__ import annotations

from datetime import date

import httpx
import pytest

from mlconnector.web.chart import documents_per_day
from mlconnector.web.users import hash_password, verify_password
from mlconnector.web.x12view import render

from .conftest import PASSWORDS, Console

GET_ROUTES = [
    "/",
    "/documents",
    "/documents/OUT/1",
    "/po",
    "/po/0000001",
    "/exceptions",
    "/exceptions/1",
    "/partners",
    "/settings",
    "/audit",
    "/audit/export",
]
POST_ROUTES = [
    "/logout",
    "/exceptions/1/retry",
    "/exceptions/1/resolve",
    "/exceptions/retry",
    "/gl/refresh",
    "/partners/map",
    "/partners/unmap",
    "/partners/upload",
    "/partners/not-edi",
    "/settings/credentials/sage",
    "/settings/test",
    "/tenant",
]
OPEN_ROUTES = {("GET", "/health"), ("GET", "/login"), ("POST", "/login")}


def test_the_route_lists_above_are_every_route_of_the_console(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """So the guard tests below cover a route added later, or fail here until it is listed."""
    from fastapi.routing import APIRoute

    from mlconnector.store import Store
    from mlconnector.web.app import ConsoleServices, create_app

    store = Store(f"sqlite:///{tmp_path / 'routes.sqlite'}")
    try:
        app = create_app(ConsoleServices(store=store))
    finally:
        store.close()
    samples = {"{direction}": "OUT", "{doc_id}": "1", "{po_number}": "0000001", "{exception_id}": "1", "{name}": "sage"}
    routes = set()
    for route in app.routes:
        if isinstance(route, APIRoute):
            path = route.path
            for param, value in samples.items():
                path = path.replace(param, value)
            routes |= {(method, path) for method in route.methods}
    listed = {("GET", r) for r in GET_ROUTES} | {("POST", r) for r in POST_ROUTES} | OPEN_ROUTES
    assert routes == listed


def test_every_route_but_health_and_static_sends_a_stranger_to_the_login_page(console: Console) -> None:
    with httpx.Client(base_url=console.url, follow_redirects=False, timeout=10) as client:
        for route in GET_ROUTES:
            answer = client.get(route)
            assert answer.status_code == 303 and answer.headers["location"].startswith("/login"), route
        for route in POST_ROUTES:
            answer = client.post(route, data={"csrf_token": "x"})
            assert answer.status_code == 303 and answer.headers["location"] == "/login", route
        assert client.get("/health").json() == {"status": "ok"}
        assert client.get("/static/htmx.min.js").status_code == 200
        login = client.get("/login")
        assert login.status_code == 200 and 'name="password"' in login.text


def test_a_post_without_the_csrf_token_is_refused_with_403(console: Console) -> None:
    client = console.login("alice")
    for route in POST_ROUTES:
        assert client.post(route, data={"vendor_no": "01-V0001", "partner": "ALPHA"}).status_code == 403, route
        assert client.post(route, data={"csrf_token": "forged"}).status_code == 403, route
    with httpx.Client(base_url=console.url, timeout=10) as stranger:  # the sign-in form carries one too
        stranger.get("/login")
        answer = stranger.post("/login", data={"username": "alice", "password": PASSWORDS["alice"]})
        assert answer.status_code == 403 and "mlc_console" not in answer.headers.get("set-cookie", "")
    # The same request with the token gets through (here: the map form's own validation answers).
    ok = client.post("/partners/map", data={"csrf_token": client.csrf, "vendor_no": "", "partner": ""})
    assert ok.status_code == 200 and "Give both" in ok.text


def test_security_headers_and_cookie_flags(console: Console) -> None:
    with httpx.Client(base_url=console.url, timeout=10) as client:
        answer = client.get("/login")
    csp = answer.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert answer.headers["x-frame-options"] == "DENY"
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert "<script>" not in answer.text and " onclick=" not in answer.text


def test_a_viewer_sees_screens_but_cannot_retry_map_or_open_settings(console: Console) -> None:
    client = console.login("victor")
    assert client.get("/exceptions").status_code == 200
    assert client.post("/exceptions/1/retry", data={"csrf_token": client.csrf}).status_code == 403
    assert (
        client.post("/partners/map", data={"csrf_token": client.csrf, "vendor_no": "X", "partner": "Y"}).status_code
        == 403
    )
    assert client.get("/settings").status_code == 403


def test_wrong_passwords_are_refused_then_rate_limited(console: Console) -> None:
    with httpx.Client(base_url=console.url, timeout=10) as client:
        token = client.get("/login").text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        codes = [
            client.post(
                "/login", data={"csrf_token": token, "username": "nobody", "password": "wrong-password"}
            ).status_code
            for _ in range(6)
        ]
    assert codes[:5] == [401] * 5 and codes[5] == 429


def test_an_offsite_next_parameter_is_not_followed(console: Console) -> None:
    with httpx.Client(base_url=console.url, timeout=10) as client:
        token = client.get("/login").text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        answer = client.post(
            "/login",
            data={"csrf_token": token, "username": "olga", "password": "olga-operator-pw", "next": "//evil.example/"},
        )
    assert answer.status_code == 303 and answer.headers["location"] == "/"


def test_password_hashes_are_salted_argon2id_and_verify_only_the_right_password() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first.startswith("argon2id$19456$2$1$") and first != second and "correct horse" not in first
    assert verify_password("correct horse", first) and not verify_password("correct horsf", first)
    assert not verify_password("x", "not-a-hash")
    assert not verify_password("correct horse", first.replace("argon2id$", "scrypt$"))  # the scheme is checked


def test_an_older_scrypt_hash_still_signs_in_and_is_replaced_by_argon2id(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from mlconnector.store import Store
    from mlconnector.store.models import ConsoleUser
    from mlconnector.web.users import add_user, authenticate, scrypt_hash

    store = Store(f"sqlite:///{tmp_path / 'users.sqlite'}")
    try:
        with store.transaction() as session:
            add_user(session, "old", "an-old-long-password", "operator")  # the clerk's earlier role name
            session.get(ConsoleUser, "old").password_hash = scrypt_hash("an-old-long-password")
        with store.transaction() as session:
            assert authenticate(session, "old", "wrong-password-here") is None
            user = authenticate(session, "old", "an-old-long-password")
            assert user is not None and user.can("clerk") and not user.can("admin")
        with store.transaction() as session:
            assert session.get(ConsoleUser, "old").password_hash.startswith("argon2id$")
    finally:
        store.close()


def test_the_x12_view_names_elements_and_puts_errors_on_their_segment() -> None:
    good = (
        "ISA*00*          *00*          *ZZ*ABCDIST        *ZZ*ALPHAEDI       *261126*1200*U*00401*000000001*0*T*>~"
        "GS*PO*ABCDIST*ALPHAEDI*20261126*1200*1*X*004010~ST*850*0001~BEG*00*SA*PO1**20261126~"
        "PO1*1*5*EA*2.5**BP*ITEM1~CTT*1~SE*5*0001~GE*1*1~IEA*1*000000001~"
    )
    view = render(good)
    assert view.valid
    beg = next(s for s in view.segments if s.tag == "BEG")
    assert beg.elements[0].reference == "BEG01" and beg.elements[0].name
    bad = render(good.replace("SE*5*0001", "SE*9*0001"))
    assert not bad.valid
    se = next(s for s in bad.segments if s.tag == "SE")
    # The wrong count is shown on the element that carries it, in words.
    assert [(e.reference, e.errors) for e in se.elements] == [
        ("SE01", ["SE01 says 9 segments but set 0001 has 5 (ST to SE)"]),
        ("SE02", []),
    ]
    wrong_code = render(good.replace("BEG*00*SA", "BEG*XX*SA"))
    beg = next(s for s in wrong_code.segments if s.tag == "BEG")
    assert "not a valid code" in beg.elements[0].errors[0] and not any(e.errors for e in beg.elements[1:])


def test_the_chart_is_plain_svg_with_a_titled_bar_per_day_and_direction() -> None:
    svg = documents_per_day([(date(2026, 12, 1), 3, 1), (date(2026, 12, 2), 0, 5)])
    assert svg.startswith("<svg") and svg.count("<rect") == 4 + 2  # 2 days x 2 bars + 2 legend boxes
    assert "2026-12-01: 3 sent" in svg and "2026-12-02: 5 received" in svg and "<script" not in svg


def test_a_csv_upload_takes_the_map_import_columns_all_rows_or_none(console: Console) -> None:
    from mlconnector.store.models import PartnerMapping

    client = console.login("olga")

    def upload(text: str) -> str:
        answer = client.post(
            "/partners/upload",
            data={"csrf_token": client.csrf},
            files={"file": ("vendors.csv", text.encode(), "text/csv")},
        )
        assert answer.status_code == 200
        return answer.text

    header = "vendor_no,partner,change_document,edi\n"
    refused = upload(header + "01-V0004,CHARLIE,860,yes\n01-V0005,NO-SUCH-PARTNER,,yes\n")
    assert "Cleo has no trading partner NO-SUCH-PARTNER; nothing was changed." in refused
    bad_line = upload(header + "01-V0004,CHARLIE,860,yes\n01-V0005,,,maybe\n")
    assert "vendors.csv line 3: edi = &#39;maybe&#39;. Use yes or no. Nothing was changed." in bad_line
    assert "no column vendor_no" in upload("vendor,partner\n01-V0004,CHARLIE\n")
    with console.world.store.transaction() as session:
        assert session.get(PartnerMapping, "01-V0004") is None and session.get(PartnerMapping, "01-V0005") is None

    done = upload(header + "01-V0004,CHARLIE,860,yes\n01-V0005,,,no\n")
    assert "1 vendor(s) mapped" in done and "1 marked as not trading by EDI" in done
    with console.world.store.transaction() as session:
        mapped = session.get(PartnerMapping, "01-V0004")
        assert (mapped.partner, mapped.change_document, mapped.trades_by_edi) == ("CHARLIE", "860", True)
        assert session.get(PartnerMapping, "01-V0005").trades_by_edi is False
    unmapped = client.post("/partners/unmap", data={"csrf_token": client.csrf, "vendor_no": "01-V0004"})
    assert "has no trading partner now" in unmapped.text
    again = client.post("/partners/unmap", data={"csrf_token": client.csrf, "vendor_no": "01-V0004"})
    assert "Vendor 01-V0004 was not mapped." in again.text
    with console.world.store.transaction() as session:
        assert session.get(PartnerMapping, "01-V0004") is None


def test_the_audit_export_names_who_did_what(console: Console) -> None:
    client = console.login("olga")
    client.post("/partners/unmap", data={"csrf_token": client.csrf, "vendor_no": "01-V0001"})
    export = client.get("/audit/export", params={"type": "console"})
    assert export.status_code == 200 and export.headers["content-disposition"].endswith('"audit.jsonl"')
    lines = [line for line in export.text.splitlines() if '"unmapped"' in line]
    assert lines and '"source_id": "olga"' in lines[-1] and "01-V0001" in lines[-1]


def test_over_https_the_session_cookie_is_secure_and_the_default_bind_is_loopback(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import threading
    import time

    from mlconnector.config import Settings
    from mlconnector.store import Store
    from mlconnector.tls import ensure_self_signed, trust_context
    from mlconnector.web.app import ConsoleServices
    from mlconnector.web.cli import serve

    from .conftest import free_port

    assert Settings().web.host == "127.0.0.1"  # nothing outside this machine unless the operator says so
    cert = ensure_self_signed(tmp_path / "console.pem", tmp_path / "console.key", "127.0.0.1", ["127.0.0.1"])
    store = Store(f"sqlite:///{tmp_path / 'https.sqlite'}")
    port = free_port()
    server = serve(
        ConsoleServices(store=store), "127.0.0.1", port, certfile=str(cert), keyfile=str(tmp_path / "console.key")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        with httpx.Client(base_url=f"https://127.0.0.1:{port}", verify=trust_context(cert), timeout=10) as client:
            cookie = client.get("/login").headers["set-cookie"].lower()
        assert "; secure" in cookie and "httponly" in cookie and "samesite=strict" in cookie
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{port}/login", timeout=5)  # no plain HTTP on the HTTPS port
    finally:
        server.should_exit = True
        thread.join(10)
        store.close()


def test_every_action_is_audited_with_the_users_name_and_a_bulk_retry_says_what_it_did(console: Console) -> None:
    from mlconnector.store.ops import raise_exception

    opened = []
    with console.world.store.transaction() as session:
        for n in range(2):
            record = raise_exception(
                session, kind="stalled", what=f"doc {n} stalled", why="test", suggested_fix="look", document_ref=f"D{n}"
            )
            session.flush()
            opened.append(record.id)
    olga, alice = console.login("olga"), console.login("alice")
    bulk = olga.post("/exceptions/retry", data={"csrf_token": olga.csrf, "ids": [str(opened[0])]})
    assert bulk.status_code == 200 and f"Exception {opened[0]} (stalled) is not about an inbound document" in bulk.text
    olga.post(f"/exceptions/{opened[1]}/resolve", data={"csrf_token": olga.csrf, "note": "looked at it"})
    olga.post("/gl/refresh", data={"csrf_token": olga.csrf})
    olga.post("/partners/map", data={"csrf_token": olga.csrf, "vendor_no": "01-V0006", "partner": "CHARLIE"})
    olga.post("/partners/not-edi", data={"csrf_token": olga.csrf, "vendor_no": "01-V0007"})
    olga.post("/partners/unmap", data={"csrf_token": olga.csrf, "vendor_no": "01-V0006"})
    olga.post(
        "/partners/upload",
        data={"csrf_token": olga.csrf},
        files={"file": ("v.csv", b"vendor_no,partner,change_document,edi\n01-V0008,,,no\n", "text/csv")},
    )
    alice.post("/settings/test", data={"csrf_token": alice.csrf})
    alice.get("/audit/export", params={"type": "850"})
    export = alice.get("/audit/export", params={"type": "console"}).text.splitlines()
    import json

    done = {(line["status"], line["source_id"]) for line in map(json.loads, export)}
    for action in ("signed_in", "resolved", "gl_refresh", "mapped", "not_edi", "unmapped", "imported"):
        assert (action, "olga") in done, action
    for action in ("signed_in", "connection_test", "audit_export"):
        assert (action, "alice") in done, action
    assert all(line["message"].startswith(line["source_id"] + ":") for line in map(json.loads, export))


def test_every_asset_is_served_by_the_console_itself(console: Console) -> None:
    """No CDN: the console must work on a machine without internet; htmx keeps its licence beside it."""
    import re
    from pathlib import Path

    import mlconnector.web

    web = Path(mlconnector.web.__file__).parent
    for template in (web / "templates").glob("*.html"):
        links = re.findall(r'(?:src|href|action)="([^"{]+)', template.read_text())
        assert all(link.startswith(("/", "#")) for link in links), (template.name, links)
    assert (web / "static" / "htmx.LICENSE").read_text().startswith("Zero-Clause BSD")
    with httpx.Client(base_url=console.url, timeout=10) as client:
        assert (
            client.get("/static/htmx.min.js")
            .headers["content-type"]
            .startswith(("application/javascript", "text/javascript"))
        )
        assert client.get("/static/console.css").status_code == 200


@pytest.mark.parametrize(
    ("exc", "words"),
    [
        (httpx.ConnectError("[Errno 111] Connection refused"), "Network: the connection was refused"),
        (httpx.ReadTimeout("timed out"), "Network: it accepted the connection but did not answer in time"),
        (RuntimeError("boom"), "Unexpected failure: boom"),
    ],
)
def test_console_failures_are_words_not_class_names(exc: BaseException, words: str) -> None:
    from mlconnector.web.app import in_words

    said = in_words(exc)
    assert said.startswith(words) and type(exc).__name__ not in said
