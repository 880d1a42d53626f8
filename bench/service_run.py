"""ticket-core under load: its sustained ingest rate and publish-to-commit latency.

The rate is read from outside, as a user would see it: the benchmark produces the
records to ``inbound.messages.v1`` and polls ``SELECT count(*) FROM messages WHERE
idempotency_key LIKE '<prefix>:%'`` every 100 ms until all of them are stored.

Latency is per record, from the database: the record's ``received_at`` (set by the
benchmark at the moment it handed the record to the producer) to
``pg_xact_commit_timestamp(xmin)`` of the row (the commit of ticket-core's batch
transaction; the benchmark turns ``track_commit_timestamp`` on). ``created_at`` (the
column default ``now()``, i.e. the *start* of that transaction) is reported beside it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer
from devstack.probes import eventually, produce_records
from devstack.processes import Child, free_port
from devstack.services import BY_NAME, service_child, wait_ready
from devstack.stack import Stack
from helpdesk_common.broker import record_headers
from helpdesk_common.records import InboundMessage, utcnow
from helpdesk_common.topics import INBOUND_MESSAGES

from .workload import Workload, stamped

POLL_SECONDS = 0.1
CpuProbe = Callable[[], dict[str, float]]

_LATENCY_SQL = """
WITH l AS (
  SELECT
    extract(epoch FROM pg_xact_commit_timestamp(xmin) - received_at)::float8 * 1000 AS commit_ms,
    extract(epoch FROM created_at - received_at)::float8 * 1000 AS created_ms
  FROM messages WHERE idempotency_key LIKE $1
)
SELECT count(*) AS n,
       percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY commit_ms) AS commit_p,
       max(commit_ms) AS commit_max,
       percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY created_ms) AS created_p
FROM l
"""


# The paced phase's batches (one inbound transaction each: the rows share ``xmin``), in
# commit order: how many records, how long the transaction ran (its start is the rows'
# ``created_at``, the transaction's ``now()``), and the gap from the previous batch's
# commit to this one's start (offset commit, fetch, decoding, waiting for a CPU). Then the
# slowest 1% of records: how much of their latency was the wait before their batch began.
# One replica only: with two, consecutive commits are not one consumer's cycle.
_BATCHES_SQL = """
WITH r AS (
  SELECT xmin::text AS tx, created_at, received_at, pg_xact_commit_timestamp(xmin) AS committed
  FROM messages WHERE idempotency_key LIKE $1
), b AS (
  SELECT tx, count(*) AS size, min(created_at) AS started, min(committed) AS committed
  FROM r GROUP BY tx
), g AS (
  SELECT size, extract(epoch FROM committed - started)::float8 * 1000 AS tx_ms,
         extract(epoch FROM started - lag(committed) OVER (ORDER BY committed))::float8
           * 1000 AS gap_ms
  FROM b
), slow AS (
  SELECT extract(epoch FROM created_at - received_at)::float8 * 1000 AS wait_ms,
         extract(epoch FROM committed - received_at)::float8 * 1000 AS total_ms
  FROM r
  ORDER BY committed - received_at DESC
  LIMIT greatest(1, (SELECT count(*) FROM r) / 100)
)
SELECT (SELECT count(*) FROM g) AS batches,
       (SELECT percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY size) FROM g) AS size_p,
       (SELECT percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY tx_ms) FROM g) AS tx_p,
       (SELECT percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY gap_ms) FROM g)
         AS gap_p,
       (SELECT avg(wait_ms) / avg(total_ms) FROM slow) AS slowest_wait_share
"""


async def batches(conn: asyncpg.Connection, prefix: str) -> dict[str, float]:
    """Where a paced phase's time went, per batch (``_BATCHES_SQL``)."""
    row = await conn.fetchrow(_BATCHES_SQL, f"{prefix}:%")
    assert row is not None and row["batches"], f"no rows for {prefix}"
    return {
        "batches": row["batches"],
        "size_p50": row["size_p"][0],
        "size_p99": row["size_p"][1],
        "transaction_p50_ms": row["tx_p"][0],
        "transaction_p99_ms": row["tx_p"][1],
        "gap_p50_ms": row["gap_p"][0],
        "gap_p99_ms": row["gap_p"][1],
        "slowest_wait_share": row["slowest_wait_share"],
    }


