"""How many SMS a text takes (3GPP TS 23.038): GSM-7 or UCS-2, single or concatenated.

GSM-7: 160 characters in one SMS, 153 per part of a long one; characters of the
extension table (``^{}\\[~]|€`` and form feed) take two. UCS-2 (any other character,
Cyrillic included): 70 in one SMS, 67 per part; characters outside the BMP take two.
"""

from __future__ import annotations

import math

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = frozenset("^{}\\[~]|€\f")


def is_gsm7(text: str) -> bool:
    return all(c in GSM_BASIC or c in GSM_EXTENDED for c in text)


def encoding(text: str) -> str:
    return "GSM-7" if is_gsm7(text) else "UCS-2"


def units(text: str) -> int:
    """Length in the encoding's units (septets or UTF-16 code units)."""
    if is_gsm7(text):
        return sum(2 if c in GSM_EXTENDED else 1 for c in text)
    return len(text.encode("utf-16-le")) // 2


def segment_count(text: str) -> int:
    size = units(text)
    single, part = (160, 153) if is_gsm7(text) else (70, 67)
    if size <= single:
        return 1
    return math.ceil(size / part)
