"""Notification benchmark: notifications per second fanned out, beside the raw broker rate.

    .venv/bin/python -m bench.notify            (or: make bench-notify)
    .venv/bin/python -m bench.notify --quick    (a short run while developing, ~1.5 min)

Starts its own PostgreSQL (fsync on), Redis and broker on free ports in a temporary
folder, ticket-core (the notification configuration and contexts) and the notifier with
the test system's settings (``devstack.test_system.service_env``: provider rate limits
lifted, the configuration cached 0.5 s). The outside world runs in this process: an
aiosmtpd SMTP sink that counts what it receives, and the fake Twilio server (the SMS
account ``sms_twilio`` is created through ticket-core's API, as the tests do).

Set-up: ``--tickets`` tickets (ingested in-process as production does), each with a
responsible agent and ``--observers`` observer agents, every agent with an email and a
mobile number; every notification type but ``agent.sla_breached`` (email + SMS by
default) is switched off, so set-up events notify nobody. One ``sla.breached`` event then
fans out to (1 + observers) agents x 2 channels.

Phases (in one run, so machine noise hits both sides):

1. baseline: ``N x fan-out`` ticket-event records through a fresh 8-partition topic with
   plain aiokafka (a producer and a consumer committing each batch, concurrently), timed
   from the first send to the last record consumed;
2. notifier: ``N`` events produced to ``ticket.events.v1``, timed from the first send
   until the SMTP sink and the fake Twilio hold every notice (then 1 s more: nothing
   extra may arrive, i.e. nothing was sent twice);
3. the baseline again; the ratio uses the mean of the two.

Prints machine facts, N, the rates and the ratio; writes ``bench/results/notify-<UTC>.json``.

This module is the command and the run's order; the set-up is in ``notify_setup``, the
timed phases in ``notify_phases``, the summary and report in ``notify_report``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from devstack.processes import Child
from devstack.services import wait_ready
from devstack.stack import Stack
from devstack.test_system import service_env

from .notify_phases import broker_baseline, notifier_phase
from .notify_report import print_report, summarise
from .notify_setup import (
    CHANNELS,
    CountingSink,
    configure,
    event_record,
    make_agents,
    make_tickets,
    start_fakes,
)
from .own_stack import run_on_own_stack

RESULTS_DIR = Path(__file__).parent / "results"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.notify", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--n", type=int, default=1000, help="ticket events (default 1000)")
    parser.add_argument("--tickets", type=int, default=50, help="tickets the events spread over")
    parser.add_argument("--observers", type=int, default=2, help="observer agents per ticket")
    parser.add_argument("--quick", action="store_true", help="N = 200, 20 tickets")
    parser.add_argument("--timeout", type=float, default=600.0, help="max seconds for a phase")
    parser.add_argument("--keep-data", action="store_true", help="keep the temp folder (logs)")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.tickets = 200, 20
    return args


def _pid(child: Child | None) -> int | None:
    return child.process.pid if child is not None and child.process is not None else None


async def run_phases(stack: Stack, args: argparse.Namespace, run: str) -> dict[str, Any]:
    assert stack.infra is not None
    bootstrap = stack.infra.kafka
    sink = CountingSink()
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    fakes = start_fakes()
    try:
        env = service_env(fakes, stack.config.service_ports, sink.port)
        children = {
            name: stack.start_service(name, env[name]) for name in ("ticket-core", "notifier")
        }
        wait_ready((children[n], stack.config.service_ports[n]) for n in children)
        core_url = f"http://127.0.0.1:{stack.config.service_ports['ticket-core']}"
        print("[setup] accounts, types, agents and tickets ...", flush=True)
        async with httpx.AsyncClient(base_url=core_url, timeout=30) as core:
            await configure(core, fakes)
            agents = await make_agents(core, max(args.observers + 1, 6), run)
        tickets = await make_tickets(
            stack.infra.database_url, run, args.tickets, agents, args.observers
        )
        await asyncio.sleep(2.0)  # the set-up events pass (they notify nobody) and config caches
        fanout = (args.observers + 1) * CHANNELS
        events = [event_record(tickets[i % len(tickets)], i) for i in range(args.n)]
        baseline_records = [
            event_record(tickets[i % len(tickets)], i) for i in range(args.n * fanout)
        ]
        # Warm-up (not counted): the consumer group joins, the SMTP and HTTP paths are hot.
        print("[warm-up] 5 events ...", flush=True)
        cpu = {
            "notifier": _pid(children["notifier"]) or 0,
            "ticket_core": _pid(children["ticket-core"]) or 0,
            "broker": _pid(stack.kafka.child if stack.kafka else None) or 0,
        }
        cpu = {k: v for k, v in cpu.items() if v}
        warm_up = [event_record(tickets[i % len(tickets)], i) for i in range(5)]  # own ids
        await notifier_phase(bootstrap, warm_up, fanout, sink, fakes, cpu, args.timeout)
        out: dict[str, Any] = {"tickets": len(tickets), "agents": len(agents), "baselines": []}
        print(f"[1/3] baseline: {len(baseline_records)} records through aiokafka ...", flush=True)
        out["baselines"].append(
            await broker_baseline(bootstrap, baseline_records, f"{run}.1", args.timeout)
        )
        print(f"[2/3] notifier: {args.n} events x {fanout} notices ...", flush=True)
        out["notifier"] = await notifier_phase(
            bootstrap, events, fanout, sink, fakes, cpu, args.timeout
        )
        print("[3/3] baseline again ...", flush=True)
        out["baselines"].append(
            await broker_baseline(bootstrap, baseline_records, f"{run}.2", args.timeout)
        )
        out["sample_email"] = sink.samples[-1].decode(errors="replace")[:2000]
        out["sample_sms"] = fakes.twilio.calls_of("messages.create")[-1].params.get("Body")
        return out
    finally:
        controller.stop()
        fakes.twilio.stop()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ["NOTIFIER_SMTP_HOST"] = "127.0.0.1"  # our sink, not the stack's mail catcher
    return run_on_own_stack("notify", "ntf", args, run_phases, summarise, print_report)


if __name__ == "__main__":
    raise SystemExit(main())