@dataclass
class Replica:
    child: Child
    port: int

    async def handled(self, client: httpx.AsyncClient) -> int:
        """Records this replica has handled so far (its own Prometheus counter)."""
        text = (await client.get(f"http://127.0.0.1:{self.port}/metrics")).text
        total = 0.0
        for line in text.splitlines():
            if (
                line.startswith("helpdesk_records_consumed_total{")
                and 'outcome="handled"' in line
                and (INBOUND_MESSAGES.name in line)
            ):
                total += float(line.rsplit(" ", 1)[1])
        return int(total)


# ``--split``: the replicas only ingest, one more process does the background work.
INBOUND_ONLY = {"TICKET_CORE_RUN_BACKGROUND": "false"}
BACKGROUND_ONLY = {"TICKET_CORE_RUN_INBOUND": "false"}


def start_replica(stack: Stack, index: int, env: dict[str, str] | None = None) -> Replica:
    """Replica 0 is the stack's own ticket-core; others reuse ``service_child`` on a new port
    (``index`` -1: the ``--split`` layout's background process)."""
    assert stack.infra is not None
    if index == 0:
        child = stack.start_service("ticket-core", env)
        port = stack.config.service_ports["ticket-core"]
    else:
        port = free_port()
        name = "background" if index < 0 else f"replica{index + 1}"
        child = service_child(BY_NAME["ticket-core"], stack.infra, port, stack.log_dir / name, env)
        child.start()
        stack.services[f"ticket-core-{name}"] = child  # so that Stack.stop() stops it
    wait_ready([(child, port)])
    return Replica(child, port)


# One phase's keys are the range ``<prefix>:`` <= key < ``<prefix>;`` (';' follows ':' in
# the database's C.UTF-8 code-point order), so a poll reads that range of the unique index
# instead of scanning the table (LIKE cannot use the index under this collation).
# ``stored_exact`` checks the count with LIKE at the end of a phase.
_COUNT_SQL = "SELECT count(*) FROM messages WHERE idempotency_key >= $1 AND idempotency_key < $2"


async def stored(conn: asyncpg.Connection, prefix: str) -> int:
    """Rows of one phase committed so far."""
    return int(await conn.fetchval(_COUNT_SQL, f"{prefix}:", f"{prefix};"))


async def stored_exact(conn: asyncpg.Connection, prefix: str) -> int:
    sql = "SELECT count(*) FROM messages WHERE idempotency_key LIKE $1"
    return int(await conn.fetchval(sql, f"{prefix}:%"))


async def wait_stored(conn: asyncpg.Connection, prefix: str, n: int, timeout: float) -> None:
    await eventually(
        lambda: stored(conn, prefix), lambda c: c >= n, timeout, f"{prefix}: {n} stored"
    )


async def latency(conn: asyncpg.Connection, prefix: str) -> dict[str, float]:
    row = await conn.fetchrow(_LATENCY_SQL, f"{prefix}:%")
    assert row is not None and row["n"], f"no rows for {prefix}"
    commit, created = row["commit_p"], row["created_p"]
    return {
        "p50_ms": commit[0],
        "p95_ms": commit[1],
        "p99_ms": commit[2],
        "max_ms": row["commit_max"],
        "created_at_p50_ms": created[0],
        "created_at_p95_ms": created[1],
        "created_at_p99_ms": created[2],
    }


async def _handled_since(
    client: httpx.AsyncClient, replicas: Sequence[Replica], before: Sequence[int]
) -> list[int]:
    return [await r.handled(client) - b for r, b in zip(replicas, before, strict=True)]


def _sum_at_least(total: int, deltas: Sequence[int]) -> bool:
    return sum(deltas) >= total


async def wait_balanced(
    conn: asyncpg.Connection,
    bootstrap: str,
    workload: Workload,
    replicas: Sequence[Replica],
    timeout: float = 180,
) -> int:
    """With several replicas: probe until every replica handled records in two rounds in a row
    (the group has settled after the rebalance). Returns the number of probe rounds."""
    deadline, streak, rounds = time.monotonic() + timeout, 0, 0
    async with httpx.AsyncClient(timeout=5) as client:
        while streak < 2:
            if time.monotonic() > deadline:
                raise TimeoutError("ticket-core replicas did not all get partitions")
            prefix, rounds = f"{workload.run}-probe{rounds}", rounds + 1
            before = [await r.handled(client) for r in replicas]
            probe = workload.stream(prefix, 200)
            await produce_records(bootstrap, INBOUND_MESSAGES.name, probe)
            await wait_stored(conn, prefix, len(probe), timeout)
            got = await eventually(
                partial(_handled_since, client, replicas, before),
                partial(_sum_at_least, len(probe)),
                30,
                "probe handled",
            )
            streak = streak + 1 if all(d > 0 for d in got) else 0
    return rounds


