"""Inputs that the atheris harness ``fuzz/mime.py`` found to hang or crash the parse step,
kept as regression tests (``tests/email/hostile/``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from email_ingest.cli import DigestBlobStore
from email_ingest.context import MailboxContext
from email_ingest.pipeline import Skip, UnparseableMail, build_inbound
from helpdesk_common.records import InboundMessage

HOSTILE = Path(__file__).parent / "hostile"
CTX = MailboxContext(
    channel_account="fuzz",
    own_addresses=frozenset({"support@example.com"}),
    max_attachment_bytes=10_000,
    max_body_chars=20_000,
)


@pytest.mark.parametrize("name", sorted(p.name for p in HOSTILE.glob("*.eml")))
async def test_found_inputs_parse_in_bounded_time(name: str) -> None:
    raw = (HOSTILE / name).read_bytes()
    try:
        message = await build_inbound(raw, CTX, DigestBlobStore())  # type: ignore[arg-type]
    except (Skip, UnparseableMail):
        return
    assert InboundMessage.model_validate_json(message.model_dump_json()) == message


def test_the_dsn_with_the_unfoldable_header_parses_in_bounded_time() -> None:
    """fold-mime-parameters-hang.eml: a mutated DSN whose embedded message/* part CPython
    3.11 could not write back out (``_fold_mime_parameters`` looped forever). Run by the
    ``email-ingest parse`` CLI in a child process, so a hang fails after 30 s instead of
    holding the test session."""
    path = HOSTILE / "fold-mime-parameters-hang.eml"
    cli = [sys.executable, "-c", "from email_ingest.cli import main; main()", "parse", str(path)]
    done = subprocess.run(cli, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    message = InboundMessage.model_validate_json(done.stdout)
    assert "could not be delivered for 4 hours" in message.text
