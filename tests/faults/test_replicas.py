"""Two replicas of every stateless service at once: gateway, messenger-ingest, ticket-core
and notifier each run a second process next to the session's own (same consumer groups,
same PostgreSQL and Redis). A stream of web-form submissions and Telegram webhooks is
spread over both gateways, agent replies over both ticket-core APIs. Every record is
stored once, every reply reaches the provider fake (or the SMTP server) once, and each
replica did part of the work (its log or its ``/metrics`` counters say how much).

Bots and web forms are chosen so that their raw records cover all 8 partitions: a raw
record's key is ``<channel>:<account>``, so one account alone would keep one
messenger-ingest replica idle, whatever the assignment.

(telephony: tests/faults/test_telephony_replicas.py. email-ingest replicas share mailboxes
through the Redis lease: tests/email/test_email_faults.py.)
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from aiokafka.partitioner import murmur2
from devstack.faults import start_replicas
from devstack.probes import eventually, metric
from devstack.processes import Child
from devstack.stack import Stack
from devstack.test_system import Fakes, MailSink
from faults_helpers import delivery_states, run_id, telegram_update
from helpdesk_common.topics import INBOUND_MESSAGES, OUTBOUND_MESSAGES
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

pytestmark = pytest.mark.e2e

PARTITIONS = 8
CHATS_PER_BOT = 3
PER_CHAT = 5  # 8 bots x 3 chats x 5 = 120 Telegram messages
CUSTOMERS_PER_FORM = 3
PER_CUSTOMER = 3  # 8 forms x 3 customers x 3 = 72 web-form submissions
REPLIES_PER_CHAT = 2
CONSUMED = "helpdesk_records_consumed_total"
SCALED = ("gateway", "messenger-ingest", "ticket-core", "notifier")
WORK: dict[str, list[str]] = {  # the topics whose handled records are a replica's work
    "messenger-ingest": ["raw.webform.v1", "raw.telegram.v1"],
    "ticket-core": [INBOUND_MESSAGES.name],
    "notifier": [OUTBOUND_MESSAGES.name],
}


def covering_names(prefix: str, channel: str) -> list[str]:
    """One account name per partition of the raw topic (key ``<channel>:<name>``)."""
    found: dict[int, str] = {}
    for n in itertools.count():
        name = f"{prefix}{n}"
        found.setdefault((murmur2(f"{channel}:{name}".encode()) & 0x7FFFFFFF) % PARTITIONS, name)
        if len(found) == PARTITIONS:
            return [found[p] for p in range(PARTITIONS)]
    raise AssertionError("unreachable")


class Replicas:
    """The session's service processes plus one more of each (ports per service)."""

    def __init__(self, running: Stack) -> None:
        self.running = running
        self.extra: dict[str, tuple[Child, int]] = {}

    def ports(self, name: str) -> list[int]:
        return [self.running.config.service_ports[name], self.extra[name][1]]

    def logs(self, name: str) -> list[str]:
        paths = [self.running.services[name].log_path, self.extra[name][0].log_path]
        return [p.read_text(errors="replace") for p in paths]

    async def work(self, name: str) -> list[float]:
        """Records each replica of ``name`` handled so far (its ``/metrics``)."""
        done = []
        for port in self.ports(name):
            done.append(
                sum([await metric(port, CONSUMED, outcome="handled", topic=t) for t in WORK[name]])
            )
        return done


@pytest.fixture
async def replicas(running: Stack) -> AsyncIterator[Replicas]:
    found = Replicas(running)
    try:
        found.extra = await asyncio.to_thread(start_replicas, running, SCALED, "b")
        yield found
    finally:
        await asyncio.gather(*(asyncio.to_thread(child.stop) for child, _ in found.extra.values()))


