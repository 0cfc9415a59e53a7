"""997 Functional Acknowledgment ⇄ FunctionalAck."""

from __future__ import annotations

from mlconnector.x12.documents import ElementError, FunctionalAck, SegmentError, SetAck
from mlconnector.x12.mapping.common import MappingError, Segment, el, req


def functional_ack_segments(ack: FunctionalAck) -> list[Segment]:
    """AK1, then per set AK2 (AK3, AK4 …) AK5, then AK9."""
    segments: list[Segment] = [["AK1", ack.functional_id, ack.group_control_number]]
    for s in ack.sets:
        segments.append(["AK2", s.set_id, s.control_number])
        for seg_err in s.segment_errors:
            segments.append(["AK3", seg_err.segment_id, str(seg_err.position), seg_err.loop_id, seg_err.code])
            for e in seg_err.elements:
                position = (str(e.position), str(e.component)) if e.component else (str(e.position),)
                segments.append(["AK4", position, e.reference, e.code, e.bad_value])
        segments.append(["AK5", s.status, *s.error_codes[:5]])
    segments.append(
        [
            "AK9",
            ack.status,
            str(ack.sets_included),
            str(ack.sets_received),
            str(ack.sets_accepted),
            *ack.error_codes[:5],
        ]
    )
    return segments


def functional_ack_in(segments: list[list[str]], component: str = ">") -> FunctionalAck:
    ak1 = next((s for s in segments if s[0] == "AK1"), None)
    ak9 = next((s for s in segments if s[0] == "AK9"), None)
    if ak1 is None or ak9 is None:
        raise MappingError("a 997 needs AK1 and AK9")
    sets: list[SetAck] = []
    current: dict[str, str] | None = None
    seg_errors: list[SegmentError] = []
    for seg in segments:
        tag = seg[0]
        if tag == "AK2":
            current = {"set_id": req(seg, 1), "control_number": req(seg, 2)}
            seg_errors = []
        elif tag == "AK3" and current is not None:
            seg_errors.append(SegmentError(req(seg, 1), int(req(seg, 2)), el(seg, 4), el(seg, 3)))
        elif tag == "AK4" and seg_errors:
            parts = req(seg, 1).split(component)
            element = ElementError(
                position=int(parts[0]),
                code=req(seg, 3),
                reference=el(seg, 2),
                bad_value=el(seg, 4),
                component=int(parts[1]) if len(parts) > 1 and parts[1] else None,
            )
            last = seg_errors[-1]
            seg_errors[-1] = SegmentError(
                last.segment_id, last.position, last.code, last.loop_id, (*last.elements, element)
            )
        elif tag == "AK5" and current is not None:
            codes = tuple(v for v in seg[2:7] if v)
            sets.append(SetAck(current["set_id"], current["control_number"], req(seg, 1), tuple(seg_errors), codes))
            current = None
    return FunctionalAck(
        functional_id=req(ak1, 1),
        group_control_number=req(ak1, 2),
        status=req(ak9, 1),
        sets=tuple(sets),
        sets_included=int(req(ak9, 2)),
        sets_received=int(req(ak9, 3)),
        sets_accepted=int(req(ak9, 4)),
        error_codes=tuple(v for v in ak9[5:10] if v),
    )
