"""The gateway benchmark's system under test: its own infrastructure, ticket-core (which
owns the channel accounts), the gateway as one or more processes on one port, and the
bare baseline app; with their CPU clocks and the warnings they logged."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devstack.fake_providers import FakeTelegram, FakeViber, FakeVk
from devstack.processes import Child, free_port, wait_until
from devstack.services import BY_NAME, service_child, wait_ready
from devstack.stack import Stack
from devstack.test_system import Fakes, create_channel_accounts, service_env
from helpdesk_common.topic_admin import ensure_topics

from . import machine

BARE_TOPIC = "bench.gateway.bare"


@dataclasses.dataclass
class Target:
    """What the load is aimed at: one port, served by one or more processes."""

    name: str
    children: list[Child]
    port: int

    @property
    def processes(self) -> int:
        return len(self.children)

    def stop(self) -> None:
        for child in self.children:
            child.stop()


def _pid(child: Any) -> int | None:
    return child.process.pid if child is not None and child.process is not None else None


def cpu_probe(stack: Stack, target: Target) -> Callable[[], dict[str, float]]:
    """CPU seconds so far of the target (its processes summed), the broker, Redis and
    ticket-core."""

    def probe() -> dict[str, float]:
        pids = {
            "broker": _pid(stack.kafka and stack.kafka.child),
            "redis": _pid(stack.redis and stack.redis.child),
            "ticket_core": _pid(stack.services.get("ticket-core")),
        }
        seconds = {k: machine.cpu_seconds(p) for k, p in pids.items() if p}
        mine = [_pid(c) for c in target.children]
        return {target.name: sum(machine.cpu_seconds(p) for p in mine if p), **seconds}

    return probe


def log_warnings(paths: list[Path], offsets: list[int]) -> tuple[dict[str, int], list[int]]:
    """Warning and error events the target's processes logged since ``offsets`` (their
    JSON log lines), and the new offsets."""
    counts: Counter[str] = Counter()
    ends = []
    for path, offset in zip(paths, offsets, strict=True):
        with path.open("rb") as log:
            log.seek(offset)
            data = log.read()
        ends.append(offset + len(data))
        for line in data.splitlines():
            if b'"level": "warning"' in line or b'"level": "error"' in line:
                try:
                    counts[str(json.loads(line).get("event"))] += 1
                except ValueError:
                    counts["(unparsed line)"] += 1
    return dict(counts), ends


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
    return Target("bare", [child], port)


def gateway_env(stack: Stack) -> dict[str, str]:
    assert stack.mail is not None
    fakes = Fakes(FakeTelegram(), FakeViber(), FakeVk())  # not started: only their URLs
    env = service_env(fakes, stack.config.service_ports, stack.mail.port)
    stack.service_env["ticket-core"] = env["ticket-core"]
    gateway = dict(env["gateway"])
    # One loopback source sends everything: the limiter must run but never refuse.
    gateway["GATEWAY_WEBHOOK_RATE_LIMIT_PER_MINUTE"] = str(10**9)
    return gateway


def start_gateway_processes(
    stack: Stack, env: dict[str, str], port: int, processes: int, name: str = "gateway"
) -> list[Child]:
    """``processes`` gateways on one port; more than one share it with SO_REUSEPORT (the
    kernel spreads connections over them), the documented scale-out on one host."""
    assert stack.infra is not None
    if processes > 1:
        env = {**env, "GATEWAY_HTTP_REUSE_PORT": "true"}
    children = []
    for i in range(processes):
        child_name = name if i == 0 else f"{name}-{i + 1}"
        base = service_child(BY_NAME["gateway"], stack.infra, port, stack.log_dir, env)
        child = dataclasses.replace(
            base, name=child_name, log_path=stack.log_dir / f"{child_name}.log"
        )
        child.start()
        stack.services[child_name] = child  # so that Stack.stop() stops it
        children.append(child)
    for child in children:
        wait_ready([(child, port)])  # the port answers: one of them at least is up
        wait_until(functools.partial(_started, child), 90.0, f"{child.name} up", interval=0.25)
    return children


def _started(child: Child) -> bool:
    child.ensure_alive()
    return b'"service_started"' in child.log_path.read_bytes()


def start_system(stack: Stack, processes: int = 1) -> tuple[Target, dict[str, str]]:
    env = gateway_env(stack)
    ports = stack.config.service_ports
    stack.start_service("ticket-core", stack.service_env["ticket-core"])
    wait_ready([(stack.services["ticket-core"], ports["ticket-core"])])
    asyncio.run(create_channel_accounts(f"http://127.0.0.1:{ports['ticket-core']}"))
    children = start_gateway_processes(stack, env, ports["gateway"], processes)
    return Target("gateway", children, ports["gateway"]), env
