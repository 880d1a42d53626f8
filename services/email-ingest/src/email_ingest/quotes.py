"""Cut quoted history (and the separator line our own replies carry) from a mail's text.

The cut happens at the earliest marker found:

- our separator line (``REPLY_SEPARATOR``, possibly ``>``-quoted);
- a reply header: "On <date>, <name> wrote:" (and its German, French, Spanish, Russian
  ... shapes, including Gmail wrapping it over two lines), Russian "... написал:" /
  "пишет:", Gmail-ru/Mail.ru "<date>, Name <addr>:";
- Outlook: "-----Original Message-----" (and translations), or a "From: / Sent:" header
  block (optionally after a line of underscores);
- a trailing block of ``>``-quoted lines.

A reply header followed by quoted lines that are then answered below (bottom-posting or
inline answers) is not cut. Forwarded mail keeps everything below our separator.
"""

from __future__ import annotations

import re

from helpdesk_common.email_markers import REPLY_SEPARATOR

__all__ = ["REPLY_SEPARATOR", "cut_point", "cut_quotes"]
# REPLY_SEPARATOR: the line the notifier puts at the top of outgoing mail (shared with it
# through helpdesk_common); a reply is cut above it.

_SEPARATOR = re.compile(r"^[>\s]*##-\s*.{0,120}?\s*-##\s*$")
_QUOTED = re.compile(r"^\s*>")
_WROTE = re.compile(
    r"^\s*(?:On|Am|Le|El|Il|Op|Den|W dniu|Dne)\s.{3,300}?"
    r"(?:wrote|schrieb|a écrit|escribió|ha scritto|schreef|skrev|napisał|napsal)\s*:\s*$",
    re.IGNORECASE,
)
# Shapes without a leading "On": only with a date (a digit) or quoted lines right below.
_WROTE_BARE = re.compile(
    r"^.{1,300}\s(?:написал\(\u0430\)|написала?|пишет|wrote|schrieb|a écrit)\s*:\s*$", re.IGNORECASE
)
_ADDR_COLON = re.compile(r"^.{0,200}\d.{0,200}<[^<>\s@]+@[^<>\s]+>\s*:\s*$")
_ORIGINAL = re.compile(
    r"^\s*-{2,}\s*(?:Original Message|Ursprüngliche Nachricht|Message d'origine|"
    r"Mensaje original|Messaggio originale|Oorspronkelijk bericht|Исходное сообщение|"
    r"Пересылаемое сообщение|Reply message)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_FROM = re.compile(r"^\s*\*?(?:From|Von|De|Da|Van|От|Från|Od)\s*:\*?\s*\S", re.IGNORECASE)
_SENT = re.compile(
    r"^\s*\*?(?:Sent|Date|Gesendet|Datum|Envoyé|Enviado|Inviato|Verzonden|Отправлено|Дата|"
    r"Skickat|Wysłano|Odesláno)\s*:\*?\s*\S",
    re.IGNORECASE,
)
_UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")


def _is_reply_header(lines: list[str], i: int) -> int:
    """How many lines the reply header at ``i`` spans (0: none)."""
    line = lines[i]
    if len(line) > 400 or not line.strip() or _QUOTED.match(line):
        return 0
    if line.rstrip().endswith(":"):
        if _WROTE.match(line) or _ADDR_COLON.match(line):
            return 1
        if _WROTE_BARE.match(line) and (any(c.isdigit() for c in line) or _next_quoted(lines, i)):
            return 1
        return 0
    if i + 1 < len(lines) and lines[i + 1].rstrip().endswith(":") and len(lines[i + 1]) < 400:
        joined = f"{line.rstrip()} {lines[i + 1].strip()}"
        if _WROTE.match(joined) or _ADDR_COLON.match(joined):
            return 2
    return 0


def _next_quoted(lines: list[str], i: int) -> bool:
    for line in lines[i + 1 : i + 4]:
        if line.strip():
            return bool(_QUOTED.match(line))
    return False


def _answered_flags(lines: list[str]) -> list[bool]:
    """``flags[i]``: unquoted text follows a quoted line somewhere at or after ``i``
    (a bottom-posted or inline answer), computed in one backward pass."""
    flags = [False] * (len(lines) + 1)
    unquoted_later = False
    for i in range(len(lines) - 1, -1, -1):
        line = lines[i]
        quoted = bool(_QUOTED.match(line))
        flags[i] = flags[i + 1] or (quoted and unquoted_later)
        if not quoted and line.strip() and not _SEPARATOR.match(line):
            unquoted_later = True
    return flags


def _outlook_block(lines: list[str], i: int) -> bool:
    if not _FROM.match(lines[i]):
        return False
    return any(_SENT.match(line) for line in lines[i + 1 : i + 4])


def _trailing_quote(lines: list[str]) -> int | None:
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    start = end
    while start and (_QUOTED.match(lines[start - 1]) or not lines[start - 1].strip()):
        start -= 1
    while start < end and not lines[start].strip():
        start += 1
    if start < end and _QUOTED.match(lines[start]):
        return start
    return None


def cut_point(lines: list[str], *, forwarded: bool = False) -> int | None:
    """Index of the first line of quoted history, or None when there is none."""
    answered: list[bool] | None = None
    for i, line in enumerate(lines):
        if _SEPARATOR.match(line):
            return i
        if forwarded:
            continue
        span = _is_reply_header(lines, i)
        if span:
            answered = answered or _answered_flags(lines)
            if not answered[i + span]:
                return i
        if _ORIGINAL.match(line):
            return i
        if _outlook_block(lines, i):
            return i - 1 if i and _UNDERSCORES.match(lines[i - 1]) else i
    if forwarded:
        return None
    return _trailing_quote(lines)


def cut_quotes(text: str, *, forwarded: bool = False) -> tuple[str, bool]:
    """``(text without quoted history, whether anything was cut)``."""
    lines = text.splitlines()
    point = cut_point(lines, forwarded=forwarded)
    if point is None:
        return text, False
    kept = "\n".join(lines[:point]).rstrip()
    return kept, True
