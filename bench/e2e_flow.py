"""Conversations through the whole system, each timed from its webhook to the provider.

Per conversation ``i`` (a new Telegram user, so a new contact and a new ticket):

1. at its due time (open loop, ``stats.PacedSchedule``) the driver POSTs a Telegram
   update to the gateway with the account's secret token (``sent``, ``acked`` at 2xx);
2. a poller finds the stored message in PostgreSQL every 20 ms by its idempotency key
   ``telegram:support_bot:<update_id>`` (an agent would see it in the console);
3. the agent's reply goes to ``POST /api/v1/tickets/{id}/replies`` at once
   (``reply_sent``, ``reply_answered`` at the 201);
4. the fake Telegram API (``TimedTelegram``, the devstack fake with arrival times) gets
   ``sendMessage`` for the user's chat (``provider_received``).

The exact commit time of the customer's message comes afterwards from
``pg_xact_commit_timestamp(xmin)``, and the broker's record timestamps of the raw,
inbound and outbound records split each path into its stages. All times are wall-clock
seconds (``time.time()``) on the one machine.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
from devstack.fake_providers import Call, FakeTelegram
from devstack.probes import read_topic
from devstack.test_system import TELEGRAM_SECRET

from .stats import PacedSchedule

ACCOUNT = "support_bot"
HOOK = f"/webhooks/telegram/{ACCOUNT}"
POLL_SECONDS = 0.02


class TimedTelegram(FakeTelegram):
    """The devstack Telegram fake, noting when each ``sendMessage`` arrived, per chat."""

    def __init__(self) -> None:
        super().__init__()
        self.sent_at: dict[str, float] = {}

    def record(self, call: Call) -> None:
        if call.method == "sendMessage":
            self.sent_at.setdefault(str(call.params.get("chat_id")), time.time())
        super().record(call)


@dataclass
class Conversation:
    index: int
    user_id: int
    due: float = 0.0
    sent: float = 0.0
    acked: float = 0.0
    status: int = 0
    ticket_id: int | None = None
    found: float = 0.0
    reply_sent: float = 0.0
    reply_answered: float = 0.0
    reply_status: int = 0
    reply_message_id: int | None = None
    provider_received: float = 0.0
    stored: float = 0.0  # commit of the customer's message
    stages: dict[str, float] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"telegram:{ACCOUNT}:{self.user_id}"  # update_id = user id: one per user


def telegram_update(user_id: int, run: str, index: int) -> bytes:
    message = {
        "message_id": 1,
        "date": int(time.time()),
        "chat": {"id": user_id, "type": "private", "first_name": "Ivan"},
        "from": {
            "id": user_id,
            "is_bot": False,
            "first_name": "Ivan",
            "last_name": f"Customer{index}",
            "username": f"user{user_id}",
            "language_code": "ru",
        },
        "text": f"Router down {run}-{index}\nThe internet at my office stopped working "
        "since yesterday evening, could you check the line please?",
    }
    return json.dumps({"update_id": user_id, "message": message}).encode()


@dataclass
class Flow:
    gateway_url: str
    core_url: str
    dsn: str
    telegram: TimedTelegram
    run: str
    user_base: int
    conversations: list[Conversation] = field(default_factory=list)

    async def run_load(self, rate: float, seconds: float, timeout: float) -> float:
        """Open-loop conversations at ``rate``/s; returns the driver's wall seconds."""
        total = max(1, int(rate * seconds))
        start_index = len(self.conversations)
        batch = [
            Conversation(start_index + i, self.user_base + start_index + i) for i in range(total)
        ]
        self.conversations += batch
        began = time.perf_counter()
        async with (
            httpx.AsyncClient(base_url=self.gateway_url, timeout=30) as gateway,
            httpx.AsyncClient(base_url=self.core_url, timeout=30) as core,
        ):
            conn = await asyncpg.connect(self.dsn)
            try:
                tasks: set[asyncio.Task[None]] = set()
                poller = asyncio.create_task(self._poll_stored(conn, core, batch, tasks))
                schedule = PacedSchedule(time.perf_counter(), rate, total)
                offset = time.time() - time.perf_counter()
                while not schedule.done:
                    await asyncio.sleep(schedule.seconds_to_next(time.perf_counter()))
                    for i in schedule.take_due(time.perf_counter()):
                        c = batch[i]
                        c.due = schedule.due_at(i) + offset
                        task = asyncio.create_task(self._webhook(gateway, c))
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)
                await asyncio.wait_for(poller, timeout)
                while tasks:
                    await asyncio.gather(*list(tasks))
                await self._wait_delivered(batch, timeout)
            finally:
                await conn.close()
        return time.perf_counter() - began

    async def _webhook(self, gateway: httpx.AsyncClient, c: Conversation) -> None:
        body = telegram_update(c.user_id, self.run, c.index)
        headers = {
            "Content-Type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET,
        }
        c.sent = time.time()
        response = await gateway.post(HOOK, content=body, headers=headers)
        c.acked, c.status = time.time(), response.status_code

    async def _reply(self, core: httpx.AsyncClient, c: Conversation) -> None:
        c.reply_sent = time.time()
        response = await core.post(
            f"/api/v1/tickets/{c.ticket_id}/replies",
            json={"text": f"Hello, a technician checks the line today ({c.index})."},
        )
        c.reply_answered, c.reply_status = time.time(), response.status_code
        if response.status_code == 201:
            c.reply_message_id = int(response.json()["id"])

    async def _poll_stored(
        self,
        conn: asyncpg.Connection,
        core: httpx.AsyncClient,
        batch: list[Conversation],
        tasks: set[asyncio.Task[None]],
    ) -> None:
        """Find each stored customer message; send its ticket's reply at once."""
        waiting = {c.key: c for c in batch}
        while waiting:
            await asyncio.sleep(POLL_SECONDS)
            keys = [k for k, c in waiting.items() if c.sent]
            if not keys:
                continue
            rows = await conn.fetch(
                "SELECT idempotency_key, ticket_id FROM messages"
                " WHERE idempotency_key = ANY($1::text[])",
                keys,
            )
            now = time.time()
            for row in rows:
                c = waiting.pop(row["idempotency_key"])
                c.ticket_id, c.found = int(row["ticket_id"]), now
                task = asyncio.create_task(self._reply(core, c))
                tasks.add(task)
                task.add_done_callback(tasks.discard)

    async def _wait_delivered(self, batch: list[Conversation], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            missing = [c for c in batch if str(c.user_id) not in self.telegram.sent_at]
            if not missing:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(missing)} replies never reached the fake Telegram")
            await asyncio.sleep(0.05)
        for c in batch:
            c.provider_received = self.telegram.sent_at[str(c.user_id)]


