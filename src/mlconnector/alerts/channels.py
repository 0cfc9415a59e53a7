"""Where alerts go: email over SMTP, a generic JSON webhook, a Slack-compatible webhook.

A channel either delivers a message or raises `DeliveryError`; the caller records only what was delivered, so a
channel that is down is tried again at the next pass and one that worked is not repeated.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Protocol

import httpx

MAX_LINES = 50  # a digest lists this many causes, then "and N more"


class DeliveryError(Exception):
    """A channel could not deliver (server down, refused, timed out); the alerts stay due."""


@dataclass(frozen=True, slots=True)
class Alert:
    """One cause to tell people about, in the words of the exception screen."""

    cause: str  # e.g. "exception:42", "unreachable:cleo"
    kind: str
    title: str
    what: str
    why: str
    fix: str
    document: str | None = None
    link: str | None = None
    since: datetime | None = None
    po_link: str | None = None  # the PO's page in the console, when the cause is about one PO

    def as_json(self) -> dict[str, Any]:
        return {
            "cause": self.cause,
            "kind": self.kind,
            "title": self.title,
            "what": self.what,
            "why": self.why,
            "suggested_fix": self.fix,
            "document": self.document,
            "link": self.link,
            "po_link": self.po_link,
            "since": self.since.isoformat() if self.since else None,
        }

    def as_text(self) -> str:
        lines = [self.what, "", f"Why: {self.why}", f"Fix: {self.fix}"]
        if self.document:
            lines.append(f"Document: {self.document}")
        if self.since:
            lines.append(f"Since: {self.since:%Y-%m-%d %H:%M} UTC")
        if self.link:
            lines.append(f"Open: {self.link}")
        if self.po_link:
            lines.append(f"PO: {self.po_link}")
        return "\n".join(lines)


def subject(alerts: Sequence[Alert], tenant: str) -> str:
    if len(alerts) == 1:
        return f"[ml-connector {tenant}] {alerts[0].title}"
    return f"[ml-connector {tenant}] {len(alerts)} new problems need attention"


def digest_text(alerts: Sequence[Alert]) -> str:
    lines = [f"{len(alerts)} new problems since the last check:", ""]
    for alert in alerts[:MAX_LINES]:
        line = f"- {alert.title}: {alert.what}"
        lines.append(f"{line}  {alert.link}" if alert.link else line)
    if len(alerts) > MAX_LINES:
        lines.append(f"- … and {len(alerts) - MAX_LINES} more (see `ml-connector exceptions list`).")
    return "\n".join(lines)


class Channel(Protocol):
    name: str

    def deliver(self, alerts: Sequence[Alert], *, digest: bool) -> None: ...


class EmailChannel:
    """Plain-text email through an SMTP server (none, STARTTLS or implicit TLS; login when a user is stored)."""

    name = "email"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        recipients: Sequence[str],
        tenant: str = "default",
        security: str = "none",
        user: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        if security not in ("none", "starttls", "ssl"):
            raise ValueError(f"[alerts] smtp_security must be none, starttls or ssl, not {security!r}")
        self.host, self.port, self.sender, self.recipients = host, port, sender, list(recipients)
        self.tenant, self.security, self.timeout = tenant, security, timeout
        self._user, self._password = user, password

    def message(self, alerts: Sequence[Alert], *, digest: bool) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = ", ".join(self.recipients)
        message["Subject"] = subject(alerts, self.tenant)
        message.set_content(digest_text(alerts) if digest else "\n\n".join(a.as_text() for a in alerts))
        return message

    def deliver(self, alerts: Sequence[Alert], *, digest: bool) -> None:
        message = self.message(alerts, digest=digest)
        try:
            if self.security == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with smtp:
                if self.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if self._user:
                    smtp.login(self._user, self._password or "")
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"email to {self.host}:{self.port} failed: {type(exc).__name__}: {exc}") from None


class WebhookChannel:
    """An HTTP POST of JSON: `generic` (the alerts as objects) or `slack` (a `text` with mrkdwn links)."""

    def __init__(self, url: str, *, style: str = "generic", tenant: str = "default", timeout: float = 10.0) -> None:
        if style not in ("generic", "slack"):
            raise ValueError(f"webhook style must be generic or slack, not {style!r}")
        self.name = "slack" if style == "slack" else "webhook"
        self._url, self.style, self.tenant, self.timeout = url, style, tenant, timeout

    def body(self, alerts: Sequence[Alert], *, digest: bool) -> dict[str, Any]:
        if self.style == "generic":
            return {
                "source": "ml-connector",
                "tenant": self.tenant,
                "digest": digest,
                "summary": subject(alerts, self.tenant),
                "alerts": [a.as_json() for a in alerts],
            }
        lines = [f"*{subject(alerts, self.tenant)}*"]
        for alert in alerts[:MAX_LINES] if digest else alerts:
            title = f"<{alert.link}|{alert.title}>" if alert.link else alert.title
            lines.append(f"• {title}: {alert.what}" if digest else f"• {title}\n{alert.what}\n_Fix:_ {alert.fix}")
        if digest and len(alerts) > MAX_LINES:
            lines.append(f"… and {len(alerts) - MAX_LINES} more")
        return {"text": "\n".join(lines)}

    def deliver(self, alerts: Sequence[Alert], *, digest: bool) -> None:
        try:
            response = httpx.post(self._url, json=self.body(alerts, digest=digest), timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{self.name} webhook failed: {type(exc).__name__}") from None
        if not response.is_success:
            raise DeliveryError(f"{self.name} webhook answered HTTP {response.status_code}")
