"""Bearer-token cache for Cleo's password grant: one login shared by every thread until the token is due.

authlib supplies the RFC 6749 pieces (the password-grant form body and the token's expiry bookkeeping); its
OAuth2Client is not used because its automatic renewal only covers refresh tokens and client credentials, and Cleo's
password grant returns neither a refresh token nor RFC 6749 error fields. The lock, the single-flight login and the
"invalidate only the token that failed" rule are ours and small.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from authlib.oauth2.rfc6749 import OAuth2Token
from authlib.oauth2.rfc6749.parameters import prepare_token_request

from mlconnector.cleo.errors import CleoProtocolError


@dataclass(frozen=True, slots=True)
class CleoCredentials:
    """A Cleo login from the caller (the vault); `otp` yields a fresh TOTP code when the tenant has 2FA on.

    The password and the OTP source are excluded from `repr`, so they cannot leak into logs or tracebacks.
    """

    username: str
    password: str = field(repr=False)
    otp: Callable[[], str] | None = field(default=None, repr=False)

    def form_body(self) -> str:
        """The `application/x-www-form-urlencoded` password-grant body, with `otp` when 2FA is on."""
        extra = {"otp": self.otp()} if self.otp is not None else {}
        return prepare_token_request("password", username=self.username, password=self.password, **extra)


class TokenCache:
    """Holds one access token; `bearer()` logs in at most once at a time, however many threads ask."""

    def __init__(
        self, fetch: Callable[[], Mapping[str, Any]], *, default_ttl: float = 3600.0, leeway: float = 60.0
    ) -> None:
        self._fetch = fetch
        self._default_ttl = default_ttl
        self._leeway = leeway
        self._lock = threading.Lock()
        self._token: OAuth2Token | None = None
        self._token_leeway = leeway
        self.logins = 0

    def bearer(self) -> str:
        """A token valid for at least the leeway; logs in (under the lock) when there is none or it is due."""
        with self._lock:
            token = self._token
            if token is None or token.is_expired(leeway=self._token_leeway):
                token = self._login()
            return str(token["access_token"])

    def invalidate(self, access_token: str) -> None:
        """Forget `access_token` after a 401, unless another thread already replaced it (then its login stands)."""
        with self._lock:
            if self._token is not None and self._token.get("access_token") == access_token:
                self._token = None

    def _login(self) -> OAuth2Token:
        raw = dict(self._fetch())
        access = raw.get("access_token")
        if not isinstance(access, str) or not access:
            raise CleoProtocolError("Cleo's login answer has no access_token")
        try:
            ttl = float(raw["expires_in"]) if raw.get("expires_in") is not None else self._default_ttl
        except (TypeError, ValueError):
            ttl = self._default_ttl
        raw["expires_in"] = max(int(ttl), 1)
        raw.pop("expires_at", None)
        token = OAuth2Token.from_dict(raw)
        # A leeway as long as the token's life would mean a login per call; never wait past half the lifetime.
        self._token_leeway = int(min(self._leeway, ttl / 2))
        self._token = token
        self.logins += 1
        return token
