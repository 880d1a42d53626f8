"""Where PostgreSQL's time goes per inbound batch (``bench.pipeline --statements``).

``pg_stat_statements`` is reset before a phase and read after it. The number of batches
is the number of calls of the idempotency-key lookup, the first statement of every
inbound batch (an ``executemany`` counts one call per row, so an insert cannot be the
marker). Each statement's figures are then given per batch: calls, rows per call and
the server-side time (planning and execution, not the round trip)."""

from __future__ import annotations

from typing import Any

import asyncpg

_BATCH_MARKER = "SELECT ARRAY(SELECT idempotency_key FROM messages"
_TOP = 40


async def reset(conn: asyncpg.Connection) -> None:
    await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    await conn.execute("SELECT pg_stat_statements_reset()")


async def read(conn: asyncpg.Connection, database: str) -> dict[str, Any]:
    rows = await conn.fetch(
        """
        SELECT s.query, s.calls, s.rows, s.total_exec_time + s.total_plan_time AS ms
        FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
        WHERE d.datname = $1 ORDER BY s.calls DESC, ms DESC
        """,
        database,
    )
    marker = " ".join(_BATCH_MARKER.split())
    batches = sum(r["calls"] for r in rows if " ".join(r["query"].split()).startswith(marker)) or 1
    statements = [
        {
            "query": " ".join(r["query"].split())[:160],
            "calls_per_batch": r["calls"] / batches,
            "rows_per_call": r["rows"] / r["calls"] if r["calls"] else 0.0,
            "ms_per_batch": r["ms"] / batches,
        }
        for r in rows
    ]
    return {
        "batches": batches,
        "statements_per_batch": sum(s["calls_per_batch"] for s in statements),
        "server_ms_per_batch": sum(s["ms_per_batch"] for s in statements),
        "top": statements[:_TOP],
    }


def print_profile(profile: dict[str, Any]) -> None:
    print(
        f"\nPostgreSQL per inbound batch ({profile['batches']} batches): "
        f"{profile['statements_per_batch']:.1f} statements, "
        f"{profile['server_ms_per_batch']:.2f} ms server time (all processes)"
    )
    for s in profile["top"]:
        print(
            f"  {s['calls_per_batch']:6.2f} calls {s['ms_per_batch']:7.3f} ms "
            f"{s['rows_per_call']:7.1f} rows  {s['query']}"
        )
