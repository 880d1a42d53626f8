"""The ``main`` that a benchmark on its own servers shares: a devstack ``Stack`` on free
ports in a temporary folder (``bench-<name>-*``, fsync on, Redis without persistence),
its phases run against it, and the result written to
``bench/results/<name>-<UTC>.json`` and printed.

``KAFKA_BOOTSTRAP_SERVERS`` / ``DATABASE_URL`` / ``REDIS_URL`` are dropped from the
environment first: the figures must be comparable, so a benchmark never runs against
whatever those point at.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from devstack.processes import free_port
from devstack.services import SERVICES
from devstack.stack import Stack, StackConfig

from . import machine

Phases = Callable[[Stack, argparse.Namespace, str], Coroutine[Any, Any, dict[str, Any]]]


def run_on_own_stack(
    name: str,
    run_prefix: str,
    args: argparse.Namespace,
    run_phases: Phases,
    summarise: Callable[[dict[str, Any]], dict[str, Any]],
    print_report: Callable[[dict[str, Any]], None],
    after_infra: Callable[[Stack], None] | None = None,
) -> int:
    """Start the servers, run the phases, write and print the result (exit status 0)."""
    for variable in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "REDIS_URL"):
        os.environ.pop(variable, None)
    started = datetime.now(UTC)
    run = run_prefix + started.strftime("%Y%m%dT%H%M%S")
    facts = machine.machine_facts()
    data_dir = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    stack = Stack(
        StackConfig(
            data_dir=data_dir,
            pg_port=free_port(),
            redis_port=free_port(),
            kafka_port=free_port(),
            service_ports={s.name: free_port() for s in SERVICES},
            fsync=True,
            persistent_redis=False,
        )
    )
    try:
        print(f"Starting infrastructure in {data_dir} ...", flush=True)
        stack.start_infra()
        if after_infra is not None:
            after_infra(stack)
        phases = asyncio.run(run_phases(stack, args, run))
    finally:
        stack.stop()
        if args.keep_data:
            print(f"Data and logs kept in {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
    return write_result(name, run, started, facts, args, phases, summarise, print_report)


def write_result(
    name: str,
    run: str | None,
    started: datetime,
    facts: dict[str, Any],
    args: argparse.Namespace,
    phases: dict[str, Any],
    summarise: Callable[[dict[str, Any]], dict[str, Any]],
    print_report: Callable[[dict[str, Any]], None],
) -> int:
    """Write ``bench/results/<name>-<UTC>.json`` (machine facts with the load at the end,
    options, phases, summary) and print the report; the exit status (0)."""
    facts["load_average_end"] = machine.load_average()
    result = {
        "benchmark": name,
        **({"run": run} if run is not None else {}),
        "started_utc": started.isoformat(),
        "machine": facts,
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        **phases,
        "summary": summarise(phases),
    }
    args.results_dir.mkdir(parents=True, exist_ok=True)
    path = args.results_dir / f"{name}-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print_report(result)
    print(f"\nResult written to {path}")
    return 0
