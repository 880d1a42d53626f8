"""``email-ingest parse FILE [FILE ...]``: the inbound filter chain on raw RFC 822 files.

No broker and no database: each file goes through the same ``build_inbound`` the IMAP
poller uses, with a blob store that only computes digests (or a real directory with
``--blob-dir``), and one JSON line per file is printed: the ``InboundMessage`` as it
would be published, ``{"file": ..., "skipped": reason}`` for mail the chain skips (a
loop), or ``{"file": ..., "error": ...}`` for input it cannot use. The exit status is 0
as long as every file produced a line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from helpdesk_common import logs
from helpdesk_common.blobstore import BlobStore, FilesystemBlobStore, digest
from helpdesk_common.records import BlobRef

from .context import MailboxContext
from .pipeline import Skip, build_inbound


class DigestBlobStore:
    """A blob store that stores nothing: it only names the bytes by their SHA-256."""

    async def put(self, data: bytes, content_type: str = "application/octet-stream") -> BlobRef:
        return BlobRef(sha256=digest(data), size=len(data), content_type=content_type)

    async def get(self, sha256: str) -> bytes:
        raise KeyError(sha256)

    async def exists(self, sha256: str) -> bool:
        return False


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="email-ingest", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    parse = commands.add_parser("parse", help="run the inbound filter chain on .eml files")
    parse.add_argument("files", nargs="+", metavar="FILE", help="raw RFC 822 file ('-': stdin)")
    parse.add_argument("--account", default="cli", help="channel account (default: cli)")
    parse.add_argument(
        "--own", action="append", default=[], metavar="ADDRESS",
        help="one of our own addresses (mail from it is a loop); repeatable",
    )  # fmt: skip
    parse.add_argument(
        "--max-attachment-bytes", type=int, default=MailboxContext.max_attachment_bytes
    )
    parse.add_argument("--token-pattern", default=MailboxContext.ticket_token_pattern)
    parse.add_argument("--blob-dir", type=Path, help="store blobs in this directory")
    parse.add_argument("--indent", type=int, default=None, help="pretty-print the JSON")
    parse.add_argument("--log-level", default="WARNING", help="logs go to stderr (default WARNING)")
    return parser


def _read(name: str) -> bytes:
    return sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()


async def parse_one(name: str, ctx: MailboxContext, blobs: BlobStore, indent: int | None) -> str:
    """One output line for one file; never raises."""
    try:
        raw = _read(name)
        message = await build_inbound(raw, ctx, blobs)
    except Skip as skip:
        return json.dumps({"file": name, "skipped": str(skip)}, ensure_ascii=False)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        return json.dumps({"file": name, "error": error}, ensure_ascii=False)
    return message.model_dump_json(indent=indent)


async def _parse_all(args: argparse.Namespace) -> int:
    ctx = MailboxContext(
        channel_account=args.account,
        own_addresses=frozenset(a.lower() for a in args.own),
        max_attachment_bytes=args.max_attachment_bytes,
        ticket_token_pattern=args.token_pattern,
    )
    blobs: BlobStore = FilesystemBlobStore(args.blob_dir) if args.blob_dir else DigestBlobStore()
    for name in args.files:
        line = await parse_one(name, ctx, blobs, args.indent)
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logs.configure("email-ingest-cli", args.log_level)  # JSON logs on stderr, stdout stays data
    if args.command == "parse":
        return asyncio.run(_parse_all(args))
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
