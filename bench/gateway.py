"""Gateway benchmark: signed webhooks per second and latency to the 2xx, against a bare app.

    .venv/bin/python -m bench.gateway            (or: make bench-gateway)
    .venv/bin/python -m bench.gateway --quick    (a short run while developing, ~1 min)

Starts its own PostgreSQL, Redis and broker on free ports in a temporary folder,
ticket-core (which owns the channel accounts) and the gateway (``python -m gateway``,
its production settings but for the per-source webhook rate limit, raised so that one
loopback source is never refused: the limiter still runs on every request). A Telegram
account (secret-token webhooks) and a Viber account (HMAC-signed) are created through
ticket-core's API, as the tests do. The baseline is ``bench/gateway_bare.py``: FastAPI +
uvicorn reading the body and producing it with aiokafka (acks=all) before answering 200.
The load comes from a second process, ``bench/gateway_load.py``, over loopback.

Phases (bare and gateway alternate, so machine noise hits both):

1. max rate: closed loop, ``--concurrency`` connections, bare then gateway;
2. paced at ``--rate`` (1,000/s) for ``--paced-seconds``: bare, gateway (Telegram),
   gateway (Viber HMAC); latency from each request's due time (open loop); then bare and
   gateway (Telegram) paced at ``--low-fraction`` of the gateway's max rate (no backlog);
3. profile: a cProfile'd gateway (``bench/gateway_profiled.py``) under the same paced
   load, own CPU time per module group.

Prints machine facts and the figures; writes ``bench/results/gateway-<UTC>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from devstack.fake_providers import FakeTelegram, FakeViber, FakeVk
from devstack.probes import end_offsets
from devstack.processes import Child, free_port
from devstack.services import BY_NAME, is_ready, service_child, wait_ready
from devstack.stack import Stack
from devstack.test_system import (
    TELEGRAM_SECRET,
    VIBER_TOKEN,
    Fakes,
    create_channel_accounts,
    service_env,
)
from helpdesk_common.topic_admin import ensure_topics

from . import machine, profile_groups
from .gateway_report import print_report
from .stack_setup import bench_stack

TARGET_P99_MS = 15.0
TARGET_RATE = 1000.0
RESULTS_DIR = Path(__file__).parent / "results"
BARE_TOPIC = "bench.gateway.bare"
TELEGRAM_PATH = "/webhooks/telegram/support_bot"
VIBER_PATH = "/webhooks/viber/viber_main"
PROFILE_GROUPS = (
    ("/uvicorn/", "uvicorn (server, protocol)"),
    ("/h11/", "h11 (HTTP parsing)"),
    ("/fastapi/", "FastAPI (routing, dependencies)"),
    ("/starlette/", "starlette (request, middleware)"),
    ("/anyio/", "anyio"),
    ("/aiokafka/", "aiokafka (producer)"),
    ("/kafka/", "aiokafka (producer)"),
    ("/faststream/", "FastStream (publish path)"),
    ("/redis/", "redis-py (rate limit)"),
    ("/structlog/", "logging (structlog + stdlib)"),
    ("/logging/", "logging (structlog + stdlib)"),
    ("/pydantic", "pydantic (RawWebhook, settings)"),
    ("/helpdesk_common/", "helpdesk_common (publish, correlation)"),
    ("/gateway/", "gateway handlers"),
    ("/hmac.py", "signatures (hmac)"),
    ("/asyncio/", "asyncio event loop, sockets"),
    ("/selectors.py", "asyncio event loop, sockets"),
)

# Whole-call CPU cost of the steps of one webhook (cumulative, callees included).
PROFILE_STEPS = (
    (
        "/starlette/middleware/base.py",
        "__call__",
        "correlation-id middleware (BaseHTTPMiddleware)",
    ),
    ("/gateway/ratelimit.py", "allow", "rate limit (Redis MULTI INCR EXPIRE)"),
    ("/helpdesk_common/channel_accounts.py", "get_enabled", "account lookup (cached)"),
    ("/gateway/body.py", "read_capped", "capped body read"),
    ("/gateway/channel_routes.py", "forward", "record + publish until the ack"),
    ("/helpdesk_common/broker.py", "publish", "  of which FastStream publish"),
    ("/structlog/stdlib.py", "info", "log lines at info (structlog -> JSON)"),
    ("/structlog/stdlib.py", "warning", "log lines at warning (structlog -> JSON)"),
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.gateway", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--rate", type=float, default=TARGET_RATE, help="paced requests/s")
    parser.add_argument("--paced-seconds", type=float, default=10.0)
    parser.add_argument("--max-seconds", type=float, default=8.0, help="closed-loop phase length")
    parser.add_argument("--concurrency", type=int, default=16, help="closed-loop connections")
    parser.add_argument("--max-connections", type=int, default=100, help="paced: cap")
    parser.add_argument("--warmup-seconds", type=float, default=2.0, help="discarded per phase")
    parser.add_argument(
        "--low-fraction",
        type=float,
        default=0.5,
        help="also pace at this fraction of the gateway's max rate (0 skips)",
    )
    parser.add_argument("--profile-seconds", type=float, default=5.0, help="0 skips the profile")
    parser.add_argument("--no-viber", action="store_true", help="skip the Viber HMAC phase")
    parser.add_argument(
        "--quick", action="store_true", help="short phases for development (3 s each)"
    )
    parser.add_argument("--keep-data", action="store_true", help="keep the temp folder (logs)")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    if args.quick:
        args.paced_seconds = args.max_seconds = args.profile_seconds = 3.0
        args.warmup_seconds = 1.0
    return args


@dataclasses.dataclass
class Target:
    name: str
    child: Child
    port: int


def _pid(child: Any) -> int | None:
    return child.process.pid if child is not None and child.process is not None else None


def _cpu_probe(stack: Stack, target: Target) -> Callable[[], dict[str, float]]:
    def probe() -> dict[str, float]:
        pids = {
            target.name: _pid(target.child),
            "broker": _pid(stack.kafka and stack.kafka.child),
            "redis": _pid(stack.redis and stack.redis.child),
            "ticket_core": _pid(stack.services.get("ticket-core")),
        }
        return {k: machine.cpu_seconds(p) for k, p in pids.items() if p}

    return probe


def drive(
    target: Target,
    args: argparse.Namespace,
    *,
    mode: str,
    path: str,
    channel: str = "telegram",
    secret: str = "",
    seconds: float,
    id_base: int,
) -> dict[str, Any]:
    """One phase: the load driver as a separate process; its JSON result plus CPU use."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
        out_path = Path(out.name)
    argv = [
        sys.executable,
        "-m",
        "bench.gateway_load",
        f"--port={target.port}",
        f"--path={path}",
        f"--channel={channel}",
        f"--secret={secret}",
        f"--mode={mode}",
        f"--concurrency={args.concurrency}",
        f"--rate={args.rate}",
        f"--max-connections={args.max_connections}",
        f"--seconds={seconds}",
        f"--warmup-seconds={args.warmup_seconds}",
        f"--id-base={id_base}",
        f"--out={out_path}",
    ]
    try:
        subprocess.run(argv, check=True, timeout=seconds + args.warmup_seconds + 180)
        result: dict[str, Any] = json.loads(out_path.read_text())
    finally:
        out_path.unlink(missing_ok=True)
    result["target"] = target.name
    return result


