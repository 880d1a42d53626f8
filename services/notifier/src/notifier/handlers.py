from __future__ import annotations

from helpdesk_common.consuming import Delivery
from helpdesk_common.logs import get_logger
from helpdesk_common.records import TicketEvent

from .push import PushPublisher

log = get_logger(__name__)


class TicketEventsHandler:
    def __init__(self, push: PushPublisher) -> None:
        self._push = push

    async def __call__(self, batch: list[Delivery[TicketEvent]]) -> None:
        pushed = await self._push.push([d.record for d in batch])
        log.info("ticket_events_handled", received=len(batch), pushed=len(pushed))
