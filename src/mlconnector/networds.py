"""Network failures in words a clerk reads: every message names what happened, never an exception class."""

from __future__ import annotations

TRANSPORT_WORDS: dict[str, str] = {
    # httpx class name → plain words (never the class name itself)
    "ConnectTimeout": "no answer to the connection attempt in time",
    "ConnectError": "the connection was refused or the host is unreachable",
    "ReadTimeout": "it accepted the connection but did not answer in time",
    "WriteTimeout": "sending the request took too long",
    "PoolTimeout": "too many requests were already waiting",
    "RemoteProtocolError": "it closed the connection in the middle of an answer",
    "ReadError": "the connection broke while reading the answer",
    "WriteError": "the connection broke while sending the request",
    "ProxyError": "the proxy refused the connection",
    "UnsupportedProtocol": "the URL does not start with http:// or https://",
    "LocalProtocolError": "the request could not be sent",
    "SSLError": "the TLS handshake failed",
}


def transport_words(exc: BaseException) -> str:
    """What a network failure means, in words a clerk reads (the class name stays out of every message)."""
    for klass in type(exc).__mro__:
        if klass.__name__ in TRANSPORT_WORDS:
            return TRANSPORT_WORDS[klass.__name__]
    return "the connection failed"
