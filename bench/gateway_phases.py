"""The gateway benchmark's phases: each one a run of the load driver (a second process),
with the CPU each process spent, the warnings logged and the records left on the topic;
then the read-back of every topic against the 2xx answers."""

from __future__ import annotations

import argparse
import asyncio
import copy
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from devstack.probes import end_offsets
from devstack.stack import Stack
from devstack.test_system import TELEGRAM_SECRET, VIBER_TOKEN

from .gateway_drive import drive
from .gateway_profiling import profile_gateway
from .gateway_system import BARE_TOPIC, Target, cpu_probe, log_warnings, start_bare, start_system

TELEGRAM_PATH = "/webhooks/telegram/support_bot"
VIBER_PATH = "/webhooks/viber/viber_main"
RAW_TELEGRAM, RAW_VIBER = "raw.telegram.v1", "raw.viber.v1"


def measured(
    stack: Stack, target: Target, args: argparse.Namespace, topic: str, **kw: Any
) -> dict[str, Any]:
    """A phase with the CPU seconds per process and the records it left on the topic."""
    assert stack.infra is not None
    probe = cpu_probe(stack, target)
    before_cpu, before_records = probe(), asyncio.run(end_offsets(stack.infra.kafka, topic))
    logs = [c.log_path for c in target.children]
    _, log_offsets = log_warnings(logs, [0] * len(logs))
    result = drive(target, args, **kw)
    after_cpu, after_records = probe(), asyncio.run(end_offsets(stack.infra.kafka, topic))
    result["log_warnings"], _ = log_warnings(logs, log_offsets)
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


def run_phases(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    gateway, env = start_system(stack, args.gateway_processes)
    bare = start_bare(stack)
    out: dict[str, Any] = {"gateway_processes": gateway.processes, "max_rate": {}, "paced": {}}
    telegram = {"path": TELEGRAM_PATH, "secret": TELEGRAM_SECRET}

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
    print(f"      gateway ({gateway.processes} process(es)), Telegram secret token ...")
    out["max_rate"]["gateway_telegram"] = measured(
        stack,
        gateway,
        args,
        RAW_TELEGRAM,
        mode="closed",
        **telegram,
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
        RAW_TELEGRAM,
        mode="paced",
        **telegram,
        seconds=args.paced_seconds,
        id_base=4_000_000,
    )
    if not args.no_viber:
        print("      gateway, Viber HMAC-SHA256 ...", flush=True)
        out["paced"]["gateway_viber"] = measured(
            stack,
            gateway,
            args,
            RAW_VIBER,
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
            RAW_TELEGRAM,
            mode="paced",
            **telegram,
            seconds=args.paced_seconds,
            id_base=7_000_000,
        )
    bare.stop()
    gateway.stop()
    out["topic_check"] = read_back(stack, out)
    if args.profile_seconds > 0:
        print(f"[3/3] profile: cProfile'd gateway, paced, {args.profile_seconds:.0f} s ...")
        out["profile"] = profile_gateway(stack, env, args, TELEGRAM_PATH)
    return out


def read_back(stack: Stack, out: dict[str, Any]) -> dict[str, Any]:
    """Every topic read from the start, its records against the phases' 2xx answers."""
    assert stack.infra is not None
    checks = {}
    for name, topic in (
        ("bare", BARE_TOPIC),
        ("gateway_telegram", RAW_TELEGRAM),
        ("gateway_viber", RAW_VIBER),
    ):
        answered = sum(
            group[name]["ok_with_warmup"]
            for key, group in out.items()
            if key in ("max_rate", "paced", "paced_low") and name in group
        )
        check = asyncio.run(count_records(stack.infra.kafka, topic))
        checks[name] = {"answered_2xx": answered, **check}
        print(f"      topic check, {name}: {checks[name]}", flush=True)
    return checks
