"""The human-readable summary of one gateway benchmark result."""

from __future__ import annotations

from typing import Any

_LABELS = {
    "bare": "bare FastAPI + aiokafka",
    "gateway_telegram": "gateway, Telegram secret token",
    "gateway_viber": "gateway, Viber HMAC-SHA256",
}


def _lat(lat: dict[str, Any]) -> str:
    if not lat.get("n"):
        return "no 2xx answers"
    return (
        f"p50 {lat['p50_ms']:.1f}  p95 {lat['p95_ms']:.1f}  p99 {lat['p99_ms']:.1f}  "
        f"max {lat['max_ms']:.1f} ms"
    )


def _phase(name: str, r: dict[str, Any]) -> None:
    errors = {s: n for s, n in r["statuses"].items() if not s.startswith("2")}
    print(
        f"  {_LABELS.get(name, name):32s} {r['rate_ok']:7.0f} 2xx/s  "
        f"({r['ok']}/{r['requests']} in {r['seconds']:.1f} s"
        + (f", errors {errors}" if errors else "")
        + ")"
    )
    print(f"      latency to 2xx, from due time:  {_lat(r['latency_from_due'])}")
    if r["mode"] == "paced":
        print(f"      latency to 2xx, from the send:  {_lat(r['latency_from_send'])}")
        lag = r["send_lag"]
        if lag.get("n"):
            print(
                f"      driver send lag: p99 {lag['p99_ms']:.1f} ms, max {lag['max_ms']:.1f} ms; "
                f"connections used {r['connections_peak']}"
            )
    print(
        f"      {r['ok_with_warmup']} 2xx with the warm-up; CPU s: "
        + ", ".join(f"{k} {v:.1f}" for k, v in r["cpu_seconds"].items())
        + f", driver {r['driver_cpu_seconds']:.1f}"
    )
    if r.get("log_warnings"):
        print(f"      warnings the server logged: {r['log_warnings']}")
    if r["ok"]:
        per = {k: v / (r["ok_with_warmup"] or 1) * 1000 for k, v in r["cpu_seconds"].items()}
        print("      CPU ms per request: " + ", ".join(f"{k} {v:.2f}" for k, v in per.items()))


def print_report(result: dict[str, Any]) -> None:
    m, cfg, summary = result["machine"], result["config"], result["summary"]
    print("\n=== Gateway webhook benchmark ===")
    print(f"machine: {m['nproc']} CPUs, {m['cpu_model']}, {m['memory_gib']} GiB RAM")
    print(f"         Python {m['python']}, {m['platform']}")
    print(f"         load average {m['load_average']} at start, {m['load_average_end']} at end")
    processes = result.get("gateway_processes", 1)
    print(
        f"gateway: {processes} process{'es' if processes > 1 else ''}"
        + (" sharing the port (SO_REUSEPORT)" if processes > 1 else "")
    )
    print(
        f"driver: a second process on loopback, keep-alive HTTP/1.1; warm-up "
        f"{cfg['warmup_seconds']:.0f} s discarded per phase"
    )
    print(f"\nmax rate, closed loop, {cfg['concurrency']} connections, {cfg['max_seconds']:.0f} s:")
    for name, r in result["max_rate"].items():
        _phase(name, r)
    print(
        f"\npaced (open loop) at {cfg['rate']:.0f}/s for {cfg['paced_seconds']:.0f} s "
        f"(N = {int(cfg['rate'] * cfg['paced_seconds'])} per phase):"
    )
    for name, r in result["paced"].items():
        _phase(name, r)
    low = result.get("paced_low")
    if low:
        print(
            f"\npaced at {cfg['low_fraction']:.0%} of the gateway's max rate "
            f"({low['gateway_telegram']['target_rate']:.0f}/s, no backlog expected):"
        )
        for name, r in low.items():
            _phase(name, r)
    check = result.get("topic_check")
    if check:
        print("\n2xx answers against the records on each topic (read back from the start):")
        for name, c in check.items():
            print(
                f"  {_LABELS.get(name, name):32s} 2xx {c['answered_2xx']:6d}  records read "
                f"{c['records_read']:6d}  end offsets {c['end_offsets_sum']:6d}"
            )
    ratios = summary["ratios"]
    print("\nRATIOS gateway / bare (same run):")
    labels = {
        "max_rate_gateway_to_bare": "max rate (2xx/s)",
        "paced_p99_gateway_telegram_to_bare": f"p99 at {cfg['rate']:.0f}/s, Telegram",
        "paced_p99_gateway_viber_to_bare": f"p99 at {cfg['rate']:.0f}/s, Viber",
        "paced_low_p99_gateway_telegram_to_bare": "p99 at the lower paced rate, Telegram",
    }
    for key, value in ratios.items():
        print(f"  {labels.get(key, key):40s} {value:8.2f}")
    mx = result["max_rate"]
    cpu = [
        r["cpu_seconds"][name] / (r["ok_with_warmup"] or 1)
        for r, name in ((mx["gateway_telegram"], "gateway"), (mx["bare"], "bare"))
    ]
    print(f"  {'CPU per request at max rate':40s} {cpu[0] / cpu[1]:8.2f}")
    prof = result.get("profile")
    if prof:
        print(
            f"\nwhere the gateway's CPU goes (cProfile with a CPU clock, paced load; "
            f"{prof['requests']} requests answered, {prof['profiled_cpu_seconds']:.1f} CPU s "
            "profiled; profiling inflates the cost, so read shares):"
        )
        for label, share in prof["share"].items():
            print(f"  {share * 100:5.1f}%  {label}")
        total = prof["profiled_cpu_seconds"] or 1.0
        print("  steps, callees included (share of the profiled CPU):")
        for label, seconds in prof["steps_cpu_seconds"].items():
            print(f"    {label:52s} {seconds / total * 100:5.1f}%")
        top = prof["top_own_time"][:6]
        print(
            "  top functions (own time): "
            + ", ".join(f"{t['function']} {t['seconds']:.2f}s" for t in top)
        )
    target = summary["target_p99_ms"]
    print(
        f"\ntarget: 2xx p99 < {target:.0f} ms at {summary['target_rate']:.0f} webhooks/s "
        f"({processes} gateway process{'es' if processes > 1 else ''})"
    )
    for name, v in summary["verdicts"].items():
        if v["meets_target"]:
            print(
                f"  {_LABELS[name]}: MET (p99 {v['p99_ms']:.1f} ms at {v['achieved_rate']:.0f}/s)"
            )
        else:
            print(
                f"  {_LABELS[name]}: MISSED by {v['missed_by_ms']:.1f} ms "
                f"(p99 {v['p99_ms']:.1f} ms, x{v['p99_ms'] / target:.1f} the target, "
                f"at {v['achieved_rate']:.0f}/s)"
            )
    print("(one run on a shared, noisy machine: read the ratios, not the absolute figures)")
