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
"""

from __future__ import annotations

import argparse
import asyncio
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiosmtpd.controller import Controller
from devstack.fake_providers import FakeTelegram, FakeViber, FakeVk
from devstack.probes import produce_records
from devstack.processes import Child, free_port
from devstack.services import wait_ready
from devstack.stack import Stack
from devstack.test_system import (
    TWILIO_SID,
    TWILIO_TOKEN,
    Fakes,
    service_env,
    sms_and_phone_accounts,
)
from helpdesk_common.notification_templates import TYPES
from helpdesk_common.records import (
    Channel,
    InboundMessage,
    SenderIdentity,
    ThreadHints,
    TicketEvent,
    TicketEventKind,
)
from helpdesk_common.topic_admin import ensure_topics
from helpdesk_common.topics import TICKET_EVENTS
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from ticket_core import repository as repo
from ticket_core.audit import SYSTEM
from ticket_core.ingest import ingest_batch
from ticket_core.workflow import ChangeRequest, apply_changes

from . import machine
from .own_stack import run_on_own_stack

RESULTS_DIR = Path(__file__).parent / "results"
MEASURED_TYPE = "agent.sla_breached"
PARTITIONS = 8
CHANNELS = 2  # email and SMS


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


@dataclass
class CountingSink:
    """aiosmtpd handler: counts the mails it accepts and keeps a few for a content check."""

    port: int = field(default_factory=free_port)
    count: int = 0
    samples: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.count += 1
            if len(self.samples) < 3:
                self.samples.append(bytes(envelope.content))
        return "250 Message accepted"


def _fakes() -> Fakes:
    """Only Twilio runs; the other fakes exist for ``service_env``'s base URLs."""
    fakes = Fakes(FakeTelegram(), FakeViber(), FakeVk())
    fakes.twilio.credentials[TWILIO_SID] = TWILIO_TOKEN
    fakes.twilio.start()
    return fakes


def _event_record(ticket: dict[str, Any], i: int) -> TicketEvent:
    return TicketEvent(
        kind=TicketEventKind.SLA_BREACHED,
        ticket_id=ticket["id"],
        ticket_number=ticket["number"],
        details={"target": "resolution", "due_at": f"2031-01-01T10:{i % 60:02d}:00+00:00"},
    )


# --- set-up -----------------------------------------------------------------------------


async def configure(core: httpx.AsyncClient, fakes: Fakes) -> None:
    twilio = next(a for a in sms_and_phone_accounts(fakes) if a["name"] == "sms_twilio")
    (await core.post("/api/v1/channel-accounts", json=twilio)).raise_for_status()
    for key in TYPES:
        body = {"enabled": key == MEASURED_TYPE}
        if key == MEASURED_TYPE:
            body.update(email_on=True, sms_on=True)
        (await core.patch(f"/api/v1/notifications/types/{key}", json=body)).raise_for_status()
    (
        await core.patch("/api/v1/notifications/settings", json={"sms_account": "sms_twilio"})
    ).raise_for_status()


async def make_agents(core: httpx.AsyncClient, count: int, run: str) -> list[int]:
    ids = []
    for i in range(count):
        created = await core.post(
            "/api/v1/agents",
            json={"name": f"Agent {i}", "email": f"{run}.a{i}@desk.test", "role": "specialist"},
        )
        created.raise_for_status()
        agent_id = int(created.json()["id"])
        phone = f"+7903{(hash(run) + i) % 10**7:07d}"
        profile = await core.put(
            f"/api/v1/notifications/agents/{agent_id}", json={"mobile_phone": phone}
        )
        profile.raise_for_status()
        ids.append(agent_id)
    return ids


