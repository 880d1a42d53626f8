"""Email parsing benchmark: mails/s through the inbound filter chain, beside a baseline.

    .venv/bin/python -m bench.email_parse [--n 2000] [--repeat 3]

Builds a corpus of N mails (default 2000), two halves:

- ``fixtures``: copies of the fixture corpus in ``tests/email/corpus`` (46 small mails of
  every shape: charsets, HTML-only, attachments, replies, auto-replies, bounces,
  malformed), each copy with its own Message-ID, MIME boundaries, Date and a sequence
  header, so nothing is cached across copies that would not be in real mail;
- ``large``: generated replies of a realistic size (multipart/alternative with a long
  quoted history in text and HTML, styles and tables; a third with a PDF-sized
  attachment, a quarter in windows-1251), 10-300 KB each;

then, in one process on one core, alternating ``--repeat`` times, for each half and for
the whole corpus:

1. baseline: ``email.message_from_bytes(raw, policy=email.policy.default)`` alone (the
   stdlib parse, nothing read from the result); also the legacy ``compat32`` parse, for
   reference;
2. chain: ``email_ingest.pipeline.build_inbound`` (parse, loop / bounce / auto-reply
   detection, sender, thread hints, body with HTML sanitising, quote cutting, blob refs,
   the record) with a blob store that only computes SHA-256 digests.

Prints machine facts, the figures (median of the repeats; rates are per CPU second of
this single-threaded process, i.e. per core) and where the chain's time goes (one
cProfile pass, own time grouped by module), and writes
``bench/results/email-parse-<UTC>.json``. Target (issue 9): >= 1,000 mails/s per core.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import email
import email.policy
import json
import pstats
import statistics
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from email_ingest.cli import DigestBlobStore
from email_ingest.context import MailboxContext
from email_ingest.mime import clear_header_cache
from email_ingest.pipeline import Skip, UnparseableMail, build_inbound
from helpdesk_common import logs

from . import machine
from .email_corpus import CORPUS_DIR, build_corpus, build_large

TARGET_PER_CORE = 1000.0
RESULTS_DIR = Path(__file__).parent / "results"
CTX = MailboxContext(channel_account="bench", own_addresses=frozenset({"support@example.com"}))


def _timed(run: Callable[[], Any]) -> dict[str, float]:
    cpu0, wall0 = time.process_time(), time.perf_counter()
    run()
    return {"cpu": time.process_time() - cpu0, "wall": time.perf_counter() - wall0}


def baseline(mails: list[bytes], policy: Any) -> dict[str, float]:
    def run() -> None:
        for raw in mails:
            email.message_from_bytes(raw, policy=policy)

    return _timed(run)


def chain(mails: list[bytes], outcomes: Counter[str]) -> dict[str, float]:
    blobs = DigestBlobStore()
    clear_header_cache()  # no header memoised by an earlier round: every round starts cold

    async def run_all() -> None:
        for raw in mails:
            try:
                message = await build_inbound(raw, CTX, blobs)
            except Skip:
                outcomes["skipped"] += 1
                continue
            except UnparseableMail:
                outcomes["unparseable"] += 1
                continue
            outcomes["published"] += 1
            outcomes["auto_submitted"] += message.auto_submitted
            outcomes["bounce"] += message.is_bounce
            outcomes["quotes_cut"] += message.full_text is not None
            outcomes["attachments"] += len(message.attachments)

    return _timed(lambda: asyncio.run(run_all()))


def _summary(n: int, runs: list[dict[str, float]]) -> dict[str, Any]:
    cpu = statistics.median(r["cpu"] for r in runs)
    wall = statistics.median(r["wall"] for r in runs)
    return {
        "runs": runs,
        "cpu_seconds": cpu,
        "wall_seconds": wall,
        "rate_per_core": n / cpu if cpu else 0.0,
        "rate_wall": n / wall if wall else 0.0,
        "us_per_mail": cpu / n * 1e6,
    }


def measure(subsets: dict[str, list[bytes]], repeat: int) -> dict[str, Any]:
    for mails in subsets.values():  # warm-up: imports, caches, nh3
        chain(mails[:100], Counter())
    runs: dict[str, dict[str, list[dict[str, float]]]] = {
        name: {"base": [], "legacy": [], "chain": []} for name in subsets
    }
    outcomes: dict[str, dict[str, int]] = {}
    for _ in range(repeat):
        for name, mails in subsets.items():
            runs[name]["base"].append(baseline(mails, email.policy.default))
            runs[name]["legacy"].append(baseline(mails, email.policy.compat32))
            counts: Counter[str] = Counter()
            runs[name]["chain"].append(chain(mails, counts))
            outcomes.setdefault(name, dict(counts))
    result: dict[str, Any] = {}
    for name, mails in subsets.items():
        n = len(mails)
        part: dict[str, Any] = {
            "mails": n,
            "baseline_stdlib_default": _summary(n, runs[name]["base"]),
            "baseline_stdlib_compat32": _summary(n, runs[name]["legacy"]),
            "chain": _summary(n, runs[name]["chain"]),
            "outcomes": outcomes[name],
        }
        part["ratio_chain_to_baseline"] = (
            part["chain"]["rate_per_core"] / part["baseline_stdlib_default"]["rate_per_core"]
        )
        result[name] = part
    return result


_CATEGORIES = (
    ("/email/", "stdlib email (parser, headers)"),
    ("nh3", "nh3 (HTML sanitiser)"),
    ("/html/", "stdlib html.parser (HTML to text)"),
    ("email_ingest", "email_ingest filters"),
    ("pydantic", "pydantic (record)"),
    ("helpdesk_common", "helpdesk_common"),
    ("asyncio", "asyncio loop"),
    ("/bench/", "benchmark loop"),
)
_HELPERS = ("/re/", "/enum.py", "/functools.py", "/codecs.py", "/encodings/", "/base64.py")


def _category(key: tuple[str, int, str]) -> str | None:
    """The module group a profiled function belongs to; None for helpers (builtins, re,
    codecs, ...) whose time is charged to whoever called them."""
    where = f"{key[0]} {key[2]}"
    for needle, label in _CATEGORIES:
        if needle in where:
            return label
    if key[0] == "~" or any(h in key[0] for h in _HELPERS):
        return None
    return "other"


def _owners(key: Any, stats: dict[Any, Any], seen: frozenset[Any]) -> dict[str, float]:
    """Fractions of ``key``'s time owed to each module group, through its callers."""
    label = _category(key)
    if label is not None:
        return {label: 1.0}
    callers = {c: st[3] for c, st in stats[key][4].items() if c not in seen and c in stats}
    total = sum(callers.values())
    if not total:
        return {"other": 1.0}
    owed: Counter[str] = Counter()
    for caller, weight in callers.items():
        for owner, part in _owners(caller, stats, seen | {key}).items():
            owed[owner] += part * weight / total
    return dict(owed)