def _log_warnings(path: Path, offset: int) -> tuple[dict[str, int], int]:
    """Warning and error events a service logged since ``offset`` (its JSON log lines)."""
    counts: Counter[str] = Counter()
    with path.open("rb") as log:
        log.seek(offset)
        data = log.read()
    for line in data.splitlines():
        if b'"level": "warning"' in line or b'"level": "error"' in line:
            try:
                counts[str(json.loads(line).get("event"))] += 1
            except ValueError:
                counts["(unparsed line)"] += 1
    return dict(counts), offset + len(data)


def measured(
    stack: Stack, target: Target, args: argparse.Namespace, topic: str, **kw: Any
) -> dict[str, Any]:
    """A phase with the CPU seconds per process and the records it left on the topic."""
    assert stack.infra is not None
    probe = _cpu_probe(stack, target)
    before_cpu, before_records = probe(), asyncio.run(end_offsets(stack.infra.kafka, topic))
    _, log_offset = _log_warnings(target.child.log_path, 0)
    result = drive(target, args, **kw)
    after_cpu, after_records = probe(), asyncio.run(end_offsets(stack.infra.kafka, topic))
    result["log_warnings"], _ = _log_warnings(target.child.log_path, log_offset)
    result["cpu_seconds"] = {k: round(after_cpu[k] - before_cpu[k], 2) for k in after_cpu}
    # From end offsets, which tansu reports a few records off: the exact check is the
    # read-back of each topic at the end (``count_records``).
    result["records_on_topic_by_end_offsets"] = after_records - before_records
    print(_phase_line(result), flush=True)
    return result