@dataclass
class BurstResult:
    replicas: int
    records: int
    produce_seconds: float
    produce_rate: float
    seconds: float
    rate: float
    steady_rate: float
    latency: dict[str, float]
    handled_per_replica: list[int]
    cpu_seconds: dict[str, float]
    polls: int
    poll_query_seconds: float
    samples: list[tuple[float, int]] = field(repr=False)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _steady_rate(samples: Sequence[tuple[float, int]], n: int) -> float:
    """Rate between the samples where 10% and 90% of the records were stored."""
    lo = next(s for s in samples if s[1] >= n * 0.1)
    hi = next(s for s in samples if s[1] >= n * 0.9)
    return (hi[1] - lo[1]) / (hi[0] - lo[0]) if hi[0] > lo[0] else float("nan")


async def measure_burst(
    conn: asyncpg.Connection,
    bootstrap: str,
    records: Sequence[InboundMessage],
    prefix: str,
    replicas: Sequence[Replica],
    cpu: CpuProbe,
    timeout: float,
) -> BurstResult:
    """Produce all records at once; time from the first send until all are stored."""
    n = len(records)
    async with httpx.AsyncClient(timeout=5) as client:
        handled_before = [await r.handled(client) for r in replicas]
    cpu_before = cpu()
    samples: list[tuple[float, int]] = []
    started = time.perf_counter()

    poll_seconds = [0.0]  # the benchmark's own load on PostgreSQL, reported

    async def poll() -> None:
        while True:
            asked = time.perf_counter()  # the count is as of the query's snapshot
            count = await stored(conn, prefix)
            poll_seconds[0] += time.perf_counter() - asked
            samples.append((asked - started, count))
            if count >= n:
                return
            if samples[-1][0] > timeout:
                raise TimeoutError(f"ticket-core stored {count}/{n} within {timeout:.0f}s")
            await asyncio.sleep(POLL_SECONDS)

    poller = asyncio.create_task(poll())
    try:
        await produce_records(bootstrap, INBOUND_MESSAGES.name, stamped(records))
        produce_seconds = time.perf_counter() - started
        await poller
    finally:
        poller.cancel()
    seconds = samples[-1][0]
    cpu_after = cpu()
    exact = await stored_exact(conn, prefix)
    assert exact == n, f"{prefix}: {exact} rows match the prefix, {n} expected"
    async with httpx.AsyncClient(timeout=5) as client:
        await asyncio.sleep(0.5)  # the counter moves after the outbox flush that follows a commit
        handled = [
            await r.handled(client) - b for r, b in zip(replicas, handled_before, strict=True)
        ]
    return BurstResult(
        replicas=len(replicas),
        records=n,
        produce_seconds=produce_seconds,
        produce_rate=n / produce_seconds,
        seconds=seconds,
        rate=n / seconds,
        steady_rate=_steady_rate(samples, n),
        latency=await latency(conn, prefix),
        handled_per_replica=handled,
        cpu_seconds={k: round(cpu_after[k] - cpu_before.get(k, 0.0), 2) for k in cpu_after},
        polls=len(samples),
        poll_query_seconds=round(poll_seconds[0], 2),
        samples=samples,
    )


async def measure_paced(
    conn: asyncpg.Connection,
    bootstrap: str,
    records: Sequence[InboundMessage],
    prefix: str,
    rate: float,
) -> dict[str, object]:
    """Produce at a fixed rate below capacity: latency without a backlog in front of it."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, max_batch_size=1 << 20)
    await producer.start()
    started = time.perf_counter()
    try:
        futures = []
        for i, record in enumerate(records):
            delay = started + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            record = record.model_copy(update={"received_at": utcnow()})
            headers = [(k, v.encode()) for k, v in record_headers(record, "bench").items()]
            futures.append(
                await producer.send(
                    INBOUND_MESSAGES.name,
                    record.model_dump_json().encode(),
                    key=record.partition_key().encode(),
                    headers=headers,
                )
            )
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    send_seconds = time.perf_counter() - started
    await wait_stored(conn, prefix, len(records), 120)
    return {
        "records": len(records),
        "target_rate": rate,
        "achieved_send_rate": len(records) / send_seconds,
        "latency": await latency(conn, prefix),
        "batches": await batches(conn, prefix),
    }
