"""Inbound files → typed documents with their envelope identity (what flows needs to match and dedupe)."""

from __future__ import annotations

from dataclasses import dataclass, field

from mlconnector.x12.documents import Document
from mlconnector.x12.mapping import MappingError, from_segments
from mlconnector.x12.report import SetResult, X12Error
from mlconnector.x12.validate import SetContext, validate_with_sink


@dataclass(frozen=True, slots=True)
class ReceivedDocument:
    """One inbound transaction set: the typed document (None when the set is invalid or unsupported) and where
    it came from (ISA13/GS06/ST02 and the parties), which together make its idempotency key."""

    document: Document | None
    transaction_set: str
    interchange_control: str
    group_control: str
    set_control: str
    sender_qualifier: str
    sender_id: str
    receiver_qualifier: str
    receiver_id: str
    application_sender: str
    application_receiver: str
    functional_id: str
    version: str
    valid: bool
    errors: tuple[X12Error, ...] = field(default_factory=tuple)


def read_documents(data: bytes | str, *, lenient: bool = False) -> list[ReceivedDocument]:
    """Every transaction set in `data`, validated and, when valid, mapped to its typed document.

    A set is only valid when its envelope is too: a broken interchange or group marks its sets invalid, with the
    envelope errors listed first.
    """
    found: list[tuple[SetResult, SetContext, Document | None, list[X12Error]]] = []

    def sink(result: SetResult, ctx: SetContext) -> None:
        document: Document | None = None
        extra: list[X12Error] = []
        if result.valid and result.supported:
            try:
                document = from_segments(result.set_id, ctx.segments, component=ctx.separators.component)
            except (MappingError, ValueError, IndexError) as exc:
                extra.append(X12Error(result.set_id, 1, None, "", f"set {result.control}: {exc}", "set"))
        found.append((result, ctx, document, extra))

    validate_with_sink(data, sink, lenient=lenient)
    out = []
    for result, ctx, document, extra in found:
        ic, group = ctx.interchange, ctx.group
        envelope = ic.errors + group.errors
        valid = result.valid and not envelope and not extra
        out.append(
            ReceivedDocument(
                document=document if valid else None,
                transaction_set=result.set_id,
                interchange_control=ic.control,
                group_control=group.control,
                set_control=result.control,
                sender_qualifier=ic.sender_qualifier,
                sender_id=ic.sender_id,
                receiver_qualifier=ic.receiver_qualifier,
                receiver_id=ic.receiver_id,
                application_sender=group.application_sender,
                application_receiver=group.application_receiver,
                functional_id=group.functional_id,
                version=group.version,
                valid=valid,
                errors=tuple(envelope + result.errors + extra),
            )
        )
    return out
