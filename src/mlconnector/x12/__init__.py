"""X12 engine: pure functions over bytes/text; no Sage, no Cleo, no I/O beyond the data handed in.

Public API: `validate`, `validate_stream`, `functional_acks`, `functional_ack_documents`, `interchange_acks`,
`interchange_ack_documents`, `read_interchange_acks` (→ `InterchangeAck`), `read_documents` (→ `ReceivedDocument`),
`write_interchange`, `to_segments`, `from_segments`.

Names are imported on first use, so `ml-connector x12 validate` loads the validator and not the mappers.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Imported now, not on first use: the submodule `validate` would otherwise shadow the function of the same name.
from mlconnector.x12.report import GroupResult, InterchangeResult, SetResult, ValidationReport, X12Error
from mlconnector.x12.validate import validate, validate_stream

_WHERE = {
    "SequentialControlNumbers": "ack",
    "functional_ack_documents": "ack",
    "functional_acks": "ack",
    "interchange_ack_documents": "ack",
    "interchange_acks": "ack",
    "read_interchange_acks": "ack",
    "InterchangeAck": "documents",
    "ReceivedDocument": "inbound",
    "read_documents": "inbound",
    "MappingError": "mapping",
    "from_segments": "mapping",
    "to_segments": "mapping",
    "WriterError": "writer",
    "write_interchange": "writer",
}

__all__ = [
    "GroupResult",
    "InterchangeAck",
    "InterchangeResult",
    "MappingError",
    "ReceivedDocument",
    "SequentialControlNumbers",
    "SetResult",
    "ValidationReport",
    "WriterError",
    "X12Error",
    "from_segments",
    "functional_ack_documents",
    "functional_acks",
    "interchange_ack_documents",
    "interchange_acks",
    "read_documents",
    "read_interchange_acks",
    "to_segments",
    "validate",
    "validate_stream",
    "write_interchange",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'mlconnector.x12' has no attribute {name!r}")
    value = getattr(import_module(f"mlconnector.x12.{module}"), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:  # for type checkers and editors: the same names, imported eagerly
    from mlconnector.x12.ack import (
        SequentialControlNumbers,
        functional_ack_documents,
        functional_acks,
        interchange_ack_documents,
        interchange_acks,
        read_interchange_acks,
    )
    from mlconnector.x12.documents import InterchangeAck
    from mlconnector.x12.inbound import ReceivedDocument, read_documents
    from mlconnector.x12.mapping import MappingError, from_segments, to_segments
    from mlconnector.x12.writer import WriterError, write_interchange