def profile(mails: list[bytes]) -> dict[str, Any]:
    """Where the chain's CPU time goes: one profiled pass, own time grouped by module."""
    profiler = cProfile.Profile()
    profiler.runcall(chain, mails, Counter())
    stats: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    shares: Counter[str] = Counter()
    for key, (_cc, _nc, tottime, _ct, _callers) in stats.items():
        for owner, part in _owners(key, stats, frozenset()).items():
            shares[owner] += tottime * part
    total = sum(shares.values()) or 1.0
    top = sorted(stats.items(), key=lambda kv: kv[1][2], reverse=True)[:8]
    return {
        "profiled_seconds": total,
        "share": {k: round(v / total, 3) for k, v in shares.most_common()},
        "top_own_time": [
            {"function": f"{Path(k[0]).name}:{k[1]}({k[2]})", "seconds": round(v[2], 3)}
            for k, v in top
        ],
    }


def print_report(result: dict[str, Any]) -> None:
    m = result["machine"]
    print("\n=== Email parsing benchmark ===")
    print(f"machine: {m['nproc']} CPUs, {m['cpu_model']}, {m['memory_gib']} GiB RAM")
    print(f"         Python {m['python']}, {m['platform']}")
    print(f"         load average {m['load_average']} at start, {m['load_average_end']} at end")
    print(f"repeats: {result['config']['repeat']} (median); rates are per CPU second (one core)")
    for name in ("fixtures", "large", "all"):
        part, c = result["subsets"][name], result["corpus"][name]
        print(
            f"\n{name}: {c['mails']} mails, {c['total_bytes'] / 1e6:.1f} MB, "
            f"mean {c['mean_bytes'] / 1e3:.1f} KB, median {c['median_bytes'] / 1e3:.1f} KB"
        )
        for key, label in (
            ("baseline_stdlib_default", "baseline: stdlib parse, policy.default"),
            ("baseline_stdlib_compat32", "reference: stdlib parse, compat32"),
            ("chain", "filter chain (build_inbound)"),
        ):
            s = part[key]
            print(
                f"  {label:40s} {s['rate_per_core']:7.0f} mails/s per core  "
                f"({s['us_per_mail']:6.0f} us/mail, wall {s['rate_wall']:.0f}/s)"
            )
        print(f"  ratio chain / baseline: {part['ratio_chain_to_baseline']:.2f}")
        print(f"  outcomes (one pass): {part['outcomes']}")
    prof = result["profile"]
    print("\nwhere the chain's time goes (one profiled pass over all, own CPU time):")
    for label, share in prof["share"].items():
        print(f"  {share * 100:5.1f}%  {label}")
    top = prof["top_own_time"][:5]
    print("  top functions: " + ", ".join(f"{t['function']} {t['seconds']:.2f}s" for t in top))
    print()
    for name in ("fixtures", "large", "all"):
        rate = result["subsets"][name]["chain"]["rate_per_core"]
        miss = (1 - rate / TARGET_PER_CORE) * 100
        verdict = "PASS" if rate >= TARGET_PER_CORE else f"MISS by {miss:.0f}%"
        print(f"target >= {TARGET_PER_CORE:.0f}/s per core, {name:8s}: {rate:6.0f}/s  {verdict}")


