"""Corpora for the email parsing benchmark (``bench.email_parse``).

- ``build_corpus``: copies of the fixture corpus in ``tests/email/corpus``, each with its
  own Message-ID, MIME boundaries, Date and a sequence header, so nothing is cached
  across copies that would not be in real mail;
- ``build_large``: generated replies of a realistic size (multipart/alternative with a
  long quoted history in text and HTML; a third with a PDF-sized attachment, a quarter
  in windows-1251), 10-300 KB each.
"""

from __future__ import annotations

import random
import re
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS_DIR = ROOT / "tests" / "email" / "corpus"

_BOUNDARY = re.compile(rb'boundary="?([^";\s]+)"?', re.IGNORECASE)
_MESSAGE_ID = re.compile(rb"^(Message-ID:\s*<)([^>]*)(>)", re.IGNORECASE | re.MULTILINE)
_DATE = re.compile(rb"^(Date:[^\n]*?\d\d:\d\d:)(\d\d)", re.IGNORECASE | re.MULTILINE)


def vary(raw: bytes, seq: int) -> bytes:
    """A copy of ``raw`` that another mail could be: new ids, boundaries and date."""
    for boundary in set(_BOUNDARY.findall(raw)):
        fresh = boundary + b"=_" + str(seq).encode()
        raw = raw.replace(b'boundary="' + boundary + b'"', b'boundary="' + fresh + b'"')
        raw = raw.replace(b"boundary=" + boundary, b"boundary=" + fresh)
        delimiter = re.compile(rb"(?m)^--" + re.escape(boundary) + rb"(?=--|\s|$)")
        raw = delimiter.sub(b"--" + fresh.replace(b"\\", b"\\\\"), raw)
    raw = _MESSAGE_ID.sub(lambda m: m.group(1) + b"%d." % seq + m.group(2) + m.group(3), raw)
    raw = _DATE.sub(lambda m: m.group(1) + b"%02d" % (seq % 60), raw, count=1)
    return b"X-Bench-Seq: %d\n" % seq + raw


def build_corpus(n: int, corpus_dir: Path = CORPUS_DIR) -> list[bytes]:
    files = [p.read_bytes() for p in sorted(corpus_dir.glob("*.eml"))]
    if not files:
        raise SystemExit(f"no .eml files in {corpus_dir}")
    return [vary(files[i % len(files)], i) for i in range(n)]


_WORDS = (
    "printer invoice delivery account password server network please thanks order refund "
    "contract update office meeting schedule error screen access support request issue"
).split()
_WORDS_RU = "принтер счёт доставка пароль сервер сеть спасибо заказ договор ошибка".split()


def _sentence(rng: random.Random, words: list[str]) -> str:
    return " ".join(rng.choice(words) for _ in range(rng.randint(6, 16))).capitalize() + "."


def large_mail(seq: int, rng: random.Random) -> bytes:
    """A realistic customer reply: long quoted history in text and HTML, maybe a file."""
    russian = seq % 4 == 0
    words = _WORDS_RU if russian else _WORDS
    answer = [_sentence(rng, words) for _ in range(rng.randint(3, 12))]
    history = [_sentence(rng, words) for _ in range(rng.randint(40, 400))]
    msg = EmailMessage()
    msg["From"] = f"Customer {seq} <customer{seq}@client{seq % 97}.example>"
    msg["To"] = "Support <support@example.com>"
    msg["Cc"] = f"boss{seq % 13}@client{seq % 97}.example"
    msg["Subject"] = f"RE: [#{10000 + seq}] " + " ".join(rng.choice(words) for _ in range(5))
    msg["Date"] = "Mon, 02 Nov 2026 10:15:00 +0300"
    msg["Message-ID"] = f"<large-{seq}@client.example>"
    msg["In-Reply-To"] = f"<out-{seq}@helpdesk.example.com>"
    msg["References"] = " ".join(f"<ref-{seq}-{i}@client.example>" for i in range(5))
    charset = "windows-1251" if russian else "utf-8"
    text = (
        "\n".join(answer)
        + "\n\n________________________________\nFrom: Support <support@example.com>\n"
        + "Sent: Monday, November 2, 2026 9:00 AM\nSubject: [#1] Request\n\n"
        + "\n".join(history)
    )
    msg.set_content(text, charset=charset)
    rows = "".join(
        f"<tr><td style='padding:4px'>{i}</td><td>{line}</td></tr>"
        for i, line in enumerate(history[:40])
    )
    html = (
        "<html><head><style>td {font-family: Calibri}</style></head><body>"
        + "".join(f"<p class=MsoNormal>{line}</p>" for line in answer)
        + "<hr><div id=divRplyFwdMsg><b>From:</b> Support<br><b>Sent:</b> Monday</div>"
        + f"<blockquote>{''.join(f'<div>{line}</div>' for line in history)}"
        + f"<table border=1>{rows}</table></blockquote></body></html>"
    )
    msg.add_alternative(html, subtype="html", charset=charset)
    if seq % 3 == 0:
        blob = rng.randbytes(rng.randint(20_000, 200_000))
        msg.add_attachment(blob, maintype="application", subtype="pdf", filename=f"scan{seq}.pdf")
    return msg.as_bytes()


def build_large(n: int, seed: int = 9) -> list[bytes]:
    rng = random.Random(seed)
    return [large_mail(i, rng) for i in range(n)]
