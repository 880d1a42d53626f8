"""Agent push: one Redis pub/sub subscription per gateway process on ``helpdesk:push``,
fanned out to the WebSockets of the agents each push targets (``agent_push``).

Each socket has a bounded outgoing queue and its own writer task, so a slow client never
holds up the others; a client whose queue is full is disconnected (it reconnects and
reloads). The subscription reconnects with backoff when Redis goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from helpdesk_common.agent_push import decode_push
from helpdesk_common.logs import get_logger
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = get_logger(__name__)

CLOSE_NORMAL = 1000
CLOSE_SLOW = 1008  # policy violation: could not keep up
CLOSE_UNAUTHORISED = 4401


@dataclass(eq=False)
class AgentConnection:
    """One agent's socket as the hub sees it: who it is and what to send."""

    agent_id: int
    role: str
    queue: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(maxsize=256))
    closing: asyncio.Event = field(default_factory=asyncio.Event)
    close_code: int = CLOSE_NORMAL
    close_reason: str = ""

    def offer(self, text: str) -> None:
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.close(CLOSE_SLOW, "too slow to keep up with pushes")

    def close(self, code: int, reason: str) -> None:
        if not self.closing.is_set():
            self.close_code, self.close_reason = code, reason
            self.closing.set()


class PushHub:
    def __init__(self, redis: Redis, channel: str, *, retry_max_seconds: float = 5.0) -> None:
        self._redis = redis
        self._channel = channel
        self._retry_max = retry_max_seconds
        self._connections: set[AgentConnection] = set()
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self.delivered = 0

    @property
    def subscribed(self) -> bool:
        return self._subscribed.is_set()

    def connected_agents(self) -> set[int]:
        return {c.agent_id for c in self._connections}

    def add(self, connection: AgentConnection) -> None:
        self._connections.add(connection)

    def remove(self, connection: AgentConnection) -> None:
        self._connections.discard(connection)

    def dispatch(self, raw: bytes | str) -> int:
        """Hand one published message to the sockets it targets; returns how many."""
        push = decode_push(raw)
        if push is None:
            log.warning("push_dropped", reason="not a push envelope")
            return 0
        text = raw.decode() if isinstance(raw, bytes) else raw
        reached = 0
        for connection in list(self._connections):
            if push.reaches(connection.agent_id, connection.role):
                connection.offer(text)
                reached += 1
        self.delivered += reached
        return reached

    async def start(self, first_wait_seconds: float = 5.0) -> None:
        """Subscribe in the background; wait (bounded) for the first subscription."""
        self._task = asyncio.create_task(self._run())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), first_wait_seconds)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for connection in list(self._connections):
            connection.close(1001, "the gateway is shutting down")

    async def _run(self) -> None:
        delay = 0.1
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                self._subscribed.set()
                log.info("push_subscribed", channel=self._channel)
                delay = 0.1
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None and message.get("type") == "message":
                        self.dispatch(message["data"])
            except (RedisError, OSError) as exc:
                self._subscribed.clear()
                log.warning("push_subscription_lost", error=type(exc).__name__, retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry_max)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
