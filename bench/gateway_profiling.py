"""The gateway benchmark's profile: a second gateway under cProfile (``gateway_profiled``,
CPU clock, switched on and off by signals) under the same paced Telegram load; its CPU
time grouped by package and the cost of each step of a webhook."""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import time
from typing import Any

from devstack.processes import free_port
from devstack.services import BY_NAME, service_child, wait_ready
from devstack.stack import Stack
from devstack.test_system import TELEGRAM_SECRET

from . import profile_groups
from .gateway_drive import drive
from .gateway_system import Target

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
    ("/gateway/ratelimit.py", "allow", "rate limit (leased Redis count)"),
    ("/helpdesk_common/channel_accounts.py", "get_enabled", "account lookup (cached)"),
    ("/gateway/body.py", "read_capped", "capped body read"),
    ("/gateway/channel_routes.py", "forward", "record + publish until the ack + info line"),
    ("/helpdesk_common/broker.py", "publish_encoded", "  of which the producer send and ack"),
    ("/structlog/_native.py", "meth", "log lines (structlog -> JSON)"),
    ("/helpdesk_common/service.py", "__call__", "all of the request under the middleware"),
)


def profile_gateway(
    stack: Stack, env: dict[str, str], args: argparse.Namespace, path: str
) -> dict[str, Any]:
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
    target = Target("gateway-profiled", [child], port)
    child.process.send_signal(signal.SIGUSR1)
    result = drive(
        target,
        args,
        mode="paced",
        path=path,
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