class Customers:
    """Posts the customers' side: Telegram webhooks and web forms, each over both gateways
    in turn, one conversation's messages in order; some posted twice (a provider's or a
    browser's retry) to the *other* gateway."""

    def __init__(self, run: str, gateways: list[httpx.AsyncClient], fakes: Fakes) -> None:
        self.run = run
        self.gateways = gateways
        self.bots = covering_names(f"{run}t", "telegram")
        self.forms = covering_names(f"{run}f", "webform")
        self.secret = f"secret-{run}"
        self.update_ids = itertools.count(1)
        self.expected: dict[str, list[str]] = {}  # conversation key -> texts in order
        self.answers: Counter[int] = Counter()
        for bot in self.bots:
            fakes.telegram.tokens.add(self.token(bot))

    def token(self, bot: str) -> str:
        return f"123456:AAH-{bot}"

    async def create_bots(self, core: httpx.AsyncClient) -> None:
        for bot in self.bots:
            response = await core.post(
                "/api/v1/channel-accounts",
                json={
                    "channel": "telegram",
                    "name": bot,
                    "secrets": {"token": self.token(bot), "webhook_secret": self.secret},
                },
            )
            assert response.status_code == 201, response.text

    async def _post(self, n: int, path: str, retry: bool, **kwargs: Any) -> None:
        for attempt in range(2 if retry else 1):
            gateway = self.gateways[(n + attempt) % 2]
            response = await gateway.post(path, **kwargs)
            self.answers[response.status_code] += 1

    async def telegram_chat(self, bot: int, chat: int, messages: int) -> None:
        peer = 6_000_000 + bot * 1000 + chat
        key = f"telegram:{self.bots[bot]}:{peer}"
        for n in range(messages):
            body = f"{self.run} b{bot} c{chat} #{n}"
            self.expected.setdefault(key, []).append(body)
            update = telegram_update(next(self.update_ids), peer, body)
            await self._post(
                n + chat,
                f"/webhooks/telegram/{self.bots[bot]}",
                retry=n % 3 == 1,
                json=update,
                headers={"X-Telegram-Bot-Api-Secret-Token": self.secret},
            )

    async def web_customer(self, form: int, customer: int, messages: int) -> None:
        email = f"{self.run}-f{form}-c{customer}@example.com"
        key = f"webform:{self.forms[form]}:{email}"
        for n in range(messages):
            body = f"{self.run} f{form} c{customer} #{n}"
            self.expected.setdefault(key, []).append(body)
            await self._post(
                n + customer,
                f"/api/v1/webform/{self.forms[form]}",
                retry=n % 3 == 1,
                json={"email": email, "subject": f"{self.run} form", "text": body},
                headers={"Idempotency-Key": f"{self.run}-{form}-{customer}-{n}"},
            )

    async def stream(self, first_chat: int, chats: int, messages: int) -> None:
        lanes: list[Awaitable[None]] = []
        for k in range(PARTITIONS):
            for c in range(first_chat, first_chat + chats):
                lanes.append(self.telegram_chat(k, c, messages))
                lanes.append(self.web_customer(k, c, messages))
        semaphore = asyncio.Semaphore(12)

        async def bounded(lane: Awaitable[None]) -> None:
            async with semaphore:
                await lane

        await asyncio.gather(*(bounded(lane) for lane in lanes))


async def stored(engine: AsyncEngine, run: str) -> dict[str, list[str]]:
    """Customer messages of the run per conversation, in the order they were stored."""
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT t.conversation_key, m.text FROM messages m "
                    "JOIN tickets t ON t.id = m.ticket_id "
                    "WHERE m.idempotency_key LIKE :tg OR m.idempotency_key LIKE :wf "
                    "ORDER BY m.id"
                ),
                {"tg": f"telegram:{run}%", "wf": f"webform:{run}%"},
            )
        ).all()
    found: dict[str, list[str]] = {}
    for conversation, body in rows:
        found.setdefault(str(conversation), []).append(str(body))
    return found


async def tickets(engine: AsyncEngine, keys: list[str]) -> dict[str, list[int]]:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT conversation_key, id FROM tickets WHERE conversation_key = ANY(:k)"),
                {"k": keys},
            )
        ).all()
    found: dict[str, list[int]] = {}
    for key, ticket_id in rows:
        found.setdefault(str(key), []).append(int(ticket_id))
    return found


def client(port: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30)


async def until_all_work(
    replicas: Replicas, services: tuple[str, ...], nudge: Callable[[int], Awaitable[None]]
) -> None:
    """Until every replica of ``services`` has handled something: the consumer groups
    have rebalanced over both processes. ``nudge(round)`` sends a little more work."""
    before = {name: await replicas.work(name) for name in services}
    rounds = itertools.count()

    async def idle() -> list[str]:
        await nudge(next(rounds))
        await asyncio.sleep(1.0)
        waiting = []
        for name in services:
            now = await replicas.work(name)
            if any(a <= b for a, b in zip(now, before[name], strict=True)):
                waiting.append(name)
        return waiting

    await eventually(idle, lambda waiting: not waiting, 60, "replicas still without work")


