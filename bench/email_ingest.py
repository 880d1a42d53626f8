"""Email ingestion benchmark: mails/s from IMAP to the broker, beside baselines from one run.

    .venv/bin/python -m bench.email_ingest [--n 2000] [--latency-mails 10]

Starts its own Dovecot (``bench/imap_server.py``, as the tests run it), broker and Redis
(``devstack.stack.Stack``, which also starts a PostgreSQL nobody uses here) in a temporary
folder. The corpus is ``bench/email_corpus.py``'s: N/2 copies of the fixture mails (small,
every shape) and N/2 generated realistic replies (median ~67 KB, a third with a PDF).
For each half, in its own folder:

1. the mails are appended (stdlib ``imaplib``), and the filter chain's outcomes counted
   once outside the clock (loops are not published);
2. baseline: the IMAP fetch alone (UID FETCH BODY.PEEK[] of every mail, one at a time,
   with the poller's client, no processing), before and after step 3;
3. one ``MailboxPoller`` in this process: from ``start()`` until every record is on
   ``inbound.messages.v1`` (lease, checkpoint per mail, filter chain, blob store with
   fsync, publish waiting for the ack, flag on the server);
4. baseline: the same records (read back from the topic) produced to a fresh topic with
   plain aiokafka and the service's producer settings (acks=all): one at a time waiting
   for each ack, as the poller does, then all pipelined (the raw broker produce rate).

Then the arrival-to-published latency with IDLE: mails appended one at a time to a
folder a poller waits on in IDLE, from APPEND's OK to the record on the topic (issue 9's
target is arrival to *stored ticket* under 1 s; ticket-core is not part of this one:
``bench.e2e``'s fifth phase measures that whole path).

Prints machine facts and the figures, writes ``bench/results/email-ingest-<UTC>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from devstack.dovecot import Dovecot
from devstack.processes import free_port
from devstack.services import SERVICES
from devstack.stack import Stack, StackConfig
from email_ingest.cli import DigestBlobStore
from email_ingest.mailboxes import MailboxConfig
from email_ingest.mime import clear_header_cache
from email_ingest.pipeline import Skip, build_inbound
from helpdesk_common import logs

from . import machine
from .email_corpus import build_corpus, build_large
from .email_ingest_phases import Env, Probe, idle_latency, imap_fetch, ingest, produce, records_of
from .email_ingest_report import print_report
from .imap_server import Appender, start_dovecot

RESULTS_DIR = Path(__file__).parent / "results"
LATENCY_TARGET_SECONDS = 1.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.email_ingest", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--n", type=int, default=2000, help="mails, half small, half large")
    parser.add_argument("--latency-mails", type=int, default=10, help="IDLE latency samples")
    parser.add_argument("--timeout", type=float, default=900.0, help="max seconds per phase")
    parser.add_argument("--keep-data", action="store_true", help="keep the temp folder")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    return parser.parse_args(argv)


def outcomes(mails: list[bytes], box: MailboxConfig) -> Counter[str]:
    """What the filter chain makes of the mails (outside the clock; header cache cleared)."""
    counts: Counter[str] = Counter()
    ctx, blobs = box.context(), DigestBlobStore()

    async def run() -> None:
        for raw in mails:
            try:
                await build_inbound(raw, ctx, blobs)
                counts["published"] += 1
            except Skip:
                counts["skipped"] += 1
            except Exception:
                counts["failed"] += 1

    asyncio.run(run())
    clear_header_cache()
    return counts


def latency_mail(n: int) -> bytes:
    return (
        f"From: Customer <customer{n}@client.example>\r\nTo: support@example.com\r\n"
        f"Subject: Latency probe {n}\r\nMessage-ID: <latency-{n}-{time.time_ns()}@client>\r\n"
        "Date: Thu, 26 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nThe printer jams again.\r\n"
    ).encode()


async def run_subset(
    env: Env, name: str, mails: list[bytes], cpu: Probe, timeout: float
) -> dict[str, Any]:
    box = env.mailbox(name)
    env.appender.create(box.folder)
    started = time.perf_counter()
    await asyncio.to_thread(env.appender.append, box.folder, mails)
    appended = time.perf_counter() - started
    expected = await asyncio.to_thread(outcomes, mails, box)
    print(f"      {name}: appended {len(mails)} in {appended:.1f} s; {dict(expected)}", flush=True)
    fetch = [await imap_fetch(box)]
    print(f"      {name}: IMAP fetch alone {fetch[0]['rate']:.0f}/s; poller ...", flush=True)
    run = await ingest(env, box, len(mails), expected["published"], cpu, timeout)
    print(f"      {name}: poller {run['rate']:.0f} mails/s; baselines ...", flush=True)
    fetch.append(await imap_fetch(box))
    records = await records_of(env.bootstrap, box.account)
    if len(records) != run["published"]:
        raise RuntimeError(f"{name}: {len(records)} records on the topic, {run} published")
    raw = await produce(env.bootstrap, records, f"{env.run}.{name}")
    fetch_rate = statistics.fmean(f["rate"] for f in fetch)
    return {
        "mails": len(mails),
        "bytes": sum(len(m) for m in mails),
        "median_bytes": statistics.median(len(m) for m in mails),
        "append_seconds": appended,
        "expected": dict(expected),
        "imap_fetch": fetch,
        "ingest": run,
        "produce": raw,
        "ratios": {
            "ingest_to_produce_pipelined": run["rate"] / raw["pipelined"]["rate"],
            "ingest_to_produce_serial": run["rate"] / raw["serial"]["rate"],
            "ingest_to_imap_fetch": run["rate"] / fetch_rate,
            "imap_fetch_range": [min(f["rate"] for f in fetch), max(f["rate"] for f in fetch)],
        },
    }


def combined(subsets: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Both halves as one corpus: total mails over total seconds of each phase."""
    parts = subsets.values()
    mails = sum(p["mails"] for p in parts)
    ingest_s = sum(p["ingest"]["seconds_to_all_on_topic"] for p in parts)
    fetch_s = sum(statistics.fmean(f["seconds"] for f in p["imap_fetch"]) for p in parts)
    serial_s = sum(p["produce"]["serial"]["seconds"] for p in parts)
    pipelined_s = sum(p["produce"]["pipelined"]["seconds"] for p in parts)
    records = sum(p["produce"]["records"] for p in parts)
    rate = mails / ingest_s
    return {
        "mails": mails,
        "ingest_rate": rate,
        "imap_fetch_rate": mails / fetch_s,
        "produce_serial_rate": records / serial_s,
        "produce_pipelined_rate": records / pipelined_s,
        "ratio_to_produce_pipelined": rate / (records / pipelined_s),
        "ratio_to_produce_serial": rate / (records / serial_s),
        "ratio_to_imap_fetch": rate / (mails / fetch_s),
    }


