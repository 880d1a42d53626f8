"""Create every topic of the catalogue with its partition count (idempotent)."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from helpdesk_common.topics import all_topic_specs


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
