"""X12 engine: pure functions over bytes/text; no Sage, no Cleo, no I/O beyond the data handed in.

Public API: `validate`, `validate_stream`, `functional_acks`, `functional_ack_documents`, `interchange_acks`,
`interchange_ack_documents`, `read_interchange_acks` (→ `InterchangeAck`), `read_documents` (→ `ReceivedDocument`),
`write_interchange`, `to_segments`, `from_segments`.
"""

from __future__ import annotations

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
from mlconnector.x12.report import GroupResult, InterchangeResult, SetResult, ValidationReport, X12Error
from mlconnector.x12.validate import validate, validate_stream
from mlconnector.x12.writer import WriterError, write_interchange

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