async def test_two_replicas_of_every_stateless_service_share_the_work_once(
    replicas: Replicas, engine: AsyncEngine, fakes: Fakes, mail_sink: MailSink
) -> None:
    run = run_id("sc")
    g1, g2 = (client(port) for port in replicas.ports("gateway"))
    c1, c2 = (client(port) for port in replicas.ports("ticket-core"))
    async with g1, g2, c1, c2:
        customers = Customers(run, [g1, g2], fakes)
        await customers.create_bots(c1)

        # Warm-up: one message per bot and form at a time (chats 100+), until both
        # replicas of each consumer have handled some: the groups have rebalanced.
        await until_all_work(
            replicas,
            ("messenger-ingest", "ticket-core"),
            lambda r: customers.stream(100 + r, 1, 1),
        )
        cores = [c1, c2]
        replies: list[str] = []
        reply_ids: list[int] = []

        async def reply(ticket_id: int, n: int) -> None:
            body = f"{run} reply {ticket_id} #{n}"
            replies.append(body)
            response = await cores[n % 2].post(
                f"/api/v1/tickets/{ticket_id}/replies", json={"text": body}
            )
            assert response.status_code == 201, response.text
            reply_ids.append(int(response.json()["id"]))

        def telegram_keys() -> list[str]:
            return [k for k in customers.expected if k.startswith("telegram:")]

        await eventually(
            lambda: tickets(engine, telegram_keys()),
            lambda t: len(t) == len(telegram_keys()),
            30,
            "warm",
        )

        async def nudge_notifier(r: int) -> None:
            # A reply's record is keyed by its ticket: a few warm tickets may all hash to
            # the partitions of one notifier replica, so each round also opens a new
            # conversation, and replies go round all the tickets stored so far.
            await customers.stream(200 + r, 1, 1)
            found = await tickets(engine, telegram_keys())
            ids = sorted(ids[0] for ids in found.values())
            await reply(ids[r % len(ids)], r)

        await until_all_work(replicas, ("notifier",), nudge_notifier)

        # The stream proper: every counter from here on.
        warmed = set(customers.expected)
        start = {name: await replicas.work(name) for name in WORK}
        await customers.stream(0, CHATS_PER_BOT, PER_CHAT)
        expected = customers.expected
        assert set(customers.answers) == {200, 202}, customers.answers

        found = await eventually(
            lambda: stored(engine, run),
            lambda s: sum(map(len, s.values())) >= sum(map(len, expected.values())),
            90,
            "every message stored",
        )
        assert found == expected  # each once, each conversation in the order written
        by_key = await tickets(engine, list(expected))
        assert {k: len(v) for k, v in by_key.items()} == dict.fromkeys(expected, 1)

        # Agent replies through both ticket-core APIs, to Telegram chats and by email.
        main = [ids[0] for key, ids in by_key.items() if key not in warmed]
        lanes = asyncio.Semaphore(8)

        async def replies_to(ticket_id: int) -> None:
            async with lanes:
                for n in range(REPLIES_PER_CHAT):
                    await reply(ticket_id, n)

        await asyncio.gather(*(replies_to(t) for t in main))

        async def telegram_sent() -> Counter[str]:
            return Counter(
                str(c.params.get("text"))
                for c in fakes.telegram.calls_of("sendMessage")
                if run in str(c.params.get("text"))
            )

        async def mailed() -> Counter[str]:
            return Counter(
                line
                for m in list(mail_sink.received)
                if run in str(m["Subject"])
                for line in m.get_body(("plain",)).get_content().splitlines()
                if line.startswith(f"{run} reply")
            )

        async def delivered() -> Counter[str]:
            return await telegram_sent() + await mailed()

        sent = await eventually(
            delivered, lambda s: set(s) >= set(replies), 90, "every reply delivered"
        )
        await eventually(
            lambda: delivery_states(engine, reply_ids),
            lambda s: s == {"sent": len(replies)},
            60,
            "replies marked sent",
        )
        await asyncio.sleep(0.5)  # a second send of any of them would have come by now
        sent = await delivered()
        assert sent == Counter(replies), "a reply missing or sent twice"
        assert (await mailed()) and (await telegram_sent())  # both ways were used

        # Each replica did part of the work.
        shares = {
            name: [a - b for a, b in zip(await replicas.work(name), start[name], strict=True)]
            for name in WORK
        }
        for name, done in shares.items():
            assert all(n > 0 for n in done), (name, shares)
        # The stream proper only: the warm-ups' messages (a varying number of rounds) were
        # handled before ``start`` was read.
        raw = sum(len(v) for key, v in expected.items() if key not in warmed)
        assert sum(shares["messenger-ingest"]) >= raw  # duplicates are records too
        assert sum(shares["ticket-core"]) >= raw
        accepted = [
            sum(run in line and "_accepted" in line for line in log.splitlines())
            for log in replicas.logs("gateway")
        ]
        assert all(n > 0 for n in accepted), accepted
        assert sum(accepted) == customers.answers[200] + customers.answers[202]
