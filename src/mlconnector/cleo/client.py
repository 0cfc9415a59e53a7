"""`CleoClient`: the one transport class. Every resource path and JSON field name we invented (★ in cleo-api.md §8–9)
lives in this file, so real Cleo paths replace ours here and nowhere else; `CleoSession` below it carries only the
conventions confirmed from Cleo's own code (token, errors, paging, retries).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from mlconnector.cleo.errors import CleoConflict, CleoProtocolError
from mlconnector.cleo.models import Lookup, Message, Page, Partner, SendResult
from mlconnector.cleo.session import CleoSession, RetryPolicy
from mlconnector.cleo.token import CleoCredentials
from mlconnector.tls import trust_context

MESSAGES = "/api/messages"
PARTNERS = "/api/partners"
LOOKUPS = "/api/lookups"


def interchange_control_number(payload: str) -> str:
    """ISA13 of an X12 interchange (the element separator is the byte after "ISA"); the key Cleo de-duplicates on."""
    text = payload.lstrip()
    if not text.startswith("ISA") or len(text) < 106:
        raise ValueError("payload is not an X12 interchange (no 106-character ISA segment)")
    elements = text[:106].split(text[3])
    if len(elements) < 17 or not elements[13].strip().isdigit():
        raise ValueError("ISA13 (interchange control number) is missing or not numeric")
    return elements[13].strip()


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _filter(**clauses: str | None) -> str | None:
    """SCIM-like filter (`a eq "x" and b eq "y"`), the syntax Cleo's collections accept."""
    parts = [f"{name} eq {_quote(value)}" for name, value in clauses.items() if value is not None]
    return " and ".join(parts) or None


def _str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    return None if value is None else str(value)


def _href(body: dict[str, Any], rel: str) -> str | None:
    link = (body.get("_links") or {}).get(rel) or {}
    return link.get("href") if isinstance(link, dict) else None


