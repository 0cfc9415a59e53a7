"""The sandbox's HTTP surface itself: paging, filters, ICN de-duplication, and malformed requests → a message."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from mlconnector.cleo.sandbox import RunningSandbox

from .support import PASSWORD, USER, hand_850

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def api(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    """A raw HTTP client already holding a bearer token for the `demo` tenant."""
    with httpx.Client(base_url=sandbox.base_url, timeout=10) as http:
        login = http.post(
            "/api/authentication", content=f"grant_type=password&username={USER}&password={PASSWORD}", headers=FORM
        )
        assert login.status_code == 200
        assert login.json()["token_type"] == "bearer" and login.json()["expires_in"] == 3600
        http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        partner = {"alias": "ACME", "name": "Acme", "isaQualifier": "ZZ", "isaId": "ACMESUPPLY", "gsId": "ACMESUPPLY"}
        assert http.post("/api/partners", json=partner).status_code == 201
        yield http


def assert_message(response: httpx.Response, status: int, contains: str) -> None:
    """An error the way Cleo answers: the status, a JSON `message`, and no Python traceback anywhere."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert contains in body["message"], body
    assert "Traceback" not in response.text and 'File "' not in response.text


def test_paging_walks_every_inbound_message_once(sandbox: RunningSandbox, api: httpx.Client) -> None:
    for icn in range(1, 8):
        sandbox.admin().drop_in("ACME", hand_850(icn))
    seen, start = [], 0
    while True:
        page = api.get("/api/messages", params={"filter": 'direction eq "inbound"', "startIndex": start, "count": 3})
        body = page.json()
        assert body["totalResults"] == 7
        seen += [m["icn"] for m in body["resources"]]
        if "nextStartIndex" not in body:
            break
        start = body["nextStartIndex"]
    assert seen == [f"{n:09d}" for n in range(1, 8)]


def test_filters_select_and_acknowledged_messages_leave_the_new_set(sandbox: RunningSandbox, api: httpx.Client) -> None:
    first = sandbox.admin().drop_in("ACME", hand_850(1))
    sandbox.admin().drop_in("ACME", hand_850(2))
    assert api.post(f"/api/messages/{first['id']}/acknowledge").json() == {"id": first["id"], "status": "received"}
    new = api.get("/api/messages", params={"filter": 'direction eq "inbound" and status eq "new"'}).json()
    assert [m["icn"] for m in new["resources"]] == ["000000002"]
    starts = api.get("/api/messages", params={"filter": 'icn sw "00000000" and icn ne "000000002"'}).json()
    assert [m["id"] for m in starts["resources"]] == [first["id"]]
    content = api.get(first["_links"]["content"]["href"])
    assert content.headers["content-type"].startswith("application/edi-x12")
    assert content.text == hand_850(1)


def test_a_known_icn_is_409_with_the_first_message(api: httpx.Client) -> None:
    body = {"partner": "ACME", "documentType": "850", "payload": hand_850(42)}
    first = api.post("/api/messages", json=body)
    assert first.status_code == 201 and first.json()["status"] == "queued" and first.json()["icn"] == "000000042"
    again = api.post("/api/messages", json=body)
    assert_message(again, 409, "000000042")
    assert again.json()["id"] == first.json()["id"]


