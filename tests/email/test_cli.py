"""``email-ingest parse``: one JSON line per file, run as the installed command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from helpdesk_common.records import InboundMessage

CORPUS = Path(__file__).parent / "corpus"


def command() -> list[str]:
    script = Path(sys.executable).parent / "email-ingest"
    return [str(script)] if script.exists() else [sys.executable, "-m", "email_ingest.cli"]


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*command(), *args], input=stdin, capture_output=True, timeout=120, check=False
    )


def test_every_corpus_file_gives_one_line(tmp_path: Path) -> None:
    files = sorted(CORPUS.glob("*.eml"))
    empty = tmp_path / "empty.eml"
    empty.write_bytes(b"")
    missing = tmp_path / "missing.eml"
    args = [*map(str, files), str(empty), str(missing)]
    result = run("parse", "--own", "support@example.com", *args)
    assert result.returncode == 0, result.stderr.decode()
    lines = result.stdout.decode().splitlines()
    assert len(lines) == len(args)
    by_file = dict(zip(args, (json.loads(line) for line in lines), strict=True))

    assert by_file[str(empty)] == {"file": str(empty), "error": "UnparseableMail: empty input"}
    assert by_file[str(missing)]["file"] == str(missing)
    assert by_file[str(missing)]["error"].startswith("FileNotFoundError")
    loop = by_file[str(CORPUS / "loop-own-address.eml")]
    assert loop == {
        "file": str(CORPUS / "loop-own-address.eml"),
        "skipped": "loop: mail from our own address support@example.com",
    }
    published = [
        (name, record)
        for name, record in by_file.items()
        if "file" not in record and "error" not in record
    ]
    assert len(published) == len(files) - 1
    for name, record in published:
        message = InboundMessage.model_validate(record)
        raw = Path(name).read_bytes()
        assert message.raw is not None and message.raw.size == len(raw)
        assert message.channel_account == "cli"

    gmail = InboundMessage.model_validate(by_file[str(CORPUS / "reply-gmail.eml")])
    assert gmail.text == "Yes, I can log in now. Thank you!"
    assert gmail.thread.ticket_number == 10025
    bounce = InboundMessage.model_validate(by_file[str(CORPUS / "bounce-dsn-postfix.eml")])
    assert bounce.is_bounce and bounce.bounce is not None
    assert bounce.bounce.original_message_id == "<f6.t10040@helpdesk.example.com>"


def test_options_account_attachment_limit_and_blob_dir(tmp_path: Path) -> None:
    blob_dir = tmp_path / "blobs"
    mail = CORPUS / "attachment-oversized.eml"
    result = run(
        "parse",
        "--account",
        "sales",
        "--max-attachment-bytes",
        "50000",
        "--blob-dir",
        str(blob_dir),
        str(mail),
    )
    assert result.returncode == 0, result.stderr.decode()
    (line,) = result.stdout.decode().splitlines()
    message = InboundMessage.model_validate_json(line)
    assert message.channel_account == "sales"
    scan, small = message.attachments
    assert scan.blob is None and scan.skipped_reason is not None
    assert small.blob is not None
    raw = message.raw
    assert raw is not None
    stored = blob_dir / raw.sha256[:2] / raw.sha256[2:4] / raw.sha256
    assert stored.read_bytes() == mail.read_bytes()


def test_stdin_and_no_logs_on_stdout() -> None:
    raw = (CORPUS / "charset-koi8r.eml").read_bytes()
    result = run("parse", "--log-level", "DEBUG", "-", stdin=raw)
    assert result.returncode == 0
    (line,) = result.stdout.decode().splitlines()
    assert InboundMessage.model_validate_json(line).subject == "Нет интернета"


def test_usage_errors_exit_non_zero() -> None:
    assert run().returncode == 2
    assert run("parse").returncode == 2
