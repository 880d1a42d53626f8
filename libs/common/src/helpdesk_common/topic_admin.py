"""Create every topic of the catalogue with its partition count (idempotent).

``python -m helpdesk_common.topic_admin`` does it against ``KAFKA_BOOTSTRAP_SERVERS``:
the embedded stack, the tests and the production compose file all use it.
"""

from __future__ import annotations

import asyncio
import os
import sys

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from .topics import all_topic_specs


async def ensure_topics(bootstrap: str, specs: dict[str, int] | None = None) -> dict[str, int]:
    """Create missing topics; returns the partition count of every catalogued topic."""
    specs = specs or all_topic_specs()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(n, p, 1) for n, p in specs.items() if n not in existing]
        if missing:
            await admin.create_topics(missing)
        described = await admin.describe_topics(list(specs))
        return {t["topic"]: len(t["partitions"]) for t in described}
    finally:
        await admin.close()


def main() -> None:
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")
    created = asyncio.run(ensure_topics(bootstrap))
    for name, partitions in sorted(created.items()):
        sys.stdout.write(f"{name}\t{partitions}\n")


if __name__ == "__main__":
    main()
