"""MIME parsing: raw bytes -> ``EmailMessage``, decoded headers, body texts and files.

Parsing uses the stdlib ``email`` package with ``email.policy.default``, cloned with a
memoising header factory: the structural MIME headers (Content-Type and friends) repeat
across parts and mails, and the modern policy re-parses a header on every access, which
otherwise costs most of the parse time. The parsed objects are the ones the default
policy gives. Nothing here raises on malformed structure; only input that is not an email
at all raises ``UnparseableMail``.
"""

from __future__ import annotations

import email
import email.header
import email.policy
import email.utils
import functools
import re
from dataclasses import dataclass, field
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage, Message
from typing import Any, cast

from .charsets import clean, decode_bytes
from .mail import MailPart, UnparseableMail

MAX_DEPTH = 30
MAX_PARTS = 1000
_CACHED_HEADERS = frozenset(
    {"content-type", "content-disposition", "content-transfer-encoding", "mime-version"}
)
_MAIL_HEADERS = frozenset(
    {
        "from", "to", "cc", "subject", "date", "message-id", "received", "return-path",
        "mime-version", "content-type", "sender", "reply-to", "in-reply-to", "references",
        "delivered-to", "x-mailer", "user-agent", "auto-submitted",
    }
)  # fmt: skip


class _CachingHeaderRegistry(HeaderRegistry):
    """Memoises the structural MIME headers, and falls back to an unstructured header
    when the stdlib's header parser trips on hostile input (it can raise IndexError)."""

    def __init__(self) -> None:
        super().__init__()
        self._cached = functools.lru_cache(maxsize=4096)(super().__call__)
        self._classes: dict[str, type[BaseHeader]] = {}
        self._plain = self[""]  # the default (unstructured) header class

    def __getitem__(self, name: str) -> type[BaseHeader]:
        # The stdlib builds a new class with type() on every header it parses; once a name.
        key = name.lower()
        cls = self._classes.get(key)
        if cls is None:
            cls = self._classes[key] = super().__getitem__(key)
        return cls

    def __call__(self, name: str, value: str) -> BaseHeader:
        try:
            if name.lower() in _CACHED_HEADERS:
                header: BaseHeader = self._cached(name, value)
                return header
            return super().__call__(name, value)
        except Exception:
            try:
                return self._plain(name, value)
            except Exception:
                return self._plain(name, "")


_REGISTRY = _CachingHeaderRegistry()
POLICY = email.policy.default.clone(header_factory=_REGISTRY)
# Writing a parsed part back out must not refold its headers: CPython 3.11's folding of
# MIME parameters (_fold_mime_parameters) can loop forever on a hostile header (found by
# fuzz/mime.py), which would hang the poller and, after the lease moved, the next one.
UNFOLDED = POLICY.clone(max_line_length=None)


def clear_header_cache() -> None:
    """Forget memoised headers (benchmarks measure cold, as a stream of new mail is)."""
    _REGISTRY._cached.cache_clear()


def parse_bytes(raw: bytes) -> EmailMessage:
    """Parse raw RFC 822 bytes; raise ``UnparseableMail`` for input that is not mail."""
    if not raw or not raw.strip():
        raise UnparseableMail("empty input")
    msg = email.message_from_bytes(raw, policy=POLICY)
    if not any(name.lower() in _MAIL_HEADERS for name in msg.keys()):
        raise UnparseableMail("no mail header block (not an RFC 822 message)")
    return msg


def raw_headers(msg: Message) -> dict[str, str]:
    """The first raw (undecoded) value of every header, by lower-case name."""
    index: dict[str, str] = {}
    for key, value in msg.raw_items():
        index.setdefault(key.lower(), str(value))
    return index


def _raw_value(msg: Message, name: str) -> str | None:
    lname = name.lower()
    for key, value in msg.raw_items():
        if key.lower() == lname:
            return str(value)
    return None


def _decode_rfc2047(value: str) -> str:
    try:
        chunks = email.header.decode_header(value)
    except Exception:
        return value
    out = []
    for chunk, charset in chunks:
        if isinstance(chunk, bytes):
            out.append(decode_bytes(chunk, charset))
        else:
            out.append(chunk)
    return "".join(out)


def header_text(msg: Message, name: str) -> str:
    """The decoded, unfolded value of the first ``name`` header, or ``""``."""
    try:
        value: Any = msg.get(name)
    except Exception:  # the header parser can trip on hostile input: decode it plainly
        raw = _raw_value(msg, name)
        value = _decode_rfc2047(raw) if raw is not None else None
    if value is None:
        return ""
    text = clean(str(value))
    if "\n" in text or "\r" in text:
        text = " ".join(text.split())
    return text.strip()


def header_raw(msg: Message, name: str) -> str:
    """The undecoded value of the first ``name`` header (for ids and tokens), or ``""``."""
    value = _raw_value(msg, name)
    return clean(value).strip() if value is not None else ""


