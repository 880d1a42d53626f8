"""The notification benchmark's summary (rates and the ratio to the broker baseline) and
its human-readable report."""

from __future__ import annotations

from typing import Any

from .notify_setup import CHANNELS


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
