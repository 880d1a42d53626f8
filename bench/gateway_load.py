"""The webhook load driver: a separate process that posts signed webhooks over loopback.

    python -m bench.gateway_load --port P --path /webhooks/telegram/bot --mode paced \
        --rate 1000 --seconds 10 --warmup-seconds 2 --out result.json

Modes:

- ``closed``: ``--concurrency`` connections, each sends its next request as soon as the
  previous one was answered (the maximum rate the server sustains at that concurrency).
- ``paced``: open loop at ``--rate`` requests/s (``stats.PacedSchedule``); a request whose
  time has come takes an idle keep-alive connection or opens one (up to
  ``--max-connections``, like a provider's webhook fan-out) or waits in line for one.
  Latency counts from the time the request was due, so waits in the driver and queueing
  in the server are both in the figure; the time from the actual send is reported too.

Requests are HTTP/1.1 with keep-alive over plain asyncio streams (a few microseconds of
driver CPU per request, much less than an HTTP client library). Bodies are Telegram
updates (``X-Telegram-Bot-Api-Secret-Token``) or Viber events (HMAC-SHA256 of the body in
``X-Viber-Content-Signature``), each with its own ids. Writes one JSON document to
``--out``: counts, statuses, rate, latency summaries, per-second p99, driver CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .stats import PacedSchedule, per_second, summary_ms

_TELEGRAM_BODY = (
    '{"update_id":%d,"message":{"message_id":%d,"date":%d,'
    '"chat":{"id":%d,"type":"private","first_name":"Ivan"},'
    '"from":{"id":%d,"is_bot":false,"first_name":"Ivan","last_name":"Petrov",'
    '"username":"user%d","language_code":"ru"},'
    '"text":"Hello, the router at my office stopped working since yesterday evening. '
    'Order %d, could you check the line please?"}}'
)
_VIBER_BODY = (
    '{"event":"message","timestamp":%d,"chat_hostname":"SN-CHAT-01_","message_token":%d,'
    '"sender":{"id":"u%d==","name":"Ivan Petrov","language":"ru","country":"RU",'
    '"api_version":10},"message":{"type":"text","text":"Hello, the router at my office '
    'stopped working since yesterday evening. Order %d, could you check the line please?"},'
    '"silent":false}'
)


def request_factory(
    channel: str, host: str, path: str, secret: str, id_base: int
) -> Callable[[int], bytes]:
    """Request ``i`` as bytes: a Telegram update or Viber event with ids unique per ``i``."""
    head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"

    def telegram(i: int) -> bytes:
        n = id_base + i
        body = (_TELEGRAM_BODY % (n, n, int(time.time()), n, n, n, i)).encode()
        return (
            f"{head}X-Telegram-Bot-Api-Secret-Token: {secret}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body

    def viber(i: int) -> bytes:
        n = id_base + i
        body = (_VIBER_BODY % (int(time.time() * 1000), n, n, i)).encode()
        signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return (
            f"{head}X-Viber-Content-Signature: {signature}\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body

    if channel == "telegram":
        return telegram
    if channel == "viber":
        return viber
    raise ValueError(f"unknown channel {channel}")


class Connection:
    """One keep-alive HTTP/1.1 connection; ``send`` returns the response's status code."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.last_used = time.perf_counter()

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def send(self, request: bytes) -> int:
        self.writer.write(request)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("connection closed by the server")
        status = int(status_line.split(b" ", 2)[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        if length:
            await self.reader.readexactly(length)
        self.last_used = time.perf_counter()
        return status

    def close(self) -> None:
        self.writer.close()


# uvicorn closes a keep-alive connection after 5 s idle; like an HTTP client, the driver
# drops its own idle connections a little before that instead of sending into a closed one.
IDLE_SECONDS = 4.0


@dataclass
class Pool:
    """Idle keep-alive connections; new ones up to ``cap``, then a FIFO line of waiters."""

    host: str
    port: int
    cap: int
    opened: int = 0
    peak: int = 0
    idle: deque[Connection] = field(default_factory=deque)
    waiters: deque[asyncio.Future[Connection]] = field(default_factory=deque)

    async def acquire(self) -> Connection:
        now = time.perf_counter()
        while self.idle and now - self.idle[0].last_used > IDLE_SECONDS:
            self.discard(self.idle.popleft())  # the server may have closed it by now
        if self.idle:
            return self.idle.pop()
        if self.opened < self.cap:
            self.opened += 1
            self.peak = max(self.peak, self.opened)
            try:
                return await Connection.open(self.host, self.port)
            except OSError:
                self.opened -= 1
                raise
        waiter: asyncio.Future[Connection] = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        return await waiter

    def release(self, conn: Connection) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        self.idle.append(conn)

    def discard(self, conn: Connection) -> None:
        conn.close()
        self.opened -= 1

    def close(self) -> None:
        while self.idle:
            self.idle.pop().close()


@dataclass
class Sample:
    due: float  # when the request should have gone (paced) or went (closed)
    sent: float
    done: float
    status: int  # 0: connection error


UNANSWERED = -1  # status of a request still waiting when the phase's grace time ran out


async def _one(pool: Pool, request: bytes, due: float, samples: list[Sample]) -> None:
    sent = due
    try:
        try:
            conn = await pool.acquire()
        except OSError:  # could not connect
            samples.append(Sample(due, due, time.perf_counter(), 0))
            return
        sent = time.perf_counter()
        try:
            status = await conn.send(request)
        except (OSError, ConnectionError, ValueError, asyncio.IncompleteReadError):
            pool.discard(conn)
            samples.append(Sample(due, sent, time.perf_counter(), 0))
            return
    except asyncio.CancelledError:
        samples.append(Sample(due, sent, time.perf_counter(), UNANSWERED))
        raise
    samples.append(Sample(due, sent, time.perf_counter(), status))
    pool.release(conn)


async def run_paced(
    pool: Pool, make: Callable[[int], bytes], rate: float, total: int, grace: float
) -> tuple[list[Sample], float]:
    """Send on schedule; ``grace`` seconds after the last send, give up on the requests
    still waiting (``UNANSWERED``), so a server that cannot keep up ends the phase too."""
    samples: list[Sample] = []
    tasks: set[asyncio.Task[None]] = set()
    schedule = PacedSchedule(time.perf_counter() + 0.05, rate, total)
    while not schedule.done:
        await asyncio.sleep(schedule.seconds_to_next(time.perf_counter()))
        for i in schedule.take_due(time.perf_counter()):
            task = asyncio.create_task(_one(pool, make(i), schedule.due_at(i), samples))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    if tasks:
        _done, pending = await asyncio.wait(tasks, timeout=grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    return samples, schedule.start


async def run_closed(
    pool: Pool, make: Callable[[int], bytes], concurrency: int, seconds: float
) -> tuple[list[Sample], float]:
    samples: list[Sample] = []
    counter = iter(range(1 << 62))
    start = time.perf_counter()
    deadline = start + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline:
            await _one(pool, make(next(counter)), time.perf_counter(), samples)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return samples, start


def summarise(
    samples: list[Sample], origin: float, warmup: float, mode: str, duration: float
) -> dict[str, Any]:
    """Drop the warm-up, then rate, statuses and latencies of what is left."""
    cut = origin + warmup
    kept = [s for s in samples if s.due >= cut]
    ok = [s for s in kept if 200 <= s.status < 300]
    statuses = Counter(str(s.status) for s in kept)
    if mode == "closed":  # completions inside the measured window
        end = origin + duration
        finished = [s for s in ok if cut <= s.done <= end]
        seconds = end - cut
    else:  # the whole schedule after the warm-up, until its last answer
        finished = ok
        seconds = (max(s.done for s in kept) - cut) if kept else 0.0
    return {
        "requests": len(kept),
        "ok": len(ok),
        "statuses": dict(statuses),
        "seconds": seconds,
        "rate_ok": len(finished) / seconds if seconds > 0 else 0.0,
        "latency_from_due": summary_ms((s.done - s.due) * 1000 for s in ok),
        "latency_from_send": summary_ms((s.done - s.sent) * 1000 for s in ok),
        "send_lag": summary_ms((s.sent - s.due) * 1000 for s in kept),
        "per_second": per_second(((s.due, (s.done - s.due) * 1000) for s in ok), cut),
    }


async def drive(args: argparse.Namespace) -> dict[str, Any]:
    make = request_factory(
        args.channel, f"127.0.0.1:{args.port}", args.path, args.secret, args.id_base
    )
    cap = args.concurrency if args.mode == "closed" else args.max_connections
    pool = Pool("127.0.0.1", args.port, cap)
    cpu_before = os.times()
    try:
        if args.mode == "closed":
            samples, origin = await run_closed(
                pool, make, args.concurrency, args.warmup_seconds + args.seconds
            )
        else:
            total = int(args.rate * (args.warmup_seconds + args.seconds))
            samples, origin = await run_paced(pool, make, args.rate, total, args.grace_seconds)
    finally:
        pool.close()
    cpu_after = os.times()
    result = summarise(
        samples, origin, args.warmup_seconds, args.mode, args.warmup_seconds + args.seconds
    )
    result.update(
        mode=args.mode,
        channel=args.channel,
        target_rate=args.rate if args.mode == "paced" else None,
        concurrency=args.concurrency if args.mode == "closed" else None,
        connections_peak=pool.peak,
        ok_with_warmup=sum(1 for s in samples if 200 <= s.status < 300),
        warmup_seconds=args.warmup_seconds,
        driver_cpu_seconds=round(
            (cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system), 3
        ),
    )
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.gateway_load")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--channel", choices=("telegram", "viber"), default="telegram")
    parser.add_argument("--secret", default="", help="Telegram secret token or Viber auth token")
    parser.add_argument("--mode", choices=("closed", "paced"), required=True)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--max-connections", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup-seconds", type=float, default=2.0)
    parser.add_argument("--grace-seconds", type=float, default=20.0, help="paced: wait after")
    parser.add_argument("--id-base", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, required=True)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = asyncio.run(drive(args))
    args.out.write_text(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
