"""A media link that never answers: retried (transient) at first, recorded as a skipped
attachment once the give-up delay since the webhook arrived has passed."""

from __future__ import annotations

import socket
from datetime import timedelta
from pathlib import Path

import pytest
from helpdesk_common.blobstore import FilesystemBlobStore
from helpdesk_common.channel_accounts import ChannelAccountDirectory
from helpdesk_common.consuming import TransientError
from helpdesk_common.records import Channel, utcnow
from messenger_ingest.media import MediaFetcher
from messenger_ingest.outcomes import MediaRef, MediaSource


def dead_link() -> str:
    with socket.socket() as probe:  # bound, then closed: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/photo.jpg"


async def test_unreachable_media_is_retried_then_skipped_with_its_reason(tmp_path: Path) -> None:
    accounts = ChannelAccountDirectory("http://127.0.0.1:9", None)
    fetcher = MediaFetcher(
        FilesystemBlobStore(tmp_path),
        accounts,
        telegram_api_base_url="http://127.0.0.1:9",
        max_bytes=1024,
        timeout_seconds=2,
        give_up_after_seconds=600,
    )
    ref = MediaRef(MediaSource.URL, dead_link(), "photo.jpg", "image/jpeg")
    try:
        with pytest.raises(TransientError):
            await fetcher.fetch(Channel.VK, "club", ref, received_at=utcnow())
        late = utcnow() - timedelta(seconds=601)
        skipped = await fetcher.fetch(Channel.VK, "club", ref, received_at=late)
    finally:
        await fetcher.aclose()
        await accounts.aclose()
    assert skipped.blob is None
    assert skipped.filename == "photo.jpg"
    assert skipped.skipped_reason is not None
    assert skipped.skipped_reason.startswith("unavailable for 60")
    assert "media download failed" in skipped.skipped_reason