async def add_commit_times(dsn: str, conversations: list[Conversation]) -> None:
    """Commit time of each customer message (``track_commit_timestamp``). Not of the
    replies: their rows are updated again when the delivery state moves to ``sent``."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT idempotency_key, extract(epoch FROM pg_xact_commit_timestamp(xmin))::float8"
            " AS t FROM messages WHERE idempotency_key = ANY($1::text[])",
            [c.key for c in conversations],
        )
    finally:
        await conn.close()
    by_key = {r["idempotency_key"]: r["t"] for r in rows}
    for c in conversations:
        c.stored = by_key.get(c.key) or 0.0


async def add_stages(bootstrap: str, conversations: list[Conversation]) -> None:
    """Broker timestamps (the producer's send time, ms) of each conversation's records:
    raw (gateway), inbound (messenger-ingest), outbound (ticket-core's outbox)."""
    by_user = {c.user_id: c for c in conversations}
    by_ticket = {c.ticket_id: c for c in conversations if c.ticket_id is not None}
    for record in await read_topic(bootstrap, "raw.telegram.v1"):
        body = json.loads(json.loads(record.value)["body"])
        c = by_user.get(int(body.get("update_id", -1)))
        if c is not None:
            c.stages["raw_published"] = record.timestamp / 1000
    for record in await read_topic(bootstrap, "inbound.messages.v1"):
        key = json.loads(record.value)["idempotency_key"]
        if key.startswith(f"telegram:{ACCOUNT}:"):
            c = by_user.get(int(key.rsplit(":", 1)[1]))
            if c is not None:
                c.stages["inbound_published"] = record.timestamp / 1000
    for record in await read_topic(bootstrap, "outbound.messages.v1"):
        value: dict[str, Any] = json.loads(record.value)
        c = by_ticket.get(int(value.get("ticket_id", -1)))
        if c is not None:
            c.stages.setdefault("outbound_published", record.timestamp / 1000)
