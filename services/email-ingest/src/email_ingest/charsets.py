"""Bytes -> text for mail bodies and headers, degrading gracefully on broken charsets.

Order: the declared charset (strict), UTF-8 (strict), then the declared charset with
replacement characters if Python knows it and it is not UTF-8, else windows-1252 with
replacement. Text never fails to decode; it only gets worse.
"""

from __future__ import annotations

import codecs
import functools
import re

# Labels that real mail uses but Python's codec registry does not know (or knows as a
# narrower charset than the one mail clients actually send under that label).
_ALIASES: dict[str, str] = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "windows-874": "cp874",
    "x-mac-cyrillic": "mac_cyrillic",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
    "x-user-defined": "latin-1",
    "unicode-1-1-utf-7": "utf-7",
    "shift-jis": "cp932",
    "shift_jis": "cp932",
    "x-sjis": "cp932",
    "iso-2022-jp": "iso2022_jp_ext",
    "us-ascii": "utf-8",  # mislabelled 8-bit text is far more often UTF-8 than not
    "ascii": "utf-8",
    "ansi_x3.4-1968": "utf-8",
}
_FALLBACK = "cp1252"
_SURROGATE = re.compile("[\ud800-\udfff]")
_NOT_ESCAPED = re.compile("[\ud800-\udc7f\udd00-\udfff]")


@functools.lru_cache(maxsize=256)
def codec_for(label: str | None) -> str | None:
    """A Python codec name for a MIME charset label, or None when it is unknown."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    name = _ALIASES.get(name, name)
    try:
        codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    return name


def decode_bytes(data: bytes, declared: str | None = None) -> str:
    """Decode ``data`` that claims to be in ``declared``; never raises."""
    codec = codec_for(declared)
    for candidate in (codec, "utf-8"):
        if candidate is None:
            continue
        try:
            return data.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
    # A mislabelled UTF-8 body is most often windows-1252 (or latin-1) in disguise; any
    # other declared charset is kept, with replacement characters for its broken bytes.
    fallback = codec if codec and codecs.lookup(codec).name != "utf-8" else _FALLBACK
    return data.decode(fallback, errors="replace")


def has_surrogates(text: str) -> bool:
    return _SURROGATE.search(text) is not None


def clean(text: str) -> str:
    """Undo ``surrogateescape`` leftovers (raw 8-bit bytes in headers or bodies that the
    ``email`` package could not decode) so the text is valid Unicode for JSON, and drop
    NUL characters (which PostgreSQL text refuses)."""
    if "\x00" in text:  # PostgreSQL text cannot hold NUL characters
        text = text.replace("\x00", "")
    if not has_surrogates(text):
        return text
    data = text.encode("utf-8", errors="surrogateescape") if _escaped_only(text) else None
    if data is None:
        return text.encode("utf-8", errors="replace").decode("utf-8")
    return decode_bytes(data)


def _escaped_only(text: str) -> bool:
    return _NOT_ESCAPED.search(text) is None