def _phase_line(r: dict[str, Any]) -> str:
    lat = r["latency_from_due"]
    p99 = f"p99 {lat['p99_ms']:.1f} ms" if lat.get("n") else "no 2xx"
    return f"      -> {r['rate_ok']:.0f} 2xx/s, {p99}, statuses {r['statuses']}"


async def count_records(bootstrap: str, topic: str, timeout: float = 120.0) -> dict[str, int]:
    """Read a topic from the start to its end offsets: the records really on it, and the
    end offsets' sum (the two must agree)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        if not partitions:
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        read, deadline = 0, time.monotonic() + timeout
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic}: read {read} records, end offsets not reached")
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            read += sum(len(records) for records in batch.values())
    finally:
        await consumer.stop()
    return {"records_read": read, "end_offsets_sum": sum(ends.values())}


def start_bare(stack: Stack) -> Target:
    assert stack.infra is not None
    created = asyncio.run(ensure_topics(stack.infra.kafka, {BARE_TOPIC: 8}))
    assert created[BARE_TOPIC] == 8, created
    port = free_port()
    child = Child(
        "bare",
        [sys.executable, "-m", "bench.gateway_bare"],
        stack.log_dir / "bare.log",
        env={
            "KAFKA_BOOTSTRAP_SERVERS": stack.infra.kafka,
            "BARE_TOPIC": BARE_TOPIC,
            "BARE_PORT": str(port),
            "PYTHONUNBUFFERED": "1",
        },
    )
    child.start()
    stack.services["bare"] = child  # so that Stack.stop() stops it
    wait_ready([(child, port)])
    return Target("bare", child, port)


def gateway_env(stack: Stack) -> dict[str, str]:
    assert stack.mail is not None
    fakes = Fakes(FakeTelegram(), FakeViber(), FakeVk())  # not started: only their URLs
    env = service_env(fakes, stack.config.service_ports, stack.mail.port)
    stack.service_env["ticket-core"] = env["ticket-core"]
    gateway = dict(env["gateway"])
    # One loopback source sends everything: the limiter must run but never refuse.
    gateway["GATEWAY_WEBHOOK_RATE_LIMIT_PER_MINUTE"] = str(10**9)
    return gateway


def start_system(stack: Stack) -> tuple[Target, dict[str, str]]:
    env = gateway_env(stack)
    ports = stack.config.service_ports
    stack.start_service("ticket-core", stack.service_env["ticket-core"])
    wait_ready([(stack.services["ticket-core"], ports["ticket-core"])])
    asyncio.run(create_channel_accounts(f"http://127.0.0.1:{ports['ticket-core']}"))
    child = stack.start_service("gateway", env)
    wait_ready([(child, ports["gateway"])])
    return Target("gateway", child, ports["gateway"]), env


def profile_gateway(stack: Stack, env: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    """A second gateway under cProfile (CPU time), the same paced Telegram load."""
    assert stack.infra is not None
    prof = stack.config.data_dir / "gateway.prof"
    port = free_port()
    base = service_child(
        BY_NAME["gateway"],
        stack.infra,
        port,
        stack.log_dir,
        {**env, "BENCH_PROFILE_OUT": str(prof)},
    )
    child = dataclasses.replace(
        base,
        name="gateway-profiled",
        argv=[sys.executable, "-m", "bench.gateway_profiled"],
        log_path=stack.log_dir / "gateway-profiled.log",
    )
    child.start()
    stack.services["gateway-profiled"] = child
    wait_ready([(child, port)])
    assert child.process is not None
    target = Target("gateway-profiled", child, port)
    child.process.send_signal(signal.SIGUSR1)
    result = drive(
        target,
        args,
        mode="paced",
        path=TELEGRAM_PATH,
        secret=TELEGRAM_SECRET,
        seconds=args.profile_seconds,
        id_base=9_000_000,
    )
    child.process.send_signal(signal.SIGUSR2)
    deadline = time.monotonic() + 30
    while not prof.exists() or prof.stat().st_size == 0:
        if time.monotonic() > deadline:
            raise TimeoutError("the profiled gateway wrote no profile")
        time.sleep(0.2)
    time.sleep(0.5)  # dump_stats finishes writing
    child.stop()
    return {
        "load": {k: result[k] for k in ("rate_ok", "latency_from_due", "statuses")},
        "requests": result["ok_with_warmup"],
        "steps_cpu_seconds": profile_groups.cumulative(prof, PROFILE_STEPS),
        **profile_groups.grouped(prof, PROFILE_GROUPS),
    }


def run_phases(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    gateway, env = start_system(stack)
    bare = start_bare(stack)
    for target in (gateway, bare):
        assert is_ready(target.port), target.name
    raw_tg, raw_viber = "raw.telegram.v1", "raw.viber.v1"
    out: dict[str, Any] = {"max_rate": {}, "paced": {}}

    print(f"[1/3] max rate, closed loop, {args.concurrency} connections:", flush=True)
    print("      bare ...", flush=True)
    out["max_rate"]["bare"] = measured(
        stack,
        bare,
        args,
        BARE_TOPIC,
        mode="closed",
        path=TELEGRAM_PATH,
        seconds=args.max_seconds,
        id_base=1_000_000,
    )
    print("      gateway, Telegram secret token ...", flush=True)
    out["max_rate"]["gateway_telegram"] = measured(
        stack,
        gateway,
        args,
        raw_tg,
        mode="closed",
        path=TELEGRAM_PATH,
        secret=TELEGRAM_SECRET,
        seconds=args.max_seconds,
        id_base=2_000_000,
    )

    print(f"[2/3] paced at {args.rate:.0f}/s for {args.paced_seconds:.0f} s:", flush=True)
    print("      bare ...", flush=True)
    out["paced"]["bare"] = measured(
        stack,
        bare,
        args,
        BARE_TOPIC,
        mode="paced",
        path=TELEGRAM_PATH,
        seconds=args.paced_seconds,
        id_base=3_000_000,
    )
    print("      gateway, Telegram secret token ...", flush=True)
    out["paced"]["gateway_telegram"] = measured(
        stack,
        gateway,
        args,
        raw_tg,
        mode="paced",
        path=TELEGRAM_PATH,
        secret=TELEGRAM_SECRET,
        seconds=args.paced_seconds,
        id_base=4_000_000,
    )
    if not args.no_viber:
        print("      gateway, Viber HMAC-SHA256 ...", flush=True)
        out["paced"]["gateway_viber"] = measured(
            stack,
            gateway,
            args,
            raw_viber,
            mode="paced",
            path=VIBER_PATH,
            channel="viber",
            secret=VIBER_TOKEN,
            seconds=args.paced_seconds,
            id_base=5_000_000,
        )
    if args.low_fraction > 0:
        low = copy.copy(args)
        low.rate = max(1.0, out["max_rate"]["gateway_telegram"]["rate_ok"] * args.low_fraction)
        print(f"      paced at {low.rate:.0f}/s ({args.low_fraction:.0%} of the gateway's max):")
        out["paced_low"] = {}
        print("      bare ...", flush=True)
        out["paced_low"]["bare"] = measured(
            stack,
            bare,
            low,
            BARE_TOPIC,
            mode="paced",
            path=TELEGRAM_PATH,
            seconds=args.paced_seconds,
            id_base=6_000_000,
        )
        print("      gateway, Telegram secret token ...", flush=True)
        out["paced_low"]["gateway_telegram"] = measured(
            stack,
            gateway,
            low,
            raw_tg,
            mode="paced",
            path=TELEGRAM_PATH,
            secret=TELEGRAM_SECRET,
            seconds=args.paced_seconds,
            id_base=7_000_000,
        )
    bare.child.stop()
    gateway.child.stop()
    assert stack.infra is not None
    out["topic_check"] = {}
    for name, topic, phases in (
        ("bare", BARE_TOPIC, ("bare",)),
        ("gateway_telegram", raw_tg, ("gateway_telegram",)),
        ("gateway_viber", raw_viber, ("gateway_viber",)),
    ):
        answered = sum(
            group[p]["ok_with_warmup"]
            for key, group in out.items()
            if key in ("max_rate", "paced", "paced_low")
            for p in phases
            if p in group
        )
        check = asyncio.run(count_records(stack.infra.kafka, topic))
        out["topic_check"][name] = {"answered_2xx": answered, **check}
        print(f"      topic check, {name}: {out['topic_check'][name]}", flush=True)

    if args.profile_seconds > 0:
        print(f"[3/3] profile: cProfile'd gateway, paced, {args.profile_seconds:.0f} s ...")
        out["profile"] = profile_gateway(stack, env, args)
    return out


def summarise(phases: dict[str, Any]) -> dict[str, Any]:
    mx, paced = phases["max_rate"], phases["paced"]
    bare_p99 = paced["bare"]["latency_from_due"]["p99_ms"]
    ratios = {
        "max_rate_gateway_to_bare": mx["gateway_telegram"]["rate_ok"] / mx["bare"]["rate_ok"],
    }
    verdicts = {}
    for name in ("gateway_telegram", "gateway_viber"):
        if name not in paced:
            continue
        r = paced[name]
        p99 = r["latency_from_due"]["p99_ms"]
        ratios[f"paced_p99_{name}_to_bare"] = p99 / bare_p99
        verdicts[name] = {
            "p99_ms": p99,
            "achieved_rate": r["rate_ok"],
            "meets_target": p99 < TARGET_P99_MS and r["ok"] == r["requests"],
            "missed_by_ms": max(0.0, p99 - TARGET_P99_MS),
        }
    low = phases.get("paced_low")
    if low:
        ratios["paced_low_p99_gateway_telegram_to_bare"] = (
            low["gateway_telegram"]["latency_from_due"]["p99_ms"]
            / low["bare"]["latency_from_due"]["p99_ms"]
        )
    return {
        "target_p99_ms": TARGET_P99_MS,
        "target_rate": TARGET_RATE,
        "ratios": ratios,
        "verdicts": verdicts,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.now(UTC)
    facts = machine.machine_facts()
    stack = bench_stack("bench-gateway-")
    data_dir = stack.config.data_dir
    try:
        print(f"Starting infrastructure in {data_dir} ...", flush=True)
        stack.start_infra()
        phases = run_phases(stack, args)
    finally:
        stack.stop()
        if args.keep_data:
            print(f"Data and logs kept in {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
    facts["load_average_end"] = machine.load_average()
    result = {
        "benchmark": "gateway",
        "started_utc": started.isoformat(),
        "machine": facts,
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        **phases,
        "summary": summarise(phases),
    }
    args.results_dir.mkdir(parents=True, exist_ok=True)
    path = args.results_dir / f"gateway-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print_report(result)
    print(f"\nResult written to {path}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