async def make_tickets(
    database_url: str, run: str, count: int, agents: list[int], observers: int
) -> list[dict[str, Any]]:
    """Tickets from new senders, each assigned to one agent and observed by others."""
    engine = create_async_engine(database_url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    messages = [
        InboundMessage(
            idempotency_key=f"{run}:ticket:{i}",
            channel=Channel.WEBFORM,
            channel_account="default",
            sender=SenderIdentity(
                channel_user_id=f"{run}.c{i}@example.com", email=f"{run}.c{i}@example.com"
            ),
            thread=ThreadHints(conversation_id=f"{run}.c{i}@example.com"),
            subject=f"Printer {i} jams",
            text="The printer jams on every page.",
        )
        for i in range(count)
    ]
    try:
        async with sessions() as session, session.begin():
            await ingest_batch(session, messages, reopen_window=timedelta(days=7))
            rows = await session.execute(
                select(repo.tickets.c.id, repo.tickets.c.number)
                .join(repo.messages, repo.messages.c.ticket_id == repo.tickets.c.id)
                .where(repo.messages.c.idempotency_key.like(f"{run}:ticket:%"))
                .order_by(repo.tickets.c.id)
            )
            tickets = [{"id": int(r.id), "number": int(r.number)} for r in rows]
            for i, ticket in enumerate(tickets):
                team = [agents[(i + k) % len(agents)] for k in range(observers + 1)]
                outcome = await apply_changes(
                    session,
                    [ticket["id"]],
                    ChangeRequest(
                        responsible_agent_id=team[0], observer_agent_ids=frozenset(team[1:])
                    ),
                    SYSTEM,
                    now=datetime.now(UTC),
                    auto_close_after=timedelta(days=7),
                )
                assert outcome.updated == [ticket["id"]], outcome.failed
    finally:
        await engine.dispose()
    return tickets


# --- phases -----------------------------------------------------------------------------


async def broker_baseline(
    bootstrap: str, records: list[TicketEvent], name: str, timeout: float
) -> dict[str, Any]:
    """Produce and consume the records with plain aiokafka, concurrently."""
    topic = f"bench.notify.{name}"
    await ensure_topics(bootstrap, {topic: PARTITIONS})
    payloads = [(r.partition_key().encode(), r.model_dump_json().encode()) for r in records]
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"bench-notify-{name}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, max_batch_size=1 << 20)
    await consumer.start()
    await producer.start()
    try:
        # Join the group first (not timed): one empty poll assigns the partitions.
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=200)
        started = time.perf_counter()

        async def produce() -> float:
            futures = [await producer.send(topic, value, key=key) for key, value in payloads]
            await asyncio.gather(*futures)
            return time.perf_counter() - started

        producing = asyncio.create_task(produce())
        consumed = 0
        deadline = time.monotonic() + timeout
        while consumed < len(payloads):
            if time.monotonic() > deadline:
                raise TimeoutError(f"baseline consumed {consumed}/{len(payloads)}")
            fetched = await consumer.getmany(timeout_ms=500, max_records=500)
            got = sum(len(part) for part in fetched.values())
            if got:
                consumed += got
                await consumer.commit()
        seconds = time.perf_counter() - started
        produce_seconds = await producing
    finally:
        await producer.stop()
        await consumer.stop()
    return {
        "records": len(payloads),
        "seconds": seconds,
        "rate": len(payloads) / seconds,
        "produce_seconds": produce_seconds,
    }


async def notifier_phase(
    bootstrap: str,
    events: list[TicketEvent],
    fanout: int,
    sink: CountingSink,
    fakes: Fakes,
    cpu: dict[str, int],
    timeout: float,
) -> dict[str, Any]:
    email_before, sms_before = sink.count, len(fakes.twilio.calls_of("messages.create"))
    want = len(events) * fanout // CHANNELS
    cpu_before = _cpu(cpu)
    started = time.perf_counter()
    await produce_records(bootstrap, TICKET_EVENTS.name, events)
    produce_seconds = time.perf_counter() - started
    deadline = time.monotonic() + timeout
    first_half: float | None = None
    while True:
        emails = sink.count - email_before
        sms = len(fakes.twilio.calls_of("messages.create")) - sms_before
        if first_half is None and emails + sms >= want:
            first_half = time.perf_counter() - started
        if emails >= want and sms >= want:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"notifier: {emails} emails, {sms} SMS of {want} each")
        await asyncio.sleep(0.05)
    seconds = time.perf_counter() - started
    cpu_used = {k: v - cpu_before[k] for k, v in _cpu(cpu).items()}
    await asyncio.sleep(1.0)  # anything sent twice would arrive now
    emails = sink.count - email_before
    sms = len(fakes.twilio.calls_of("messages.create")) - sms_before
    assert (emails, sms) == (want, want), f"sent twice? {emails} emails, {sms} SMS, {want} each"
    notices = emails + sms
    return {
        "events": len(events),
        "fanout": fanout,
        "notifications": notices,
        "emails": emails,
        "sms": sms,
        "seconds": seconds,
        "rate": notices / seconds,
        "events_per_second": len(events) / seconds,
        "half_seconds": first_half,
        "produce_seconds": produce_seconds,
        "cpu_seconds": cpu_used,
    }


