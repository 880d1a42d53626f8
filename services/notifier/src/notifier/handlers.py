from __future__ import annotations

from helpdesk_common import correlation
from helpdesk_common.consuming import Delivery
from helpdesk_common.logs import get_logger
from helpdesk_common.records import TicketEvent

from .push import PushPublisher

log = get_logger(__name__)


class TicketEventsHandler:
    def __init__(self, push: PushPublisher) -> None:
        self._push = push

    async def __call__(self, batch: list[Delivery[TicketEvent]]) -> None:
        for delivery in batch:
            event = delivery.record
            with correlation.bound(event.correlation_id):
                pushed = await self._push.push(event)
                log.info("ticket_event_handled", kind=event.kind.value, ticket_id=event.ticket_id, pushed=pushed)
