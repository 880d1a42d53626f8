"""atheris on email-ingest's parse step: raw bytes -> ``build_inbound`` (the whole filter
chain: MIME parsing, charsets, loop/bounce/auto-reply detection, HTML sanitising, quote
cutting). Allowed outcomes: an ``InboundMessage`` that survives a JSON round trip,
``Skip`` or ``UnparseableMail``. Seeds: the mails of ``tests/email/corpus``.

    FUZZ_SECONDS=60 .venv/bin/python fuzz/mime.py
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import ROOT, run

with atheris.instrument_imports():
    from email_ingest.cli import DigestBlobStore  # stores nothing, names the bytes
    from email_ingest.context import MailboxContext
    from email_ingest.pipeline import Skip, UnparseableMail, build_inbound
    from helpdesk_common.records import InboundMessage

from helpdesk_common import logs

CTX = MailboxContext(
    channel_account="fuzz",
    own_addresses=frozenset({"support@example.com"}),
    max_attachment_bytes=10_000,
    max_body_chars=20_000,
)
LOOP = asyncio.new_event_loop()


def test_one_input(data: bytes) -> None:
    try:
        message = LOOP.run_until_complete(build_inbound(data, CTX, DigestBlobStore()))  # type: ignore[arg-type]
    except (Skip, UnparseableMail):
        return
    assert InboundMessage.model_validate_json(message.model_dump_json()) == message


def seeds() -> list[bytes]:
    return [p.read_bytes() for p in sorted((ROOT / "tests/email/corpus").glob("*.eml"))]


if __name__ == "__main__":
    logs.configure("fuzz", "ERROR")
    run("mime", seeds(), test_one_input)
