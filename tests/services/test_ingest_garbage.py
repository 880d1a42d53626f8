"""Ingestion leaves no cyclic garbage behind (in-process, real PostgreSQL).

ticket-core raises the collector's first threshold to 50,000 (``ticket_core.__main__``):
garbage in reference cycles then piles up and one collection frees it all while the
event loop waits. A statement built per batch from a subquery of ``tickets`` left tens
of thousands of such objects per collection (proxy columns and copies of their foreign
keys), and the collections paused batches for 20-90 ms. The statements are now built
once; this test keeps it so.
"""

from __future__ import annotations

import gc

from .conftest import Desk, unique, webform
from .test_account_options import DEFAULT_WINDOW, account, mail


async def test_batches_leave_almost_no_cyclic_garbage(desk: Desk) -> None:
    name = await account(desk)
    senders = [f"{unique('g')}@example.com" for _ in range(20)]
    await desk.ingest([mail(name, s) for s in senders], window=DEFAULT_WINDOW)  # warm caches
    gc.collect()
    gc.disable()
    try:
        for _ in range(3):
            batch = [mail(name, s) for s in senders] + [webform(f"{unique('w')}@example.com")]
            await desk.ingest(batch, window=DEFAULT_WINDOW)
        collected = gc.collect()
    finally:
        gc.enable()
    # 2886 with the statements built per batch (about 960 per batch), 0 now
    assert collected < 500, f"{collected} objects in reference cycles after 3 batches"
