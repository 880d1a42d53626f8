"""Gateway benchmark: signed webhooks per second and latency to the 2xx, against a bare app.

    .venv/bin/python -m bench.gateway            (or: make bench-gateway)
    .venv/bin/python -m bench.gateway --quick    (a short run while developing, ~1 min)
    .venv/bin/python -m bench.gateway --gateway-processes 2   (two gateways on one port)

Starts its own PostgreSQL, Redis and broker on free ports in a temporary folder,
ticket-core (which owns the channel accounts) and the gateway (``python -m gateway``,
its production settings but for the per-source webhook rate limit, raised so that one
loopback source is never refused: the limiter still runs on every request), as one
process or as ``--gateway-processes`` sharing the port (SO_REUSEPORT). A Telegram
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

Modules: ``gateway_system`` (the processes), ``gateway_phases`` (phases and read-back),
``gateway_drive`` (one run of the driver), ``gateway_profiling``, ``gateway_report``.
Prints machine facts and the figures; writes ``bench/results/gateway-<UTC>.json``.
"""

from __future__ import annotations

import argparse
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import machine
from .gateway_phases import run_phases
from .gateway_report import print_report
from .own_stack import write_result
from .stack_setup import bench_stack

TARGET_P99_MS = 15.0
TARGET_RATE = 1000.0
RESULTS_DIR = Path(__file__).parent / "results"


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
        "--gateway-processes",
        type=int,
        default=1,
        help="gateway processes sharing the port (SO_REUSEPORT); the profile uses one",
    )
    parser.add_argument(
        "--quick", action="store_true", help="short phases for development (3 s each)"
    )
    parser.add_argument("--keep-data", action="store_true", help="keep the temp folder (logs)")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    if args.quick:
        args.paced_seconds = args.max_seconds = 3.0
        args.profile_seconds = min(args.profile_seconds, 3.0)  # 0 still skips it
        args.warmup_seconds = 1.0
    return args


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
        "gateway_processes": phases["gateway_processes"],
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
    return write_result("gateway", None, started, facts, args, phases, summarise, print_report)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