def header_addresses(msg: Message, name: str) -> list[tuple[str, str]]:
    """``(display name, address)`` pairs from every ``name`` header; addresses lower case.

    Parsed with ``email.utils.getaddresses`` on the raw values and display names decoded
    afterwards: many times faster than the header registry's address parser, and it
    takes whatever broken shapes real mail has."""
    lname = name.lower()
    raws = [str(v) for k, v in msg.raw_items() if k.lower() == lname]
    if not raws:
        return []
    pairs = _simple_addresses(raws)
    if pairs is None:
        try:
            pairs = email.utils.getaddresses(raws)
        except Exception:  # pragma: no cover - getaddresses is lenient
            return []
    result = []
    for display, address in pairs:
        address = clean(address).strip().strip("<>").lower()
        if "@" in address and len(address) <= 320 and " " not in address:
            if "=?" in display:
                display = _decode_rfc2047(display)
            result.append((" ".join(clean(display).split())[:512], address))
    return result


_MIME_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")


_NAMED = re.compile(r"^\s*([^<>]*?)\s*<([^<>\s]+)>\s*$")
_BARE = re.compile(r"^\s*<?([^<>\s]+)>?\s*$")


def _simple_addresses(raws: list[str]) -> list[tuple[str, str]] | None:
    """The common shapes (``a@b``, ``Name <a@b>``, lists of them) without the general
    parser; None when anything needs it (quotes, comments, groups, escapes)."""
    pairs: list[tuple[str, str]] = []
    for raw in raws:
        if any(c in raw for c in '"();:\\'):
            return None
        for item in raw.split(","):
            if not item.strip():
                continue
            match = _NAMED.match(item)
            if match:
                pairs.append((match.group(1), match.group(2)))
                continue
            bare = _BARE.match(item)
            if bare is None:
                return None
            pairs.append(("", bare.group(1)))
    return pairs


def content_type(part: Message) -> str:
    """The part's MIME type; a mangled one is ``text/plain`` (RFC 2045's default)."""
    try:
        ctype = part.get_content_type()
    except Exception:
        return "text/plain"
    return ctype if _MIME_TYPE.match(ctype) else "text/plain"


def part_text(part: Message) -> str:
    """The decoded text of a leaf part, whatever its charset and transfer encoding."""
    data = part_bytes(part)
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    return decode_bytes(data, charset)


def part_bytes(part: Message) -> bytes:
    """The transfer-decoded payload of a leaf part (bad base64 decodes leniently)."""
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    payload = part.get_payload()
    if isinstance(payload, str):
        return payload.encode("utf-8", errors="surrogateescape")
    return b""


def message_bytes(part: Message) -> bytes:
    """The bytes of a ``message/*`` part's content (an attached mail, a DSN block)."""
    payload = part.get_payload()
    if not isinstance(payload, list):
        return part_bytes(part)
    chunks = []
    for sub in payload:
        if not isinstance(sub, Message):
            continue
        try:
            chunks.append(sub.as_bytes(policy=UNFOLDED))
        except Exception:
            try:
                chunks.append(sub.as_string(policy=UNFOLDED).encode("utf-8", errors="replace"))
            except Exception:
                continue
    return b"\n".join(chunks)


@dataclass
class Body:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    parts: list[MailPart] = field(default_factory=list)


def collect_body(msg: Message) -> Body:
    """Walk the MIME tree: body texts (plain and HTML) and every file part."""
    body = Body()
    _walk(msg, body, 0, [0])
    return body


def _walk(part: Message, body: Body, depth: int, count: list[int]) -> None:
    count[0] += 1
    if depth > MAX_DEPTH or count[0] > MAX_PARTS:
        return
    ctype = content_type(part)
    if ctype.startswith("message/"):
        body.parts.append(_file_part(part, ctype, message_bytes(part), _filename(part)))
        return
    if part.is_multipart():
        children = [c for c in cast(list[Message], part.get_payload()) if isinstance(c, Message)]
        if ctype == "multipart/alternative":
            _walk_alternative(children, body, depth, count)
        else:
            for child in children:
                _walk(child, body, depth + 1, count)
        return
    if ctype.startswith("multipart/"):  # no usable boundary: keep whatever text is there
        body.plain.append(part_text(part))
        return
    filename = _filename(part)
    disposition = _disposition(part)
    if ctype in ("text/plain", "text/html") and disposition != "attachment" and not filename:
        (body.plain if ctype == "text/plain" else body.html).append(part_text(part))
        return
    body.parts.append(_file_part(part, ctype, part_bytes(part), filename))


def _walk_alternative(children: list[Message], body: Body, depth: int, count: list[int]) -> None:
    subs = []
    for child in children:
        sub = Body()
        _walk(child, sub, depth + 1, count)
        subs.append(sub)
        body.parts.extend(sub.parts)
    body.plain.extend(next((s.plain for s in subs if s.plain), []))
    body.html.extend(next((s.html for s in reversed(subs) if s.html), []))


def _disposition(part: Message) -> str | None:
    try:
        return part.get_content_disposition()
    except Exception:
        return None


def _filename(part: Message) -> str:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    if not name:
        return ""
    name = clean(_decode_rfc2047(str(name)) if "=?" in str(name) else str(name))
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name[:1024]


def _file_part(part: Message, ctype: str, data: bytes, filename: str = "") -> MailPart:
    if not filename and ctype in ("message/rfc822", "message/global"):
        inner = part.get_payload()
        first = inner[0] if isinstance(inner, list) and inner else None
        subject = header_text(first, "subject") if isinstance(first, Message) else ""
        filename = (subject or "message")[:200] + ".eml"
    cid = header_text(part, "content-id").strip("<> ") or None
    return MailPart(filename=filename, content_type=ctype, data=data, inline_cid=cid)