def _stats(mails: list[bytes]) -> dict[str, Any]:
    sizes = sorted(len(m) for m in mails)
    return {
        "mails": len(mails),
        "total_bytes": sum(sizes),
        "mean_bytes": statistics.fmean(sizes),
        "median_bytes": statistics.median(sizes),
        "max_bytes": sizes[-1],
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.email_parse", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--n", type=int, default=2000, help="mails in the corpus (default 2000)")
    parser.add_argument("--repeat", type=int, default=3, help="measured rounds (median)")
    parser.add_argument("--corpus", type=Path, default=CORPUS_DIR, help="fixture .eml folder")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="results folder")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    logs.configure("bench-email-parse", "WARNING")
    facts = machine.machine_facts()
    fixtures = build_corpus(args.n - args.n // 2, args.corpus)
    large = build_large(args.n // 2)
    mixed = [m for pair in zip(fixtures, large, strict=False) for m in pair]
    mixed += fixtures[len(large) :]
    subsets = {"fixtures": fixtures, "large": large, "all": mixed}
    result: dict[str, Any] = {
        "benchmark": "email_parse",
        "run": datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"),
        "machine": facts,
        "config": {"n": args.n, "repeat": args.repeat, "corpus": str(args.corpus)},
        "corpus": {name: _stats(mails) for name, mails in subsets.items()},
        "target_per_core": TARGET_PER_CORE,
    }
    result["subsets"] = measure(subsets, args.repeat)
    result["profile"] = profile(mixed)
    result["summary"] = {
        "chain_rate_per_core": result["subsets"]["all"]["chain"]["rate_per_core"],
        "baseline_rate_per_core": result["subsets"]["all"]["baseline_stdlib_default"][
            "rate_per_core"
        ],
        "ratio_chain_to_baseline": result["subsets"]["all"]["ratio_chain_to_baseline"],
        "meets_target": {
            name: part["chain"]["rate_per_core"] >= TARGET_PER_CORE
            for name, part in result["subsets"].items()
        },
    }
    result["machine"]["load_average_end"] = machine.load_average()
    print_report(result)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"email-parse-{result['run']}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwritten: {path}")
    return result


if __name__ == "__main__":
    main()
