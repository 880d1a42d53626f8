"""The human-readable summary of one pipeline benchmark result."""

from __future__ import annotations

from typing import Any

P99_TARGET_MS = 100.0


def _latency_line(lat: dict[str, float]) -> str:
    return (
        f"p50 {lat['p50_ms']:.0f} ms, p95 {lat['p95_ms']:.0f} ms, "
        f"p99 {lat['p99_ms']:.0f} ms, max {lat['max_ms']:.0f} ms\n"
        f"      (to created_at, i.e. transaction start: p50 {lat['created_at_p50_ms']:.0f}, "
        f"p95 {lat['created_at_p95_ms']:.0f}, p99 {lat['created_at_p99_ms']:.0f} ms)"
    )


def _print_machine(result: dict[str, Any]) -> None:
    m = result["machine"]
    print("\n=== Ingestion pipeline benchmark ===")
    print(f"machine: {m['nproc']} CPUs, {m['cpu_model']}, {m['memory_gib']} GiB RAM")
    print(f"         Python {m['python']}, {m['platform']}")
    print(f"         load average {m['load_average']} at start, {m['load_average_end']} at end")
    print(f"run: {result['run']}   N = {result['config']['n']} records (~1 KB of text each)")
    print(f"ticket-core processes: {result.get('layout', 'one')}")


def _print_ticket_core(tc: dict[str, Any], ratio: dict[str, Any]) -> None:
    print(f"\nticket-core, {tc['replicas']} replica(s):")
    print(
        f"  rate:     {tc['rate']:8.0f} records/s  ({tc['records']} in {tc['seconds']:.2f} s "
        f"from the first send; steady 10-90%: {tc['steady_rate']:.0f}/s)"
    )
    print(f"  producer: {tc['produce_rate']:8.0f} records/s  ({tc['produce_seconds']:.2f} s)")
    low, high = ratio["ratio_range"]
    print(
        f"  RATIO ticket-core / bare: {ratio['ratio']:.3f}  (vs each baseline: "
        f"{low:.3f}-{high:.3f}; steady: {ratio['steady_ratio']:.3f})"
    )
    print(f"  publish-to-commit latency, burst (backlog included): {_latency_line(tc['latency'])}")
    if tc["replicas"] > 1:
        print(f"  records handled per replica: {tc['handled_per_replica']}")
    print(
        f"  completion polled {tc['polls']} times; the benchmark's count queries took "
        f"{tc['poll_query_seconds']:.1f} s in all"
    )
    cpu = tc["cpu_seconds"]
    print("  CPU seconds in the phase: " + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items()))
    print(
        "  CPU ms per record:        "
        + ", ".join(f"{k} {v / tc['records'] * 1000:.2f}" for k, v in cpu.items())
    )


def print_report(result: dict[str, Any]) -> None:
    summary = result["summary"]
    _print_machine(result)
    print("\nbaseline (bare consume -> one batched INSERT per batch -> offset commit):")
    for i, b in enumerate(result["baselines"], 1):
        print(
            f"  run {i}: {b['rate']:8.0f} records/s  ({b['records']} in {b['seconds']:.2f} s, "
            f"{b['batches']} batches; producer {b['produce_rate']:.0f}/s)"
        )
    print(f"  mean:  {summary['baseline_rate']:8.0f} records/s")
    for tc, ratio in zip(result["ticket_core"], summary["ratios"], strict=True):
        _print_ticket_core(tc, ratio)
    paced = result.get("paced")
    if paced:
        backlog = paced["target_rate"] > result["ticket_core"][0]["rate"]
        print(
            f"\npaced phase, 1 replica ({paced['records']} records at "
            f"{paced['achieved_send_rate']:.0f}/s, "
            f"{'above the measured rate: a backlog builds' if backlog else 'no backlog'}):"
        )
        print(f"  publish-to-commit latency: {_latency_line(paced['latency'])}")
        if b := paced.get("batches"):
            print(
                f"  {b['batches']} batches: records p50 {b['size_p50']:.0f} / p99 "
                f"{b['size_p99']:.0f}; transaction p50 {b['transaction_p50_ms']:.1f} / p99 "
                f"{b['transaction_p99_ms']:.1f} ms; from one commit to the next start p50 "
                f"{b['gap_p50_ms']:.1f} / p99 {b['gap_p99_ms']:.1f} ms\n"
                f"  the slowest 1% of records spent {100 * b['slowest_wait_share']:.0f}% of "
                "their latency before their batch began"
            )
        p99 = paced["latency"]["p99_ms"]
        print(
            f"  p99 target (issue 9, at 1,000 records/s): < {P99_TARGET_MS:.0f} ms: "
            f"{'MET' if p99 < P99_TARGET_MS else 'MISSED'} at {paced['achieved_send_rate']:.0f}/s"
        )
    target = summary["target_ratio"]
    print(f"\ntarget: ticket-core / bare >= {target}")
    for r in summary["ratios"]:
        if r["meets_target"]:
            print(f"  {r['replicas']} replica(s): MET (ratio {r['ratio']:.3f})")
            continue
        print(
            f"  {r['replicas']} replica(s): MISSED by {target - r['ratio']:.3f} "
            f"(ratio {r['ratio']:.3f}): ticket-core needs x{r['speedup_needed']:.1f} its rate, "
            f"about {summary['baseline_rate'] * target:.0f} records/s here"
        )
    print("(one run on a shared, noisy machine: read the ratios, not the absolute rates)")
