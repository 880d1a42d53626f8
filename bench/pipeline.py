"""Ingestion pipeline benchmark: ticket-core's sustained rate as a ratio of a bare pipeline.

    .venv/bin/python -m bench.pipeline --n 20000 [--replicas 2] [--one-process]   (make bench)

Starts its own PostgreSQL (fsync on), Redis and broker on free ports in a temporary
folder, then, in one run on the same machine:

1. baseline: N records through a bare consume -> batched INSERT -> commit loop;
2. ticket-core (one replica; as in docker-compose.yml, an inbound-only process per replica
   and one process for the triggers, the outbox relay and the timers): the same N records
   on ``inbound.messages.v1``, timed from the first send until all N rows are in
   ``messages``; then a paced phase at half that rate for latency without a backlog; with
   ``--replicas 2`` the same again on two replicas;
3. the baseline again (ticket-core stopped), so the ratio uses the mean of two baselines.

Prints machine facts and the figures, and writes ``bench/results/pipeline-<UTC>.json``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import asyncpg
from devstack.probes import produce_records
from devstack.stack import Stack
from helpdesk_common.topics import INBOUND_MESSAGES

from . import bare, machine, service_run, statement_profile
from .own_stack import run_on_own_stack
from .report import print_report
from .stack_setup import enable_commit_timestamps
from .workload import Workload

TARGET_RATIO = 0.5
RESULTS_DIR = Path(__file__).parent / "results"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.pipeline", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--n", type=int, default=20000, help="records per measured phase (default 20000)"
    )
    parser.add_argument(
        "--replicas", type=int, default=1, choices=(1, 2), help="also measure 2 replicas"
    )
    parser.add_argument(
        "--paced-seconds", type=float, default=10.0, help="paced latency phase, 0 to skip"
    )
    parser.add_argument(
        "--paced-fraction", type=float, default=0.5, help="paced rate / measured rate"
    )
    parser.add_argument(
        "--paced-rate",
        type=float,
        default=None,
        help="paced phase at this many records/s instead (issue 9: p99 < 100 ms at 1000/s)",
    )
    parser.add_argument(
        "--one-process",
        dest="split",
        action="store_false",
        help="ticket-core as one process doing everything (make up's layout); by default, as "
        "in docker-compose.yml, an inbound-only process per replica and one background "
        "process (TICKET_CORE_RUN_INBOUND / RUN_BACKGROUND)",
    )
    parser.add_argument(
        "--statements",
        action="store_true",
        help="profile PostgreSQL's statements per inbound batch in the paced phase "
        "(pg_stat_statements; costs a little PostgreSQL CPU)",
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="max seconds for one phase")
    parser.add_argument(
        "--keep-data", action="store_true", help="keep the temp folder (logs, data)"
    )
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    return parser.parse_args(argv)


def _cpu_probe(stack: Stack, *groups: list[service_run.Replica]) -> service_run.CpuProbe:
    """CPU seconds so far; ``groups`` are ticket-core's processes (read at each call: a
    replica added later is counted from then on)."""

    def pid(child: Any) -> int | None:
        return child.process.pid if child is not None and child.process is not None else None

    def probe() -> dict[str, float]:
        pg, kafka = (
            pid(stack.postgres and stack.postgres.child),
            pid(stack.kafka and stack.kafka.child),
        )
        tc_pids = [p for group in groups for r in group if (p := pid(r.child))]
        return {
            "ticket_core": sum(machine.cpu_seconds(p) for p in tc_pids),
            "ticket_core_kernel": sum(machine.cpu_seconds(p, system_only=True) for p in tc_pids),
            "postgres": machine.cpu_seconds(pg, with_children=True) if pg else 0.0,
            "broker": machine.cpu_seconds(kafka) if kafka else 0.0,
            "bench": machine.self_cpu_seconds(),
        }

    return probe


async def run_phases(stack: Stack, args: argparse.Namespace, run: str) -> dict[str, Any]:
    assert stack.infra is not None
    bootstrap = stack.infra.kafka
    dsn = stack.infra.database_url.replace("postgresql+asyncpg://", "postgresql://")
    workload = Workload.for_run(run, args.n)
    records = workload.stream(run)
    out: dict[str, Any] = {"baselines": [], "ticket_core": [], "paced": None}

    print(f"[1/4] baseline (bare pipeline), {args.n} records ...", flush=True)
    out["baselines"].append((await bare.run_bare(bootstrap, dsn, records, f"{run}.1")).as_dict())

    print(
        "[2/4] ticket-core: start, seed conversations, wait for the consumer group ...", flush=True
    )
    env = service_run.INBOUND_ONLY if args.split else None
    replicas = [service_run.start_replica(stack, 0, env)]
    background = (
        [service_run.start_replica(stack, -1, service_run.BACKGROUND_ONLY)] if args.split else []
    )
    out["layout"] = "split: inbound process(es) + 1 background process" if args.split else "one"
    cpu = _cpu_probe(stack, replicas, background)
    conn = await asyncpg.connect(dsn)
    try:
        seeds = workload.seeds()
        await produce_records(bootstrap, INBOUND_MESSAGES.name, seeds)
        await service_run.wait_stored(conn, f"{run}-seed", len(seeds), args.timeout)
        out["seed_conversations"] = len(seeds)

        print(f"[3/4] ticket-core, 1 replica, {args.n} records ...", flush=True)
        one = await service_run.measure_burst(
            conn, bootstrap, records, run, replicas, cpu, args.timeout
        )
        out["ticket_core"].append(one.as_dict())
        if args.paced_seconds > 0:
            rate = args.paced_rate or one.rate * args.paced_fraction
            paced = workload.stream(f"{run}-paced", max(10, int(rate * args.paced_seconds)))
            print(
                f"      paced latency phase: {len(paced)} records at {rate:.0f}/s ...", flush=True
            )
            if args.statements:
                await statement_profile.reset(conn)
            out["paced"] = await service_run.measure_paced(
                conn, bootstrap, paced, f"{run}-paced", rate
            )
            if args.statements:
                out["statements"] = await statement_profile.read(
                    conn, await conn.fetchval("SELECT current_database()")
                )
                statement_profile.print_profile(out["statements"])
        if args.replicas > 1:
            print(
                f"      ticket-core, {args.replicas} replicas: start, wait for the rebalance ...",
                flush=True,
            )
            replicas += [service_run.start_replica(stack, i, env) for i in range(1, args.replicas)]
            out["probe_rounds"] = await service_run.wait_balanced(
                conn, bootstrap, workload, replicas
            )
            prefix = f"{run}-r{args.replicas}"
            print(f"      ticket-core, {args.replicas} replicas, {args.n} records ...", flush=True)
            many = await service_run.measure_burst(
                conn, bootstrap, workload.stream(prefix), prefix, replicas, cpu, args.timeout
            )
            out["ticket_core"].append(many.as_dict())
    finally:
        await conn.close()
        for replica in replicas + background:
            replica.child.stop()

    print(f"[4/4] baseline again (ticket-core stopped), {args.n} records ...", flush=True)
    out["baselines"].append((await bare.run_bare(bootstrap, dsn, records, f"{run}.2")).as_dict())
    return out


def summarise(phases: dict[str, Any]) -> dict[str, Any]:
    base_rates = [b["rate"] for b in phases["baselines"]]
    baseline = sum(base_rates) / len(base_rates)
    ratios = []
    for tc in phases["ticket_core"]:
        ratio = tc["rate"] / baseline
        ratios.append(
            {
                "replicas": tc["replicas"],
                "ratio": ratio,
                "ratio_range": [tc["rate"] / max(base_rates), tc["rate"] / min(base_rates)],
                "steady_ratio": tc["steady_rate"] / baseline,
                "meets_target": ratio >= TARGET_RATIO,
                "speedup_needed": max(1.0, TARGET_RATIO / ratio),
            }
        )
    return {"baseline_rate": baseline, "target_ratio": TARGET_RATIO, "ratios": ratios}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def setup(stack: Stack) -> None:
        enable_commit_timestamps(stack, statement_stats=args.statements)

    return run_on_own_stack("pipeline", "bench", args, run_phases, summarise, print_report, setup)


if __name__ == "__main__":
    raise SystemExit(main())
