"""The benchmark's inbound records: deterministic, about 1 KB of text each, a realistic mix.

Mix of a measured stream (by position, interleaved so every stretch of the stream has it):

- 50% follow-ups: email replies whose ``In-Reply-To`` names a seed conversation's
  Message-ID (seed conversations are stored before the measurement starts, so these hit
  existing tickets), from the seed's own sender (same partition key, so ordered);
- 30% messenger messages: Telegram chats (``conversation_id`` = chat id), several
  messages per chat, so a chat's first message opens a ticket and the rest append;
- 20% new conversations: fresh emails with their own Message-ID.

Idempotency keys are ``<prefix>:<n>`` where the prefix includes the run id, so every
record of one phase can be counted with ``LIKE '<prefix>:%'``.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from helpdesk_common.records import (
    Channel,
    InboundMessage,
    SenderIdentity,
    ThreadHints,
    utcnow,
)

MAILBOX = "support@acme.example"
BOT = "acme_support_bot"
TEXT_BYTES = 1000
MESSAGES_PER_CHAT = 6
FOLLOW_UPS_PER_SEED = 5

_WORDS = (
    "order invoice delivery refund account password login payment card tariff router "
    "internet connection outage technician visit contract address phone number please "
    "hello thanks regards urgent since yesterday still not working again could you check "
    "status update ticket request error message screenshot attached today tomorrow week "
    "office branch manager support service billing period amount charged twice cancel"
).split()


def _text(rng: random.Random, size: int = TEXT_BYTES) -> str:
    words: list[str] = []
    length = 0
    while length < size:
        word = rng.choice(_WORDS)
        words.append(word)
        length += len(word) + 1
        if rng.random() < 0.08:
            words[-1] += ".\n"
    return " ".join(words)[:size]


def _seed_address(run: str, conversation: int) -> str:
    return f"{run}-customer{conversation}@mail.example"


def _seed_message_id(run: str, conversation: int) -> str:
    return f"<{run}.seed.{conversation}@mail.example>"


@dataclass(frozen=True)
class Workload:
    run: str
    n: int
    seed_conversations: int

    @classmethod
    def for_run(cls, run: str, n: int) -> Workload:
        return cls(run, n, max(1, n // 2 // FOLLOW_UPS_PER_SEED))

    def seeds(self) -> list[InboundMessage]:
        """One email per seed conversation: the tickets the follow-ups refer to."""
        rng = random.Random(f"{self.run}-seed")
        out = []
        for c in range(self.seed_conversations):
            address = _seed_address(self.run, c)
            out.append(
                InboundMessage(
                    idempotency_key=f"{self.run}-seed:{c}",
                    channel=Channel.EMAIL,
                    channel_account=MAILBOX,
                    sender=SenderIdentity(
                        channel_user_id=address, email=address, display_name=f"Customer {c}"
                    ),
                    thread=ThreadHints(message_id=_seed_message_id(self.run, c)),
                    subject=f"Problem with order {c}",
                    text=_text(rng),
                )
            )
        return out

    def stream(self, prefix: str, n: int | None = None) -> list[InboundMessage]:
        """``n`` records (default: the workload's N) keyed ``<prefix>:<i>``."""
        count = self.n if n is None else n
        rng = random.Random(prefix)
        chats = max(1, count * 3 // 10 // MESSAGES_PER_CHAT)
        return [self._one(prefix, i, rng, chats) for i in range(count)]

    def _one(self, prefix: str, i: int, rng: random.Random, chats: int) -> InboundMessage:
        slot = i % 10
        key = f"{prefix}:{i}"
        if slot < 5:  # follow-up on an existing (seeded) conversation
            c = rng.randrange(self.seed_conversations)
            address = _seed_address(self.run, c)
            parent = _seed_message_id(self.run, c)
            return InboundMessage(
                idempotency_key=key,
                channel=Channel.EMAIL,
                channel_account=MAILBOX,
                sender=SenderIdentity(
                    channel_user_id=address, email=address, display_name=f"Customer {c}"
                ),
                thread=ThreadHints(
                    message_id=f"<{prefix}.{i}@mail.example>",
                    in_reply_to=parent,
                    references=(parent,),
                ),
                subject=f"Re: Problem with order {c}",
                text=_text(rng),
            )
        if slot < 8:  # messenger
            chat = rng.randrange(chats)
            chat_id = f"{zlib.crc32(prefix.encode()) % 10**6}{chat:06d}"
            return InboundMessage(
                idempotency_key=key,
                channel=Channel.TELEGRAM,
                channel_account=BOT,
                sender=SenderIdentity(
                    channel_user_id=chat_id, display_name=f"Chat {chat}", username=f"user{chat}"
                ),
                thread=ThreadHints(conversation_id=chat_id, message_id=str(i)),
                text=_text(rng),
            )
        address = f"{prefix}-new{i}@mail.example"  # a new conversation
        return InboundMessage(
            idempotency_key=key,
            channel=Channel.EMAIL,
            channel_account=MAILBOX,
            sender=SenderIdentity(channel_user_id=address, email=address, display_name=f"New {i}"),
            thread=ThreadHints(message_id=f"<{prefix}.{i}@mail.example>"),
            subject=f"New request {i}",
            text=_text(rng),
        )


def stamped(records: Iterable[InboundMessage]) -> Iterator[InboundMessage]:
    """Set ``received_at`` at the moment each record is handed to the producer."""
    for record in records:
        yield record.model_copy(update={"received_at": utcnow()})