class CleoClient:
    """Sends 850s, collects inbound 997/855/856/810s, and keeps partners and lookups in Cleo; thread-safe."""

    def __init__(self, session: CleoSession, *, page_size: int = 100) -> None:
        self.session = session
        self.page_size = page_size

    @classmethod
    def connect(
        cls,
        base_url: str,
        credentials: CleoCredentials,
        *,
        page_size: int = 100,
        default_token_ttl: float = 3600.0,
        token_leeway: float = 60.0,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        ca_file: Path | str | None = None,
    ) -> CleoClient:
        """A client on a new session; credentials come from the caller (the vault) and stay in memory only.

        `ca_file` (PEM) is the only certificate authority trusted for Cleo's HTTPS — for a private CA or the sandbox's
        self-signed certificate; without it the system's trusted CAs apply.
        """
        session = CleoSession(
            base_url,
            credentials,
            default_token_ttl=default_token_ttl,
            token_leeway=token_leeway,
            timeout=timeout,
            retry=retry,
            verify=trust_context(ca_file) if ca_file else True,
        )
        return cls(session, page_size=page_size)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> CleoClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def logins(self) -> int:
        return self.session.logins

    # -------------------------------------------------------------------------------------------------- messages

    def send_document(
        self, partner: str, payload: str, *, document_type: str = "850", icn: str | None = None
    ) -> SendResult:
        """Post one interchange to `partner` (alias or id); a 409 for a known ICN comes back as `already_sent`.

        Cleo has no idempotency keys, so the ICN is the key: a retry whose first attempt was stored but whose answer
        was lost (dropped connection, 5xx after the write) also ends as `already_sent`, never as a second message.
        """
        icn = icn or interchange_control_number(payload)
        body = {"partner": partner, "documentType": document_type, "format": "x12", "payload": payload}
        response = self.session.request("POST", MESSAGES, json=body, ok=(200, 201), passthrough=(409,))
        if response.status_code == 409:
            known = self.session.json("POST", MESSAGES, response)
            known = known if isinstance(known, dict) else {}
            return SendResult(icn=icn, already_sent=True, message_id=_str(known, "id"), status=_str(known, "status"))
        created = self.session.json("POST", MESSAGES, response)
        if not isinstance(created, dict) or "id" not in created:
            raise CleoProtocolError(f"Cleo POST {MESSAGES} answered without a message id")
        return SendResult(icn=icn, already_sent=False, message_id=str(created["id"]), status=_str(created, "status"))

    def list_inbound(
        self,
        *,
        start: int = 0,
        count: int | None = None,
        status: str | None = "new",
        document_type: str | None = None,
        partner: str | None = None,
    ) -> Page[Message]:
        """One page of inbound messages (by default the new ones: acknowledged messages leave that set)."""
        flt = _filter(direction="inbound", status=status, documentType=document_type, partner=partner)
        resources, total, following = self.session.page(
            MESSAGES, start=start, count=count or self.page_size, filter=flt
        )
        return Page(tuple(self._message(r) for r in resources), total, start, following)

    def iter_inbound(self, **filters: Any) -> Iterator[Message]:
        """Every inbound message matching `filters`, page after page (acknowledge after iterating, not during)."""
        start: int | None = 0
        while start is not None:
            page = self.list_inbound(start=start, **filters)
            yield from page.items
            start = page.next_start

    def fetch_content(self, message: Message | str) -> str:
        """The raw X12 of a message, following its `_links.content` when we have it."""
        href = message.content_href if isinstance(message, Message) else None
        mid = message.id if isinstance(message, Message) else message
        response = self.session.request("GET", href or f"{MESSAGES}/{mid}/content")
        return response.text

    def acknowledge(self, message: Message | str) -> str:
        """Mark an inbound message received so it leaves the "new" set; returns the status Cleo reports."""
        mid = message.id if isinstance(message, Message) else message
        body = self.session.call("POST", f"{MESSAGES}/{mid}/acknowledge")
        return str(body.get("status", ""))

    def message_status(self, message_id: str) -> Message:
        """Delivery status (`queued|sent|delivered|failed`) and FA status from the partner's 997."""
        return self._message(self.session.call("GET", f"{MESSAGES}/{message_id}"))

    # -------------------------------------------------------------------------------------------------- partners

    def list_partners(
        self, *, alias: str | None = None, isa_id: str | None = None, erp_vendor: str | None = None
    ) -> list[Partner]:
        """Every partner matching the given fields (all pages)."""
        flt = _filter(alias=alias, isaId=isa_id, erpVendor=erp_vendor)
        partners: list[Partner] = []
        start: int | None = 0
        while start is not None:
            resources, _total, start = self.session.page(PARTNERS, start=start, count=self.page_size, filter=flt)
            partners.extend(self._partner(r) for r in resources)
        return partners

    def create_partner(self, partner: Partner) -> Partner:
        """Create a partner; a duplicate alias raises `CleoConflict`."""
        return self._partner(self.session.call("POST", PARTNERS, json=self._partner_body(partner), ok=(200, 201)))

    def update_partner(self, partner_id: str, partner: Partner) -> Partner:
        return self._partner(self.session.call("PUT", f"{PARTNERS}/{partner_id}", json=self._partner_body(partner)))

    def upsert_partner(self, partner: Partner) -> Partner:
        """Create the partner, or update the one with the same alias (how vendor master changes reach Cleo)."""
        existing = self.list_partners(alias=partner.alias)
        if not existing or not existing[0].id:
            try:
                return self.create_partner(partner)
            except CleoConflict:  # created meanwhile, or by our own retried POST whose answer was lost
                existing = self.list_partners(alias=partner.alias)
                if not existing or not existing[0].id:
                    raise
        return self.update_partner(str(existing[0].id), partner)

    # --------------------------------------------------------------------------------------------------- lookups

    def put_lookup(self, name: str, lookup: Lookup) -> Lookup:
        body = {"columns": list(lookup.columns), "rows": [list(row) for row in lookup.rows]}
        return self._lookup(self.session.call("PUT", f"{LOOKUPS}/{name}", json=body))

    def get_lookup(self, name: str) -> Lookup:
        return self._lookup(self.session.call("GET", f"{LOOKUPS}/{name}"))

    # ---------------------------------------------------------------------------------------------- JSON mapping

    @staticmethod
    def _message(body: dict[str, Any]) -> Message:
        if not isinstance(body, dict) or "id" not in body or "status" not in body:
            raise CleoProtocolError("Cleo message without id/status")
        return Message(
            id=str(body["id"]),
            direction=str(body.get("direction", "")),
            partner=str(body.get("partner", "")),
            document_type=str(body.get("documentType", "")),
            status=str(body["status"]),
            fa_status=_str(body, "faStatus"),
            icn=_str(body, "icn"),
            received_at=_str(body, "receivedAt"),
            in_reply_to=_str(body, "inReplyTo"),
            self_href=_href(body, "self"),
            content_href=_href(body, "content"),
        )

    @staticmethod
    def _partner_body(partner: Partner) -> dict[str, Any]:
        body: dict[str, Any] = {
            "alias": partner.alias,
            "name": partner.name,
            "isaQualifier": partner.isa_qualifier,
            "isaId": partner.isa_id,
            "gsId": partner.gs_id,
            "as2Id": partner.as2_id,
            "address": dict(partner.address),
            "erpVendor": partner.erp_vendor,
        }
        return {key: value for key, value in body.items() if value is not None}

    @staticmethod
    def _partner(body: dict[str, Any]) -> Partner:
        try:
            return Partner(
                alias=str(body["alias"]),
                name=str(body.get("name", "")),
                isa_qualifier=str(body.get("isaQualifier", "")),
                isa_id=str(body.get("isaId", "")),
                gs_id=str(body.get("gsId", "")),
                as2_id=_str(body, "as2Id"),
                erp_vendor=_str(body, "erpVendor"),
                address=dict(body.get("address") or {}),
                id=_str(body, "id"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CleoProtocolError(f"Cleo partner record is malformed: {exc}") from None

    @staticmethod
    def _lookup(body: dict[str, Any]) -> Lookup:
        columns, rows = body.get("columns"), body.get("rows")
        if not isinstance(columns, list) or not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise CleoProtocolError("Cleo lookup without columns/rows lists")
        return Lookup.of(columns, rows)
