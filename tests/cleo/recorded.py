"""Cleo-shaped answers for the contract suite, served by respx instead of the sandbox.

The shapes follow what Cleo's own clients see (cleo-api.md §1–2): the login answer carries only `access_token` (no
`token_type`, no `expires_in`), hrefs are absolute tenant URLs, records carry fields we do not use, pages have no
`nextStartIndex`, and a 409 says only `message`. The client must work against these as well as against the sandbox.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any
from urllib.parse import parse_qs

import httpx
import respx

BASE = "https://acme-buyer.cleointegration.com"
_FILTER_CLAUSE = '(\\w+) eq "([^"]*)"'


def _json(status: int, body: Any) -> httpx.Response:
    return httpx.Response(status, json=body, headers={"Server": "Cleo"})


class RecordedCleo:
    """Just enough tenant state to replay recorded answers in order; `refuse_tokens` makes every token fail."""

    def __init__(self, router: respx.MockRouter, *, username: str, password: str) -> None:
        self.username, self.password = username, password
        self.ids = itertools.count(1001)
        self.tokens: set[str] = set()
        self.logins = 0
        self.refuse_tokens = False
        self.messages: list[dict[str, Any]] = []
        self.partners: list[dict[str, Any]] = []
        self.lookups: dict[str, dict[str, Any]] = {}
        router.post(f"{BASE}/api/authentication").mock(side_effect=self._login)
        router.route(url__startswith=f"{BASE}/api/").mock(side_effect=self._api)

    # ---------------------------------------------------------------------------------------------------- helpers

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def deliver(self, partner: str, payload: str, document_type: str = "856") -> None:
        mid = f"{next(self.ids)}"
        self.messages.append(
            {
                "id": mid,
                "direction": "inbound",
                "partner": partner,
                "documentType": document_type,
                "status": "new",
                "faStatus": None,
                "receivedAt": "2026-11-26T14:00:00.000Z",
                "payload": payload,
                "mailbox": "download",
                "_links": {
                    "self": {"href": f"{BASE}/api/messages/{mid}"},
                    "content": {"href": f"{BASE}/api/messages/{mid}/content"},
                },
            }
        )

    def _login(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        if form.get("grant_type") != "password" or (form.get("username"), form.get("password")) != (
            self.username,
            self.password,
        ):
            return _json(401, {"message": "Invalid credentials"})
        self.logins += 1
        token = f"cleo-token-{self.logins}"
        self.tokens.add(token)
        return _json(200, {"access_token": token})

    @staticmethod
    def _page(items: list[dict[str, Any]], params: dict[str, str]) -> httpx.Response:
        start, count = int(params.get("startIndex", 0)), int(params.get("count", 100))
        public = [{k: v for k, v in item.items() if k != "payload"} for item in items[start : start + count]]
        return _json(200, {"totalResults": len(items), "resources": public})

    @staticmethod
    def _select(items: list[dict[str, Any]], flt: str | None) -> list[dict[str, Any]]:
        clauses = re.findall(_FILTER_CLAUSE, flt or "")
        return [item for item in items if all(str(item.get(k)) == v for k, v in clauses)]

    # -------------------------------------------------------------------------------------------------- the API

    def _api(self, request: httpx.Request) -> httpx.Response:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if self.refuse_tokens or token not in self.tokens:
            return _json(401, {"message": "Unauthorized"})
        path, method = request.url.path, request.method
        params = dict(request.url.params)
        parts = path.strip("/").split("/")[1:]
        body = json.loads(request.content) if request.content else None
        if parts == ["messages"] and method == "POST":
            return self._send(body)
        if parts == ["messages"] and method == "GET":
            return self._page(self._select(self.messages, params.get("filter")), params)
        if parts[:1] == ["messages"] and len(parts) >= 2:
            found = next((m for m in self.messages if m["id"] == parts[1]), None)
            if found is None:
                return _json(404, {"message": f"Message {parts[1]} not found"})
            if parts[2:] == ["content"]:
                return httpx.Response(200, text=found["payload"], headers={"Content-Type": "application/edi-x12"})
            if parts[2:] == ["acknowledge"]:
                found["status"] = "received"
                return _json(200, {"id": found["id"], "status": "received"})
            return _json(200, {k: v for k, v in found.items() if k != "payload"})
        if parts == ["partners"] and method == "GET":
            return self._page(self._select(self.partners, params.get("filter")), params)
        if parts == ["partners"] and method == "POST":
            if any(p["alias"] == body["alias"] for p in self.partners):
                return _json(409, {"message": f"Connection alias {body['alias']} already exists"})
            pid = f"{next(self.ids)}"
            record = {**body, "id": pid, "type": "partner", "_links": {"self": {"href": f"{BASE}/api/partners/{pid}"}}}
            self.partners.append(record)
            return _json(201, record)
        if parts[:1] == ["partners"] and method == "PUT":
            record = next((p for p in self.partners if p["id"] == parts[1]), None)
            if record is None:
                return _json(404, {"message": "Partner not found"})
            record.update(body)
            return _json(200, record)
        if parts[:1] == ["lookups"] and len(parts) == 2:
            if method == "PUT":
                self.lookups[parts[1]] = {"columns": body["columns"], "rows": body["rows"]}
            if parts[1] not in self.lookups:
                return _json(404, {"message": f"Lookup {parts[1]} not found"})
            return _json(200, {"name": parts[1], "updated": "2026-11-26T14:00:00Z", **self.lookups[parts[1]]})
        return _json(404, {"message": "Not found"})

    def _send(self, body: dict[str, Any]) -> httpx.Response:
        payload = body["payload"]
        icn = payload[:106].split(payload[3])[13]
        if any(m.get("icn") == icn and m["direction"] == "outbound" for m in self.messages):
            return _json(409, {"message": f"Duplicate interchange control number {icn}"})
        mid = f"{next(self.ids)}"
        self.messages.append(
            {
                "id": mid,
                "direction": "outbound",
                "partner": body["partner"],
                "documentType": body["documentType"],
                "status": "queued",
                "faStatus": "pending",
                "icn": icn,
                "payload": payload,
                "_links": {"self": {"href": f"{BASE}/api/messages/{mid}"}},
            }
        )
        return _json(
            201, {"id": mid, "status": "queued", "icn": icn, "_links": {"self": {"href": f"{BASE}/api/messages/{mid}"}}}
        )
