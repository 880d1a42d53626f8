"""End-to-end benchmark: a customer's Telegram message to a ticket, an agent's reply to the
provider, at a steady load, against one bare broker hop measured in the same run.

    .venv/bin/python -m bench.e2e            (or: make bench-e2e)
    .venv/bin/python -m bench.e2e --quick    (a short run while developing)

Starts its own PostgreSQL (fsync on, ``track_commit_timestamp`` on), Redis and broker on
free ports in a temporary folder, the fake Telegram API (devstack ``fake_providers``, in
this process), and ticket-core, messenger-ingest, notifier and the gateway as separate
processes with the tests' configuration (``devstack.test_system.service_env``), and
creates the channel accounts through ticket-core's API as the tests do. Then:

1. warm-up: a few conversations end to end (consumer groups joined, caches filled);
2. baseline: one bare broker hop (``broker_rtt``) at the same rate;
3. the load: ``--rate`` new conversations per second for ``--seconds`` (``e2e_flow``):
   (a) webhook sent -> customer message committed in PostgreSQL,
   (b) reply POSTed -> the fake Telegram received ``sendMessage``;
4. the baseline again, then for reference the same hop with the consumer's long poll cut
   from aiokafka's default 500 ms (what the services use) to 20 ms; and the broker
   timestamps that split (a) and (b) into stages;
5. email (``e2e_email``, skipped with ``--email-mails 0``): Dovecot and an email-ingest
   process waiting in IDLE; ``--email-mails`` mails appended one at a time, each timed
   from APPEND's OK to its message and new ticket committed (issue 9: under 1 s).

Prints machine facts and the figures; writes ``bench/results/e2e-<UTC>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from devstack.fake_providers import FakeViber, FakeVk
from devstack.services import wait_ready
from devstack.stack import Stack
from devstack.test_system import TELEGRAM_TOKEN, Fakes, create_channel_accounts, service_env

from . import broker_rtt, e2e_email, machine
from .e2e_flow import Conversation, Flow, TimedTelegram, add_commit_times, add_stages
from .e2e_report import print_report
from .imap_server import start_dovecot
from .own_stack import write_result
from .stack_setup import bench_stack, enable_commit_timestamps, plain_dsn
from .stats import summary_ms

RESULTS_DIR = Path(__file__).parent / "results"
SERVICES = ("ticket-core", "messenger-ingest", "notifier", "gateway")
WARMUP_CONVERSATIONS = 5


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.e2e", description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=20.0, help="new conversations per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the load")
    parser.add_argument("--baseline-seconds", type=float, default=10.0, help="per baseline run")
    parser.add_argument("--timeout", type=float, default=300.0, help="max wait for the load")
    parser.add_argument(
        "--email-mails", type=int, default=20, help="mails for the IMAP IDLE phase (0: skip)"
    )
    parser.add_argument("--quick", action="store_true", help="5 conversations/s for 4 s")
    parser.add_argument("--keep-data", action="store_true", help="keep the temp folder (logs)")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    if args.quick:
        args.rate, args.seconds, args.baseline_seconds = 5.0, 4.0, 3.0
        args.email_mails = min(args.email_mails, 3)
    return args


def start_system(stack: Stack) -> TimedTelegram:
    assert stack.mail is not None
    telegram = TimedTelegram()
    telegram.tokens.add(TELEGRAM_TOKEN)
    telegram.start()
    fakes = Fakes(telegram, FakeViber(), FakeVk())  # only Telegram is started
    env = service_env(fakes, stack.config.service_ports, stack.mail.port)
    ports = stack.config.service_ports
    for name in SERVICES:
        stack.start_service(name, env.get(name))
    wait_ready((stack.services[n], ports[n]) for n in SERVICES)
    asyncio.run(create_channel_accounts(f"http://127.0.0.1:{ports['ticket-core']}"))
    return telegram


def _cpu(stack: Stack) -> dict[str, float]:
    def pid(child: Any) -> int | None:
        return child.process.pid if child is not None and child.process is not None else None

    pids = {name: pid(stack.services.get(name)) for name in SERVICES}
    pids["postgres"] = pid(stack.postgres and stack.postgres.child)
    pids["broker"] = pid(stack.kafka and stack.kafka.child)
    pids["redis"] = pid(stack.redis and stack.redis.child)
    out = {k: machine.cpu_seconds(p, with_children=(k == "postgres")) for k, p in pids.items() if p}
    out["bench"] = machine.self_cpu_seconds()
    return out


def _ms(later: float, earlier: float) -> float | None:
    return (later - earlier) * 1000 if later and earlier else None


def _summary(values: list[float | None]) -> dict[str, float]:
    return summary_ms(v for v in values if v is not None)


def summarise_load(conversations: list[Conversation]) -> dict[str, Any]:
    cs = conversations
    st = [c.stages for c in cs]
    return {
        "conversations": len(cs),
        "webhook_2xx": sum(1 for c in cs if 200 <= c.status < 300),
        "replies_201": sum(1 for c in cs if c.reply_status == 201),
        "a_webhook_to_stored": _summary([_ms(c.stored, c.sent) for c in cs]),
        "b_reply_to_provider": _summary([_ms(c.provider_received, c.reply_sent) for c in cs]),
        "stages_a": {
            "webhook -> gateway 2xx": _summary([_ms(c.acked, c.sent) for c in cs]),
            "webhook -> raw record (gateway publish)": _summary(
                [_ms(s.get("raw_published", 0), c.sent) for c, s in zip(cs, st, strict=True)]
            ),
            "raw record -> inbound record (messenger-ingest)": _summary(
                [_ms(s.get("inbound_published", 0), s.get("raw_published", 0)) for s in st]
            ),
            "inbound record -> commit (ticket-core)": _summary(
                [_ms(c.stored, s.get("inbound_published", 0)) for c, s in zip(cs, st, strict=True)]
            ),
            "commit -> found by the driver's poll": _summary([_ms(c.found, c.stored) for c in cs]),
        },
        "stages_b": {
            "reply POST -> 201 (reply and outbox row committed)": _summary(
                [_ms(c.reply_answered, c.reply_sent) for c in cs]
            ),
            "reply POST -> outbound record (outbox publish)": _summary(
                [
                    _ms(s.get("outbound_published", 0), c.reply_sent)
                    for c, s in zip(cs, st, strict=True)
                ]
            ),
            "outbound record -> provider (notifier)": _summary(
                [
                    _ms(c.provider_received, s.get("outbound_published", 0))
                    for c, s in zip(cs, st, strict=True)
                ]
            ),
        },
        "driver_send_lag": _summary([_ms(c.sent, c.due) for c in cs]),
    }


async def _phases(
    stack: Stack, telegram: TimedTelegram, args: argparse.Namespace, run: str
) -> dict[str, Any]:
    assert stack.infra is not None
    ports = stack.config.service_ports
    flow = Flow(
        gateway_url=f"http://127.0.0.1:{ports['gateway']}",
        core_url=f"http://127.0.0.1:{ports['ticket-core']}",
        dsn=plain_dsn(stack),
        telegram=telegram,
        run=run,
        user_base=700_000_000 + int(time.time()) % 1_000_000 * 100,
    )
    out: dict[str, Any] = {}
    print(f"[1/5] warm-up: {WARMUP_CONVERSATIONS} conversations end to end ...", flush=True)
    await flow.run_load(WARMUP_CONVERSATIONS / 2, 2.0, args.timeout)
    warmup = len(flow.conversations)

    print(f"[2/5] baseline: broker produce -> consume at {args.rate:.0f}/s ...", flush=True)
    out["baselines"] = [
        await broker_rtt.round_trip(stack.infra.kafka, f"{run}-1", args.rate, args.baseline_seconds)
    ]
    print(
        f"[3/5] load: {args.rate:.0f} conversations/s for {args.seconds:.0f} s "
        f"(N = {int(args.rate * args.seconds)}) ...",
        flush=True,
    )
    cpu_before = _cpu(stack)
    out["load_wall_seconds"] = await flow.run_load(args.rate, args.seconds, args.timeout)
    cpu_after = _cpu(stack)
    out["cpu_seconds"] = {k: round(cpu_after[k] - cpu_before[k], 2) for k in cpu_after}
    print("[4/5] baseline again, broker timestamps ...", flush=True)
    out["baselines"].append(
        await broker_rtt.round_trip(stack.infra.kafka, f"{run}-2", args.rate, args.baseline_seconds)
    )
    out["reference_hop"] = await broker_rtt.round_trip(
        stack.infra.kafka, f"{run}-3", args.rate, args.baseline_seconds, fetch_max_wait_ms=20
    )
    measured = flow.conversations[warmup:]
    await add_commit_times(flow.dsn, measured)
    await add_stages(stack.infra.kafka, measured)
    out["load"] = summarise_load(measured)
    return out


def summarise(phases: dict[str, Any]) -> dict[str, Any]:
    base = [b["produce_to_consume"] for b in phases["baselines"]]
    b50 = sum(b["p50_ms"] for b in base) / len(base)
    b99 = sum(b["p99_ms"] for b in base) / len(base)
    load = phases["load"]
    a, b = load["a_webhook_to_stored"], load["b_reply_to_provider"]
    return {
        "baseline_hop_p50_ms": b50,
        "baseline_hop_p99_ms": b99,
        "ratios": {
            "a_p50_to_hop_p50": a["p50_ms"] / b50,
            "a_p99_to_hop_p99": a["p99_ms"] / b99,
            "b_p50_to_hop_p50": b["p50_ms"] / b50,
            "b_p99_to_hop_p99": b["p99_ms"] / b99,
        },
        "broker_hops": {"a": 2, "b": 1},
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.now(UTC)
    run = "e2e" + started.strftime("%Y%m%dT%H%M%S")
    facts = machine.machine_facts()
    stack = bench_stack("bench-e2e-")
    data_dir = stack.config.data_dir
    telegram: TimedTelegram | None = None
    dovecot = None
    try:
        print(f"Starting infrastructure in {data_dir} ...", flush=True)
        stack.start_infra()
        enable_commit_timestamps(stack)
        print("Starting ticket-core, messenger-ingest, notifier, gateway ...", flush=True)
        telegram = start_system(stack)
        phases = asyncio.run(_phases(stack, telegram, args, run))
        if args.email_mails:
            print(f"[5/5] email: {args.email_mails} mails through IMAP IDLE ...", flush=True)
            dovecot = start_dovecot(data_dir / "dovecot")
            phases["email"] = asyncio.run(
                e2e_email.arrival_to_stored(stack, dovecot, plain_dsn(stack), run, args.email_mails)
            )
    finally:
        stack.stop()
        if dovecot is not None:
            dovecot.stop()
        if telegram is not None:
            telegram.stop()
        if args.keep_data:
            print(f"Data and logs kept in {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
    return write_result("e2e", run, started, facts, args, phases, summarise, print_report)


if __name__ == "__main__":
    raise SystemExit(main())
