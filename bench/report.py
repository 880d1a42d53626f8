"""The human-readable summary of one pipeline benchmark result."""

from __future__ import annotations

from typing import Any


def _latency_line(lat: dict[str, float]) -> str:
    return (
        f"p50 {lat['p50_ms']:.0f} ms, p95 {lat['p95_ms']:.0f} ms, p99 {lat['p99_ms']:.0f} ms, "
        f"max {lat['max_ms']:.0f} ms   (to created_at = tx start: p50 {lat['created_at_p50_ms']:.0f}, "
        f"p95 {lat['created_at_p95_ms']:.0f}, p99 {lat['created_at_p99_ms']:.0f} ms)"
    )


def print_report(result: dict[str, Any]) -> None:
    m = result["machine"]
    summary = result["summary"]
    print("\n=== Ingestion pipeline benchmark ===")
    print(
        f"machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['memory_gib']} GiB, Python {m['python']}, "
        f"load {m['load_average']} -> {m['load_average_end']}"
    )
    print(f"run: {result['run']}   N = {result['config']['n']} records (~1 KB text)")
    print("\nbaseline (bare consume -> batched INSERT -> commit):")
    for i, b in enumerate(result["baselines"], 1):
        print(
            f"  run {i}: {b['rate']:8.0f} records/s  ({b['records']} in {b['seconds']:.2f} s, "
            f"{b['batches']} batches; producer {b['produce_rate']:.0f}/s)"
        )
    print(f"  mean:  {summary['baseline_rate']:8.0f} records/s")
    for tc, r in zip(result["ticket_core"], summary["ratios"], strict=True):
        print(f"\nticket-core, {tc['replicas']} replica(s):")
        print(
            f"  rate:    {tc['rate']:8.0f} records/s  ({tc['records']} in {tc['seconds']:.2f} s from the "
            f"first send; steady 10-90%: {tc['steady_rate']:.0f}/s)"
        )
        print(f"  producer: {tc['produce_rate']:.0f} records/s ({tc['produce_seconds']:.2f} s)")
        print(
            f"  ratio ticket-core / bare: {r['ratio']:.3f}  (range {r['ratio_range'][0]:.3f}-"
            f"{r['ratio_range'][1]:.3f} over the two baselines; steady {r['steady_ratio']:.3f})"
        )
        print(
            f"  publish-to-commit latency (burst of N, backlog included): {_latency_line(tc['latency'])}"
        )
        if tc["replicas"] > 1:
            print(f"  handled per replica: {tc['handled_per_replica']}")
        cpu = tc["cpu_seconds"]
        per_k = {k: v / tc["records"] * 1000 for k, v in cpu.items()}
        print(
            "  CPU during the phase (s): "
            + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items())
            + "   per 1000 records: "
            + ", ".join(f"{k} {v:.2f}" for k, v in per_k.items())
        )
    paced = result.get("paced")
    if paced:
        print(
            f"\npaced latency ({paced['records']} records at {paced['achieved_send_rate']:.0f}/s, "
            f"no backlog): {_latency_line(paced['latency'])}"
        )
    print(f"\ntarget: ticket-core / bare >= {summary['target_ratio']}")
    for r in summary["ratios"]:
        if r["meets_target"]:
            print(f"  {r['replicas']} replica(s): MET (ratio {r['ratio']:.3f})")
        else:
            print(
                f"  {r['replicas']} replica(s): MISSED by {summary['target_ratio'] - r['ratio']:.3f} "
                f"(ratio {r['ratio']:.3f}; ticket-core needs x{r['speedup_needed']:.1f} its rate, "
                f"about {summary['baseline_rate'] * summary['target_ratio']:.0f} records/s)"
            )
    print("(one run on a shared, noisy machine: read the ratios, not the absolute rates)")