def _latency_summary(result: dict[str, Any]) -> dict[str, Any]:
    values = sorted(s["arrival_to_on_topic"] for s in result["samples"])
    if not values:
        return result
    result["arrival_to_on_topic"] = {
        "min": values[0],
        "median": statistics.median(values),
        "max": values[-1],
        "under_target": sum(v < LATENCY_TARGET_SECONDS for v in values),
    }
    return result


def cpu_probe(stack: Stack, dovecot: Dovecot) -> Probe:
    def pid(server: Any) -> int | None:
        child = getattr(server, "child", None)
        return child.process.pid if child is not None and child.process is not None else None

    broker, redis = pid(stack.kafka), pid(stack.redis)

    def probe() -> dict[str, float]:
        return {
            "bench_process_with_poller": machine.self_cpu_seconds(),
            "dovecot": machine.cpu_seconds(dovecot.pid, with_children=True) if dovecot.pid else 0,
            "broker": machine.cpu_seconds(broker) if broker else 0.0,
            "redis": machine.cpu_seconds(redis) if redis else 0.0,
        }

    return probe


async def run_phases(stack: Stack, dovecot: Dovecot, args: argparse.Namespace, run: str) -> Any:
    assert stack.infra is not None
    env = Env(
        bootstrap=stack.infra.kafka,
        redis_url=stack.infra.redis_url,
        imap_port=dovecot.imap_port,
        blob_dir=stack.config.data_dir / "blobs",
        appender=Appender(dovecot.imap_port),
        run=run,
    )
    corpus = {"fixtures": build_corpus(args.n - args.n // 2), "large": build_large(args.n // 2)}
    cpu = cpu_probe(stack, dovecot)
    subsets: dict[str, Any] = {}
    for i, (name, mails) in enumerate(corpus.items(), 1):
        print(f"[{i}/3] {name}: {len(mails)} mails", flush=True)
        subsets[name] = await run_subset(env, name, mails, cpu, args.timeout)
    print(f"[3/3] IDLE latency, {args.latency_mails} mails one at a time ...", flush=True)
    mails = [latency_mail(i) for i in range(args.latency_mails)]
    latency = _latency_summary(await idle_latency(env, mails))
    return subsets, latency


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL", "REDIS_URL"):
        os.environ.pop(name, None)  # always our own servers: the figures must be comparable
    logs.configure("bench-email-ingest", "WARNING")
    started = datetime.now(UTC)
    run = "bench" + started.strftime("%Y%m%dT%H%M%S")
    facts = machine.machine_facts()
    data_dir = Path(tempfile.mkdtemp(prefix="bench-email-ingest-"))
    os.chmod(data_dir, 0o755)  # Dovecot's mail processes run as uid 65534
    stack = Stack(
        StackConfig(
            data_dir=data_dir,
            pg_port=free_port(),
            redis_port=free_port(),
            kafka_port=free_port(),
            smtp_port=free_port(),
            service_ports={s.name: free_port() for s in SERVICES},
            fsync=False,
            persistent_redis=False,
        )
    )
    dovecot: Dovecot | None = None
    try:
        print(f"Starting the broker, Redis and Dovecot in {data_dir} ...", flush=True)
        stack.start_infra()
        dovecot = start_dovecot(data_dir / "dovecot")
        subsets, latency = asyncio.run(run_phases(stack, dovecot, args, run))
    finally:
        if dovecot is not None:
            dovecot.stop()
        stack.stop()
        if args.keep_data:
            print(f"Data and logs kept in {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
    facts["load_average_end"] = machine.load_average()
    result = {
        "benchmark": "email_ingest",
        "run": run,
        "started_utc": started.isoformat(),
        "machine": facts,
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "subsets": subsets,
        "all": combined(subsets),
        "idle_latency": latency,
        "latency_target_seconds": LATENCY_TARGET_SECONDS,
    }
    args.results_dir.mkdir(parents=True, exist_ok=True)
    path = args.results_dir / f"email-ingest-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print_report(result)
    print(f"\nResult written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