def test_partner_filters_and_duplicate_alias(api: httpx.Client) -> None:
    found = api.get("/api/partners", params={"filter": 'isaId eq "ACMESUPPLY"'}).json()
    assert [p["alias"] for p in found["resources"]] == ["ACME"]
    assert found["resources"][0]["_links"]["self"]["href"] == f"/api/partners/{found['resources'][0]['id']}"
    dup = {"alias": "ACME", "name": "Again", "isaId": "X", "gsId": "XX"}
    assert_message(api.post("/api/partners", json=dup), 409, "ACME")


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "contains"),
    [
        ("GET", "/api/nothing-here", {}, 404, "Not Found"),
        ("DELETE", "/api/messages", {}, 405, "Method Not Allowed"),
        ("GET", "/api/messages/m-missing", {}, 404, "No message"),
        ("GET", "/api/partners/p-missing", {}, 404, "No partner"),
        ("GET", "/api/lookups/gl-accounts", {}, 404, "No lookup"),
        ("GET", "/api/messages", {"params": {"filter": "status = new"}}, 400, "filter not understood"),
        ("GET", "/api/messages", {"params": {"filter": 'payload eq "x"'}}, 400, "cannot filter on 'payload'"),
        ("GET", "/api/messages", {"params": {"filter": 'status eq "new" or status eq "x"'}}, 400, "joined with 'and'"),
        ("GET", "/api/messages", {"params": {"count": 0}}, 422, "count"),
        ("GET", "/api/messages", {"params": {"startIndex": "abc"}}, 422, "startIndex"),
        ("POST", "/api/messages", {"content": b"{not json", "headers": {"Content-Type": "application/json"}}, 422, ""),
        ("POST", "/api/messages", {"json": {"partner": "ACME"}}, 422, "documentType: Field required"),
        (
            "POST",
            "/api/messages",
            {"json": {"partner": "ACME", "documentType": "850", "payload": "x" * 120}},
            422,
            "ISA",
        ),
        (
            "POST",
            "/api/messages",
            {"json": {"partner": "NOPE", "documentType": "850", "payload": "ISA" * 40}},
            422,
            "NOPE",
        ),
        ("POST", "/api/partners", {"json": {"alias": "bad alias!", "isaId": "X", "gsId": "XX"}}, 422, "alias"),
        ("PUT", "/api/lookups/gl", {"json": {"columns": ["a", "b"], "rows": [["1"]]}}, 422, "row 1 has 1 values"),
        ("PUT", "/api/lookups/bad name", {"json": {"columns": ["a"], "rows": []}}, 400, "Lookup names"),
    ],
)
def test_malformed_requests_get_a_message_never_a_traceback(
    api: httpx.Client, method: str, path: str, kwargs: dict[str, object], status: int, contains: str
) -> None:
    assert_message(api.request(method, path, **kwargs), status, contains)  # type: ignore[arg-type]


def test_outbound_messages_cannot_be_acknowledged(api: httpx.Client) -> None:
    sent = api.post("/api/messages", json={"partner": "ACME", "documentType": "850", "payload": hand_850(7)}).json()
    assert_message(api.post(f"/api/messages/{sent['id']}/acknowledge"), 400, "inbound")


@pytest.mark.parametrize(
    ("headers", "content", "status", "contains"),
    [
        ({}, f"grant_type=password&username={USER}&password={PASSWORD}", 400, "x-www-form-urlencoded"),
        (FORM, f"grant_type=client_credentials&username={USER}&password={PASSWORD}", 400, "grant_type"),
        (FORM, f"grant_type=password&username={USER}&password=wrong", 401, "Invalid credentials"),
        (FORM, "grant_type=password&username=nobody&password=x", 401, "Invalid credentials"),
    ],
)
def test_bad_logins(sandbox: RunningSandbox, headers: dict[str, str], content: str, status: int, contains: str) -> None:
    with httpx.Client(base_url=sandbox.base_url) as http:
        assert_message(http.post("/api/authentication", content=content, headers=headers), status, contains)


def test_tokens_missing_unknown_or_expired_are_401(sandbox: RunningSandbox, api: httpx.Client) -> None:
    with httpx.Client(base_url=sandbox.base_url) as anonymous:
        assert_message(anonymous.get("/api/partners"), 401, "Missing bearer token")
        assert_message(anonymous.get("/api/partners", headers={"Authorization": "Bearer nope"}), 401, "Invalid token")
    sandbox.admin().expire_tokens()
    expired = api.get("/api/partners")
    assert_message(expired, 401, "Token expired")
    assert expired.headers["www-authenticate"] == "Bearer"


def test_admin_rejects_unknown_tenants_and_faults(sandbox: RunningSandbox) -> None:
    with httpx.Client(base_url=sandbox.base_url) as http:
        assert_message(http.post("/admin/tenants/ghost/expire-tokens"), 404, "ghost")
        assert_message(http.post("/admin/tenants/demo/faults", json={"kind": "meteor"}), 422, "kind")
    sandbox.admin().add_fault("500", count=2)
    assert sandbox.admin().faults() == [{"kind": "500", "when": "before", "delay": 1.0, "status": 502, "remaining": 2}]
    sandbox.admin().clear_faults()
    assert sandbox.admin().faults() == []
