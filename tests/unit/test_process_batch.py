"""process_batch: decode, handle with bounded retries, dead-letter poison, raise on transient."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from helpdesk_common import correlation
from helpdesk_common.consuming import (
    Delivery,
    RawRecord,
    RetryPolicy,
    TransientError,
    process_batch,
)
from helpdesk_common.records import TicketEvent, TicketEventKind

TOPIC = "ticket.events.v1"
FAST = RetryPolicy(attempts=3, backoff_seconds=0)
WHEN = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


@dataclass
class Raw:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]] = ()


def event(ticket_id: int) -> TicketEvent:
    return TicketEvent(
        kind=TicketEventKind.MESSAGE_ADDED,
        ticket_id=ticket_id,
        ticket_number=1000 + ticket_id,
        correlation_id=f"cid-{ticket_id}",
        event_id=f"ev-{ticket_id}",
        occurred_at=WHEN,
    )


def raw(ticket_id: int, offset: int | None = None) -> Raw:
    value = event(ticket_id).model_dump_json().encode()
    return raw_bytes(value, ticket_id if offset is None else offset)


def raw_bytes(value: bytes | None, offset: int) -> Raw:
    return Raw(TOPIC, 0, offset, b"k", value, [("schema", b"ticket_event")])


@dataclass
class Sink:
    """An in-memory dead-letter topic."""

    parked: list[tuple[RawRecord, str]] = field(default_factory=list)
    correlation_ids: list[str | None] = field(default_factory=list)

    async def __call__(self, record: RawRecord, reason: str) -> None:
        self.parked.append((record, reason))
        self.correlation_ids.append(correlation.current())

    @property
    def offsets(self) -> list[int]:
        return [r.offset for r, _ in self.parked]


@dataclass
class Handler:
    """Records every call; fails as ``fail(ids, call_number)`` says."""

    fail: object = None
    calls: list[list[int]] = field(default_factory=list)
    handled: list[int] = field(default_factory=list)

    async def __call__(self, batch: list[Delivery[TicketEvent]]) -> None:
        ids = [d.record.ticket_id for d in batch]
        self.calls.append(ids)
        if self.fail is not None:
            error = self.fail(ids, len(self.calls))  # type: ignore[operator]
            if error is not None:
                raise error
        self.handled.extend(ids)


async def run(raws: Sequence[Raw], handler: Handler, sink: Sink, retry: RetryPolicy = FAST) -> None:
    await process_batch(
        raws, record_type=TicketEvent, handler=handler, dead_letter=sink, retry=retry
    )


async def test_valid_batch_reaches_handler_once_in_order() -> None:
    handler, sink = Handler(), Sink()
    raws = [raw(i) for i in (5, 1, 9, 2)]
    seen: list[Delivery[TicketEvent]] = []

    async def capture(batch: list[Delivery[TicketEvent]]) -> None:
        seen.extend(batch)
        await handler(batch)

    await process_batch(
        raws, record_type=TicketEvent, handler=capture, dead_letter=sink, retry=FAST
    )
    assert handler.calls == [[5, 1, 9, 2]]
    assert sink.parked == []
    assert [d.raw for d in seen] == raws
    assert [d.correlation_id for d in seen] == ["cid-5", "cid-1", "cid-9", "cid-2"]
    assert seen[0].record == event(5)


async def test_empty_batch_calls_nothing() -> None:
    handler, sink = Handler(), Sink()
    await run([], handler, sink)
    assert handler.calls == [] and sink.parked == []


def _with(extra: dict[str, object]) -> bytes:
    data = json.loads(event(0).model_dump_json())
    data.update(extra)
    return json.dumps(data).encode()


UNDECODABLE = {
    "bad-json": b"{not json",
    "not-utf8": b"\xff\xfe\x00",
    "wrong-shape": b"[1, 2, 3]",
    "missing-fields": b'{"kind": "message.added"}',
    "wrong-type": _with({"ticket_id": "seven"}),
    "unknown-field": _with({"surprise": True}),
    "future-version": _with({"schema_version": 2}),
    "empty": None,
}


@pytest.mark.parametrize("value", UNDECODABLE.values(), ids=UNDECODABLE.keys())
async def test_undecodable_record_is_dead_lettered_and_rest_handled(value: bytes | None) -> None:
    handler, sink = Handler(), Sink()
    bad = raw_bytes(value, offset=2)
    await run([raw(1, 1), bad, raw(3, 3)], handler, sink)
    assert handler.calls == [[1, 3]]
    assert len(sink.parked) == 1
    parked, reason = sink.parked[0]
    assert parked is bad
    assert "ticket_event" in reason
    assert reason.startswith("undecodable")


async def test_unknown_field_reason_names_the_field() -> None:
    handler, sink = Handler(), Sink()
    await run([raw_bytes(_with({"surprise": True}), 0)], handler, sink)
    assert "surprise" in sink.parked[0][1]
    assert handler.calls == []


async def test_poison_record_is_dead_lettered_with_error_and_others_handled() -> None:
    def fail(ids: list[int], _: int) -> Exception | None:
        return ValueError("cannot thread ticket 3") if 3 in ids else None

    handler, sink = Handler(fail), Sink()
    await run([raw(i) for i in (1, 2, 3, 4, 5)], handler, sink)
    assert sink.offsets == [3]
    assert sink.parked[0][1] == "ValueError: cannot thread ticket 3"
    assert sorted(handler.handled) == [1, 2, 4, 5]
    # Whole batch tried `attempts` times, then each record alone, in order.
    assert handler.calls == [[1, 2, 3, 4, 5]] * 3 + [[1], [2], [3], [4], [5]]


async def test_poison_dead_letter_runs_with_the_records_correlation_id() -> None:
    handler = Handler(lambda ids, _: ValueError("bad") if 2 in ids else None)
    sink = Sink()
    await run([raw(1), raw(2)], handler, sink)
    assert sink.offsets == [2]
    assert sink.correlation_ids == ["cid-2"]
    assert correlation.current() is None


@pytest.mark.parametrize(
    "error", [TransientError("db down"), ConnectionError("refused"), TimeoutError("slow")]
)
async def test_transient_error_raises_and_dead_letters_nothing(error: Exception) -> None:
    handler, sink = Handler(lambda ids, _: error), Sink()
    with pytest.raises(type(error)):
        await run([raw(1), raw(2)], handler, sink)
    assert sink.parked == []
    assert handler.handled == []
    assert handler.calls == [[1, 2]] * FAST.attempts


async def test_transient_error_while_isolating_poison_raises() -> None:
    def fail(ids: list[int], _: int) -> Exception | None:
        if len(ids) > 1:
            return ValueError("batch fails")
        return ConnectionError("db went away") if ids == [2] else None

    handler, sink = Handler(fail), Sink()
    with pytest.raises(ConnectionError):
        await run([raw(1), raw(2), raw(3)], handler, sink)
    assert sink.parked == []


async def test_custom_is_transient_is_honoured() -> None:
    handler, sink = Handler(lambda ids, _: ValueError("treat as infra")), Sink()
    with pytest.raises(ValueError):
        await process_batch(
            [raw(1)],
            record_type=TicketEvent,
            handler=handler,
            dead_letter=sink,
            retry=FAST,
            is_transient=lambda exc: isinstance(exc, ValueError),
        )
    assert sink.parked == []


@pytest.mark.parametrize("error", [ValueError("flaky"), ConnectionError("blip")])
async def test_failure_then_success_is_retried(error: Exception) -> None:
    handler = Handler(lambda ids, n: error if n == 1 else None)
    sink = Sink()
    await run([raw(1), raw(2)], handler, sink)
    assert handler.calls == [[1, 2], [1, 2]]
    assert handler.handled == [1, 2]
    assert sink.parked == []


@pytest.mark.parametrize("attempts", [1, 2, 5])
async def test_retry_attempts_are_bounded(attempts: int) -> None:
    handler = Handler(lambda ids, _: RuntimeError("always"))
    sink = Sink()
    await run([raw(1)], handler, sink, RetryPolicy(attempts=attempts, backoff_seconds=0))
    # `attempts` tries of the batch, then exactly one isolation try of the single record.
    assert len(handler.calls) == attempts + 1
    assert sink.offsets == [1]
    assert sink.parked[0][1] == "RuntimeError: always"


@pytest.mark.parametrize("attempts", [1, 4])
async def test_transient_retry_attempts_are_bounded(attempts: int) -> None:
    handler = Handler(lambda ids, _: TransientError("down"))
    with pytest.raises(TransientError):
        await run([raw(1), raw(2)], handler, Sink(), RetryPolicy(attempts, 0))
    assert len(handler.calls) == attempts


async def test_every_record_poisoned_all_dead_lettered() -> None:
    handler, sink = Handler(lambda ids, _: KeyError("nope")), Sink()
    await run([raw(1), raw(2), raw(3)], handler, sink)
    assert sink.offsets == [1, 2, 3]
    assert handler.handled == []
