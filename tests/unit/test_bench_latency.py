"""The benchmarks' latency arithmetic: nearest-rank percentiles, the open-loop schedule
(no overdue request skipped), latency counted from the due time (coordinated omission),
and the load driver's keep-alive HTTP client."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[2]))  # the repository root: ``bench``

from bench.gateway_load import UNANSWERED, Connection, Sample, summarise
from bench.stats import PacedSchedule, percentile, summary_ms


def test_percentile_is_nearest_rank_and_always_a_real_sample() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 1.0) == 100.0
    assert percentile(values, 0.0) == 1.0
    assert percentile([1.0, 2.0, 10.0], 0.99) == 10.0  # a rare slow request is not averaged
    assert percentile([7.0], 0.99) == 7.0
    with pytest.raises(ValueError):
        percentile([], 0.5)
    with pytest.raises(ValueError):
        percentile(values, 99)
    assert summary_ms([]) == {"n": 0}
    assert summary_ms([3.0, 1.0, 2.0])["p50_ms"] == 2.0


def test_schedule_hands_out_overdue_requests_at_once_and_never_skips_one() -> None:
    schedule = PacedSchedule(start=100.0, rate=1000.0, total=50)
    assert list(schedule.take_due(99.0)) == []
    assert list(schedule.take_due(100.0)) == [0]
    assert list(schedule.take_due(100.0105)) == list(range(1, 11))
    assert list(schedule.take_due(100.0105)) == []
    assert schedule.due_at(20) == pytest.approx(100.02)
    assert schedule.seconds_to_next(100.0105) == pytest.approx(0.0005)
    # The caller stalled for a second: every request due meanwhile comes out, up to total.
    assert list(schedule.take_due(101.0)) == list(range(11, 50))
    assert schedule.done and list(schedule.take_due(200.0)) == []


def test_latency_counts_from_the_due_time_so_a_stall_shows_in_every_queued_request() -> None:
    # 1 s of warm-up (dropped), then 100 requests due 10 ms apart. The server stalls for
    # 0.5 s at the start: the first 50 wait in the driver (sent late) and are all answered
    # at 1.5 s; from the send they took 2 ms, from when they were due up to 500 ms.
    samples = [Sample(due=0.5, sent=0.5, done=0.502, status=200)]  # warm-up
    for i in range(100):
        due = 1.0 + i * 0.01
        sent = max(due, 1.498)
        samples.append(Sample(due=due, sent=sent, done=sent + 0.002, status=200))
    samples.append(Sample(due=2.0, sent=2.0, done=22.0, status=UNANSWERED))
    result = summarise(samples, origin=0.0, warmup=1.0, mode="paced", duration=2.0)
    assert result["requests"] == 101 and result["ok"] == 100
    assert result["statuses"] == {"200": 100, str(UNANSWERED): 1}
    from_due, from_send = result["latency_from_due"], result["latency_from_send"]
    assert from_due["max_ms"] == pytest.approx(500.0)
    assert from_due["p50_ms"] == pytest.approx(2.0)  # half the requests never waited
    assert from_due["p95_ms"] == pytest.approx(450.0)  # i = 5: due 1.05, answered 1.5
    assert from_send["p99_ms"] == pytest.approx(2.0)  # what a closed-loop view would show
    assert result["send_lag"]["max_ms"] == pytest.approx(498.0)


async def test_driver_connection_reads_keep_alive_answers_with_and_without_body() -> None:
    answers = [
        b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
        b"HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\n"
        b'content-length: 23\r\n\r\n{"detail":"forbidden"}\n',
        b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok",
    ]
    received: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for answer in answers:
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            received.append(await reader.readexactly(length))
            writer.write(answer)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    conn = await Connection.open("127.0.0.1", port)
    try:
        request = b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbody"
        statuses = [await conn.send(request) for _ in answers]
    finally:
        conn.close()
        server.close()
    assert statuses == [200, 403, 202]  # one connection, bodies consumed between answers
    assert received == [b"body"] * 3
