"""The tunnel's wire format: JSON text frames, each one validated field by field, and the challenge–response proofs.

Opening (hub first):  challenge {nonce}  →  hello {tenant, nonce, proof}  →  welcome {proof}  (or a close 4401).
Then, multiplexed by id: request {id, method, path, headers, body}  →  response {id, status, headers, body}.
A request is the connector's *signed* HTTP request, byte for byte; the agent checks the signature itself.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mlconnector.sage.agent.operations import MAX_BODY, PATHS
from mlconnector.sage.agent.signing import NONCE_HEADER, SIG_HEADER, TS_HEADER

VERSION = 1
MAX_FRAME = MAX_BODY * 4 // 3 + 64 * 1024
"""Largest WebSocket message either side accepts: a 5 MB body in base64 plus headers."""
REFUSED = 4401
"""Close code when the hub refuses an agent (unknown tenant or a key that does not match)."""
REPLACED = 4409
"""Close code for an older connection of a tenant whose agent connected again."""
TENANT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
REQUEST_HEADERS = ("content-type", TS_HEADER, NONCE_HEADER, SIG_HEADER)
"""What a request frame may carry: the signature headers and the content type, nothing else."""
RESPONSE_HEADERS = ("content-type", "retry-after")

Hex64 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Tenant = Annotated[str, Field(pattern=TENANT_PATTERN)]
RequestId = Annotated[str, Field(pattern=r"^[0-9a-f]{1,32}$")]
Body = Annotated[str, Field(max_length=MAX_BODY * 4 // 3 + 4)]
HeaderValue = Annotated[str, Field(max_length=256)]


class FrameError(ValueError):
    """A frame that is not JSON, not one of ours, or has a field out of bounds."""


class Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Challenge(Frame):
    type: Literal["challenge"] = "challenge"
    version: int = VERSION
    nonce: Hex64


class Hello(Frame):
    type: Literal["hello"] = "hello"
    version: int = VERSION
    tenant: Tenant
    nonce: Hex64
    proof: Hex64


class Welcome(Frame):
    type: Literal["welcome"] = "welcome"
    proof: Hex64


class _Http(Frame):
    id: RequestId
    headers: dict[str, HeaderValue] = Field(default_factory=dict, max_length=8)
    body: Body = ""

    @field_validator("body")
    @classmethod
    def _base64(cls, body: str) -> str:
        try:
            base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("body is not base64") from None
        return body

    def content(self) -> bytes:
        return base64.b64decode(self.body, validate=True)


class Request(_Http):
    type: Literal["request"] = "request"
    method: Literal["GET", "POST"]
    path: str = Field(max_length=64)

    @field_validator("path")
    @classmethod
    def _served(cls, path: str) -> str:
        if path not in PATHS:
            raise ValueError("not an operation the agent serves")
        return path

    @model_validator(mode="after")
    def _method_of_path(self) -> Request:
        if PATHS[self.path] != self.method:
            raise ValueError(f"method: {self.path} is served with {PATHS[self.path]} only")
        return self

    @field_validator("headers")
    @classmethod
    def _signed_only(cls, headers: dict[str, str]) -> dict[str, str]:
        if set(headers) - set(REQUEST_HEADERS):
            raise ValueError(f"only {', '.join(REQUEST_HEADERS)} may be sent")
        return headers


class Response(_Http):
    type: Literal["response"] = "response"
    status: int = Field(ge=100, le=599)

    @field_validator("headers")
    @classmethod
    def _known(cls, headers: dict[str, str]) -> dict[str, str]:
        if set(headers) - set(RESPONSE_HEADERS):
            raise ValueError(f"only {', '.join(RESPONSE_HEADERS)} may be answered")
        return headers


def valid_tenant(tenant: str) -> bool:
    return re.fullmatch(TENANT_PATTERN, tenant) is not None


def encode(frame: Frame) -> str:
    return frame.model_dump_json()


F = TypeVar("F", bound=Frame)


def decode(raw: str | bytes, kind: type[F]) -> F:
    """The frame as `kind`, or FrameError saying which field is wrong (one line, never the frame itself)."""
    if isinstance(raw, bytes):
        raise FrameError("binary frame (the tunnel sends JSON text frames only)")
    try:
        data: Any = json.loads(raw)
    except ValueError:
        raise FrameError("frame is not JSON") from None
    if not isinstance(data, dict) or data.get("type") != kind.model_fields["type"].default:
        raise FrameError(f"expected a {kind.model_fields['type'].default} frame")
    try:
        return kind.model_validate(data)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"]) or "frame"
        raise FrameError(f"{kind.__name__.lower()} frame: {where}: {problem['msg']}") from None


def body_text(content: bytes) -> str:
    return base64.b64encode(content).decode("ascii")


def new_nonce() -> str:
    return secrets.token_hex(32)


def new_id() -> str:
    return secrets.token_hex(16)


def tunnel_key(agent_key: bytes) -> bytes:
    """The key the tunnel proves possession of: derived from the agent's HMAC key, never the key itself, so a
    connect proof can never stand in for a request signature."""
    return hmac.new(agent_key, b"mlc-tunnel-key-v1", hashlib.sha256).digest()


def proof(agent_key: bytes, role: Literal["agent", "hub"], tenant: str, hub_nonce: str, agent_nonce: str) -> str:
    """HMAC over both nonces and the tenant: binds the connection to this tenant's key, fresh for each connection;
    the hub answers with its own proof (role "hub"), so the agent knows the hub holds its key too."""
    message = "\n".join(["mlc-tunnel-v1", role, tenant, hub_nonce, agent_nonce]).encode()
    return hmac.new(tunnel_key(agent_key), message, hashlib.sha256).hexdigest()


def proof_matches(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())
