"""Where call events go: ``inbound.calls.v1`` (ticket-core stores the call records) and,
for a ringing incoming call, a push to the agent on that extension with the caller's
card and a "new ticket" action, on the Redis pub/sub channel ``helpdesk:push``.

The agent on the extension: the active agent whose profile carries it (ticket-core,
``AgentPhones``); else the phone account's ``extensions`` map (the old per-account
fallback); else nobody, and the call rings for every agent. A failed profile lookup
falls back the same way, so the push is never lost."""

from __future__ import annotations

from collections.abc import Sequence

from faststream.kafka import KafkaBroker
from helpdesk_common.agent_push import encode_push
from helpdesk_common.broker import publish_many
from helpdesk_common.consuming import TransientError
from helpdesk_common.logs import get_logger
from helpdesk_common.phone_accounts import PhoneAccountConfig
from helpdesk_common.records import CallEvent, CallKind
from helpdesk_common.topics import INBOUND_CALLS
from redis.asyncio import Redis

from .agent_phones import AgentPhones
from .caller_cards import CallerCards

log = get_logger(__name__)


class CallSink:
    def __init__(
        self,
        broker: KafkaBroker,
        redis: Redis,
        cards: CallerCards,
        phones: AgentPhones,
        *,
        push_channel: str,
        producer: str,
    ) -> None:
        self._broker = broker
        self._redis = redis
        self._cards = cards
        self._phones = phones
        self._channel = push_channel
        self._producer = producer

    async def push_ringing(self, event: CallEvent, config: PhoneAccountConfig) -> None:
        claim = f"telephony:pushed:{event.idempotency_key}"
        if not await self._redis.set(claim, "1", nx=True, ex=3600):
            return  # a redelivered ringing event: pushed already
        card = await self._cards.card(event.from_number, config.match_digits)
        agent_id = await self.agent_on(event.extension, config)
        payload = {
            "channel_account": event.channel_account,
            "call_id": event.call_id,
            "extension": event.extension,
            "agent_id": agent_id,
            "from": event.from_number,
            "contact": card.get("contact"),
            "company": card.get("company"),
            "open_tickets": card.get("open_tickets", []),
            "actions": [{"action": "new_ticket", "phone": event.from_number}],
            "correlation_id": event.correlation_id,
        }
        # To the agent on that extension; a call on nobody's extension rings for everyone.
        targets = [agent_id] if agent_id is not None else None
        await self._redis.publish(
            self._channel, encode_push("call.ringing", payload, agent_ids=targets)
        )
        log.info(
            "call_ringing_pushed", extension=event.extension, matched=bool(card.get("contact"))
        )

    async def agent_on(self, extension: str | None, config: PhoneAccountConfig) -> int | None:
        if not extension:
            return None
        try:
            agent = await self._phones.on_extension(extension)
        except TransientError as exc:
            log.warning("agent_extension_lookup_failed", error=str(exc)[:200])
            agent = None
        if agent is not None:
            return agent.agent_id
        return config.extensions.get(extension)

    async def emit(self, events: Sequence[CallEvent], config: PhoneAccountConfig) -> None:
        """Publish (acked) and push the ringing ones."""
        await publish_many(self._broker, INBOUND_CALLS, events, producer=self._producer)
        for event in events:
            if event.kind is CallKind.RINGING and event.direction == "inbound":
                await self.push_ringing(event, config)
