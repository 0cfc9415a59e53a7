"""The Cleo boundary: a client with a shared token cache and bounded retries, and (in `sandbox`) a stand-in server."""

from mlconnector.cleo.client import CleoClient, interchange_control_number
from mlconnector.cleo.errors import (
    CleoAuthError,
    CleoConflict,
    CleoError,
    CleoHTTPError,
    CleoNotFound,
    CleoProtocolError,
    CleoTrustError,
    CleoUnavailable,
)
from mlconnector.cleo.models import Lookup, Message, Page, Partner, SendResult
from mlconnector.cleo.session import CleoSession, RetryPolicy
from mlconnector.cleo.token import CleoCredentials, TokenCache

__all__ = [
    "CleoAuthError",
    "CleoClient",
    "CleoConflict",
    "CleoCredentials",
    "CleoError",
    "CleoHTTPError",
    "CleoNotFound",
    "CleoProtocolError",
    "CleoSession",
    "CleoTrustError",
    "CleoUnavailable",
    "Lookup",
    "Message",
    "Page",
    "Partner",
    "RetryPolicy",
    "SendResult",
    "TokenCache",
    "interchange_control_number",
]
