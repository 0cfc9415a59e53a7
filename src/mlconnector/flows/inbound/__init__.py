"""Inbound: documents from Cleo into the store, answered with our 997 and applied to Sage, laid out like outbound.

- `receive`: every inbound message stored raw and acknowledged in Cleo; 997s reconciled with what we sent.
- `dispatch`: one stored interchange → our 997 (`answer`) → each transaction set to the module of its type:
  `functional_ack` (997), `acknowledgment` (855), `ship_notice` (856), `invoice` (810). Each plans (pure, in
  `flows.matching`), applies to Sage with its key, and returns an `Outcome` recorded in one store transaction.
- `posting`: the receipt register once per poll for every receipt written, not once per document.
"""

from __future__ import annotations

from .common import SageReceiving, Tolerances, business_key
from .dispatch import Receiving
from .receive import FA_OVERDUE, FA_REJECTED, FA_STATUS, flag_overdue, inbound_key, receive, reconcile

__all__ = [
    "FA_OVERDUE",
    "FA_REJECTED",
    "FA_STATUS",
    "Receiving",
    "SageReceiving",
    "Tolerances",
    "business_key",
    "flag_overdue",
    "inbound_key",
    "receive",
    "reconcile",
]
