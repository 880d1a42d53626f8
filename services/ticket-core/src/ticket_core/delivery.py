"""Delivery events from the notifier become the delivery state shown on a message.

States only move forward (queued < sent < delivered < read; failed is final), so events
that arrive late or twice never move a message back. Facts of the sending (an SMS's
segment count and encoding) are merged into the message's ``fields``.
"""

from __future__ import annotations

from collections.abc import Sequence

from helpdesk_common.records import DeliveryEvent, DeliveryState
from sqlalchemy.ext.asyncio import AsyncSession

from . import repository as repo

_RANK = {
    None: -1,
    DeliveryState.QUEUED: 0,
    DeliveryState.SENT: 1,
    DeliveryState.DELIVERED: 2,
    DeliveryState.READ: 3,
    DeliveryState.FAILED: 4,
}


def advances(current: str | None, new: DeliveryState) -> bool:
    return _RANK[DeliveryState(current) if current else None] < _RANK[new]


async def apply_delivery_events(session: AsyncSession, events: Sequence[DeliveryEvent]) -> int:
    """Apply events in order; returns how many changed a message."""
    states = await repo.delivery_states(session, [e.outbound_id for e in events])
    changed = 0
    for event in events:
        if event.outbound_id not in states:
            continue
        if event.details:  # recorded even when a later state overtook this event
            await repo.add_delivery_fields(session, event.outbound_id, event.details)
        if not advances(states[event.outbound_id], event.state):
            continue
        await repo.set_delivery(session, event.outbound_id, event.state.value, event.reason)
        states[event.outbound_id] = event.state.value
        changed += 1
    return changed
