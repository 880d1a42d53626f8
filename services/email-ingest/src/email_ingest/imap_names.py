"""Mailbox names on the wire: IMAP's modified UTF-7 (RFC 3501 section 5.1.3), quoted."""

from __future__ import annotations

import base64


def _b64(chunk: str) -> str:
    data = chunk.encode("utf-16-be")
    return base64.b64encode(data).decode("ascii").rstrip("=").replace("/", ",")


def encode_mailbox(name: str) -> str:
    """``Обработано`` -> ``&BB4EMQRABDAEMQQ+BEIEMAQ9BD4-``; ``&`` -> ``&-``."""
    out: list[str] = []
    pending: list[str] = []
    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            if pending:
                out.append("&" + _b64("".join(pending)) + "-")
                pending.clear()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    if pending:
        out.append("&" + _b64("".join(pending)) + "-")
    return "".join(out)


def quote(text: str) -> str:
    """An IMAP quoted string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def mailbox_arg(name: str) -> str:
    """A mailbox name ready to be a command argument."""
    return quote(encode_mailbox(name))
