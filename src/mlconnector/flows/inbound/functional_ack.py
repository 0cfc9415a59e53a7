"""997 from a partner: the FA status of the 850/860s it answers (nothing to write in Sage; recorded with the
interchange in one transaction by `receive.reconcile`)."""

from __future__ import annotations

from functools import partial

from mlconnector.x12.documents import FunctionalAck

from .common import Context, Outcome
from .receive import reconcile


def apply(ctx: Context, ref: str, ack: FunctionalAck) -> Outcome:
    return Outcome(ref, "997", effects=[partial(reconcile, partner=ctx.partner, ack=ack, source=ctx.key)])