def _cpu(pids: dict[str, int]) -> dict[str, float]:
    found = {name: machine.cpu_seconds(pid) for name, pid in pids.items()}
    found["bench"] = machine.self_cpu_seconds()
    return found


def _pid(child: Child | None) -> int | None:
    return child.process.pid if child is not None and child.process is not None else None


async def run_phases(stack: Stack, args: argparse.Namespace, run: str) -> dict[str, Any]:
    assert stack.infra is not None
    bootstrap = stack.infra.kafka
    sink = CountingSink()
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    fakes = _fakes()
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
        events = [_event_record(tickets[i % len(tickets)], i) for i in range(args.n)]
        baseline_records = [
            _event_record(tickets[i % len(tickets)], i) for i in range(args.n * fanout)
        ]
        # Warm-up (not counted): the consumer group joins, the SMTP and HTTP paths are hot.
        print("[warm-up] 5 events ...", flush=True)
        cpu = {
            "notifier": _pid(children["notifier"]) or 0,
            "ticket_core": _pid(children["ticket-core"]) or 0,
            "broker": _pid(stack.kafka and stack.kafka.child) or 0,
        }
        cpu = {k: v for k, v in cpu.items() if v}
        warm_up = [_event_record(tickets[i % len(tickets)], i) for i in range(5)]  # own ids
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


def summarise(phases: dict[str, Any]) -> dict[str, Any]:
    rates = [b["rate"] for b in phases["baselines"]]
    baseline = sum(rates) / len(rates)
    rate = phases["notifier"]["rate"]
    return {
        "baseline_rate": baseline,
        "notifications_per_second": rate,
        "ratio": rate / baseline,
        "ratio_range": [rate / max(rates), rate / min(rates)],
    }


def print_report(result: dict[str, Any]) -> None:
    m, phases, summary = result["machine"], result, result["summary"]
    n = phases["notifier"]
    print("\n=== Notification benchmark ===")
    print(f"machine: {m['nproc']} CPUs, {m['cpu_model']}, {m['memory_gib']} GiB RAM")
    print(f"         Python {m['python']}, {m['platform']}")
    print(f"         load average {m['load_average']} at start, {m['load_average_end']} at end")
    print(
        f"run: {result['run']}   N = {n['events']} sla.breached events over "
        f"{phases['tickets']} tickets; fan-out {n['fanout']} notices per event "
        f"({n['fanout'] // CHANNELS} agents x email + SMS)"
    )
    print("\nbaseline (plain aiokafka produce + consume, same number of records as notices):")
    for i, b in enumerate(phases["baselines"], 1):
        print(f"  run {i}: {b['rate']:8.0f} records/s  ({b['records']} in {b['seconds']:.2f} s)")
    print(f"  mean:  {summary['baseline_rate']:8.0f} records/s")
    print("\nnotifier (event produced -> email in the SMTP sink / SMS at the fake Twilio):")
    print(
        f"  rate:  {n['rate']:8.1f} notifications/s  ({n['notifications']} = {n['emails']} emails"
        f" + {n['sms']} SMS in {n['seconds']:.2f} s; {n['events_per_second']:.1f} events/s)"
    )
    print(f"  half of the notices were out after {n['half_seconds']:.2f} s")
    cpu = n["cpu_seconds"]
    print("  CPU seconds in the phase: " + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items()))
    print(
        "  CPU ms per notification:  "
        + ", ".join(f"{k} {v / n['notifications'] * 1000:.2f}" for k, v in cpu.items())
    )
    low, high = summary["ratio_range"]
    print(
        f"\nRATIO notifications / broker records: {summary['ratio']:.4f} "
        f"(vs each baseline: {low:.4f}-{high:.4f})"
    )
    print("(one run on a shared, noisy machine: read the ratio, not the absolute rates)")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ["NOTIFIER_SMTP_HOST"] = "127.0.0.1"  # our sink, not the stack's mail catcher
    return run_on_own_stack("notify", "ntf", args, run_phases, summarise, print_report)


if __name__ == "__main__":
    raise SystemExit(main())
