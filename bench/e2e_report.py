"""The human-readable summary of one end-to-end benchmark result."""

from __future__ import annotations

from typing import Any


def _lat(lat: dict[str, Any]) -> str:
    if not lat.get("n"):
        return "no samples"
    return (
        f"p50 {lat['p50_ms']:7.1f}  p95 {lat['p95_ms']:7.1f}  p99 {lat['p99_ms']:7.1f}  "
        f"max {lat['max_ms']:7.1f} ms  (n {lat['n']})"
    )


def print_report(result: dict[str, Any]) -> None:
    m, cfg, load, summary = result["machine"], result["config"], result["load"], result["summary"]
    print("\n=== End-to-end benchmark: Telegram message -> ticket, reply -> provider ===")
    print(f"machine: {m['nproc']} CPUs, {m['cpu_model']}, {m['memory_gib']} GiB RAM")
    print(f"         Python {m['python']}, {m['platform']}")
    print(f"         load average {m['load_average']} at start, {m['load_average_end']} at end")
    print(
        f"load: {cfg['rate']:.0f} new conversations/s for {cfg['seconds']:.0f} s, "
        f"N = {load['conversations']} (webhook 2xx {load['webhook_2xx']}, "
        f"replies 201 {load['replies_201']}); driver send lag p99 "
        f"{load['driver_send_lag'].get('p99_ms', 0):.1f} ms"
    )
    print("\nbaseline: one bare broker hop, aiokafka produce (acks=all) -> consume (getmany):")
    for i, b in enumerate(result["baselines"], 1):
        print(f"  run {i}: produce -> consume {_lat(b['produce_to_consume'])}")
        print(f"         produce -> ack     {_lat(b['produce_to_ack'])}")
    ref = result.get("reference_hop")
    if ref:
        print(
            f"  reference, consumer fetch_max_wait_ms={ref['fetch_max_wait_ms']} "
            f"(services: aiokafka's default 500):"
        )
        print(f"         produce -> consume {_lat(ref['produce_to_consume'])}")
    print("\n(a) webhook sent -> customer message committed:")
    print(f"    {_lat(load['a_webhook_to_stored'])}")
    for name, lat in load["stages_a"].items():
        print(f"      {name:48s} {_lat(lat)}")
    print("(b) reply POSTed -> fake Telegram got sendMessage:")
    print(f"    {_lat(load['b_reply_to_provider'])}")
    for name, lat in load["stages_b"].items():
        print(f"      {name:48s} {_lat(lat)}")
    r = summary["ratios"]
    print(
        f"\nRATIOS against one bare hop (p50 {summary['baseline_hop_p50_ms']:.1f} ms, "
        f"p99 {summary['baseline_hop_p99_ms']:.1f} ms, mean of the two runs):"
    )
    print(
        f"  (a), 2 broker hops: p50 x{r['a_p50_to_hop_p50']:.1f}, p99 x{r['a_p99_to_hop_p99']:.1f}"
    )
    print(
        f"  (b), 1 broker hop:  p50 x{r['b_p50_to_hop_p50']:.1f}, p99 x{r['b_p99_to_hop_p99']:.1f}"
    )
    email = result.get("email")
    if email:
        lat = email["arrival_to_stored"]
        print(
            f"\n(c) email, one mail at a time into a folder email-ingest waits on in IDLE: "
            f"APPEND OK -> message and ticket committed:\n    {_lat(lat)}"
        )
        for name, stage in email["stages"].items():
            print(f"      {name:62s} {_lat(stage)}")
        slowest = lat.get("max_ms", float("inf"))
        verdict = "MET" if slowest < 1000 else f"MISSED by {slowest - 1000:.0f} ms"
        print(f"  target (issue 9): every mail stored under 1 s after arrival: {verdict}")
    cpu = result["cpu_seconds"]
    n = load["conversations"] or 1
    print(
        "CPU ms per conversation during the load: "
        + ", ".join(f"{k} {v / n * 1000:.1f}" for k, v in cpu.items())
    )
    print("(one run on a shared, noisy machine: read the ratios, not the absolute figures)")
