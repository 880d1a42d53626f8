"""Mutated and truncated corpus mails never raise anything but the documented errors.

Hypothesis is not a dependency of the workspace, so this is a bounded, seeded fuzz:
for every corpus mail, a fixed number of mutations (bit flips, truncation, deleted and
duplicated chunks, swapped lines, injected boundaries and encoded words) drawn from
``random.Random(seed)``. Every outcome must be a valid, serialisable ``InboundMessage``,
``Skip`` or ``UnparseableMail``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest
from email_ingest.context import MailboxContext
from email_ingest.pipeline import Skip, UnparseableMail, build_inbound
from helpdesk_common.blobstore import digest
from helpdesk_common.records import BlobRef, InboundMessage

CORPUS = Path(__file__).parent / "corpus"
CTX = MailboxContext(
    channel_account="fuzz",
    own_addresses=frozenset({"support@example.com"}),
    max_attachment_bytes=10_000,
    max_body_chars=20_000,
)
ROUNDS = 40
SEED = 20261126

Mutation = Callable[[random.Random, bytes], bytes]


class DigestBlobs:
    async def put(self, data: bytes, content_type: str = "application/octet-stream") -> BlobRef:
        return BlobRef(sha256=digest(data), size=len(data), content_type=content_type)

    async def get(self, sha256: str) -> bytes:
        raise KeyError(sha256)

    async def exists(self, sha256: str) -> bool:
        return False


def truncate(rng: random.Random, raw: bytes) -> bytes:
    return raw[: rng.randrange(len(raw) + 1)]


def flip_bytes(rng: random.Random, raw: bytes) -> bytes:
    data = bytearray(raw)
    for _ in range(rng.randint(1, 20)):
        if data:
            data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data)


def delete_chunk(rng: random.Random, raw: bytes) -> bytes:
    start = rng.randrange(len(raw) + 1)
    return raw[:start] + raw[start + rng.randint(1, 200) :]


def duplicate_chunk(rng: random.Random, raw: bytes) -> bytes:
    start = rng.randrange(len(raw) + 1)
    chunk = raw[start : start + rng.randint(1, 300)]
    return raw[:start] + chunk * rng.randint(2, 5) + raw[start:]


def swap_lines(rng: random.Random, raw: bytes) -> bytes:
    lines = raw.split(b"\n")
    for _ in range(rng.randint(1, 5)):
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    return b"\n".join(lines)


INJECTIONS = [
    b"--",
    b"--ALT--\n",
    b'Content-Type: multipart/mixed; boundary=""\n',
    b"Content-Type: message/rfc822\n",
    b"Content-Type: multipart/report; report-type=delivery-status\n",
    b"Content-Transfer-Encoding: base64\n",
    b"Content-Transfer-Encoding: quoted-printable\n",
    b"=?utf-8?B?!!?= =?bogus?Q?=ZZ?= =?koi8-r?b?",
    b"Content-Disposition: attachment; filename*0*=x''%ZZ; filename*1*=\n",
    b'From: <>, @, "unterminated\n',
    b"\x00\xff\xfe\r\r\n\n",
    b"Date: Mon, 99 Foo 99999 99:99:99 +9999\n",
    b"References: <" + b"a" * 3000 + b">\n",
    b"Subject: =?utf-8?q?" + b"=E2=80" * 50 + b"?=\n",
]


def inject(rng: random.Random, raw: bytes) -> bytes:
    at = rng.randrange(len(raw) + 1)
    return raw[:at] + rng.choice(INJECTIONS) + raw[at:]


def header_only(rng: random.Random, raw: bytes) -> bytes:
    head, _, _ = raw.partition(b"\n\n")
    return head + rng.choice([b"", b"\n", b"\n\n"])


MUTATIONS: list[Mutation] = [
    truncate,
    flip_bytes,
    delete_chunk,
    duplicate_chunk,
    swap_lines,
    inject,
    header_only,
]


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.glob("*.eml")))
async def test_mutated_mail_never_raises_undocumented_errors(name: str) -> None:
    raw = (CORPUS / name).read_bytes()
    rng = random.Random(f"{SEED}:{name}")
    outcomes = {"published": 0, "skipped": 0, "unparseable": 0}
    for _ in range(ROUNDS):
        mutated = raw
        for _ in range(rng.randint(1, 3)):
            mutated = rng.choice(MUTATIONS)(rng, mutated)
        try:
            message = await build_inbound(mutated, CTX, DigestBlobs())
        except Skip:
            outcomes["skipped"] += 1
            continue
        except UnparseableMail:
            outcomes["unparseable"] += 1
            continue
        dumped = message.model_dump_json()
        assert InboundMessage.model_validate_json(dumped) == message
        assert "\\u0000" not in dumped  # PostgreSQL text refuses NUL
        assert message.raw is not None and message.raw.size == len(mutated)
        assert len(message.text) <= CTX.max_body_chars
        outcomes["published"] += 1
    assert sum(outcomes.values()) == ROUNDS
    assert outcomes["published"] > 0, outcomes


async def test_random_bytes_never_raise_undocumented_errors() -> None:
    rng = random.Random(SEED)
    for _ in range(300):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 400)))
        if rng.random() < 0.5:
            data = b"From: x@example.com\n" + data
        try:
            await build_inbound(data, CTX, DigestBlobs())
        except (Skip, UnparseableMail):
            pass


@pytest.mark.parametrize(
    "content_type", ["text/plain; a*", "text/plain; charset*0*", "multipart/mixed; boundary*"]
)
async def test_header_parser_crashes_degrade_to_plain_headers(content_type: str) -> None:
    # The stdlib's header parser raises IndexError on these (found by the fuzz test).
    raw = f"From: a@example.com\nSubject: s\nContent-Type: {content_type}\n\nbody text\n"
    message = await build_inbound(raw.encode(), CTX, DigestBlobs())
    assert message.sender.email == "a@example.com"
    assert "body text" in message.text


async def test_nul_characters_never_reach_the_record() -> None:
    raw = (
        b"From: N\x00ul <nul@example.com>\nSubject: a\x00b\nContent-Type: multipart/alternative;"
        b' boundary="Q"\n\n--Q\nContent-Type: text/plain\n\nte\x00xt\n'
        b"--Q\nContent-Type: text/html\n\n<p>h\x00tml</p>\n--Q--\n"
    )
    message = await build_inbound(raw, CTX, DigestBlobs())
    dumped = message.model_dump_json()
    assert "\\u0000" not in dumped
    assert (message.subject, message.text, message.html) == ("ab", "text", "<p>html</p>")
    assert message.sender.display_name == "Nul"
