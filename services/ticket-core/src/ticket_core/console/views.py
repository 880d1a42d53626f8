"""Presentation: how rows become what the templates print. Pure functions (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import nh3

CHANNELS: dict[str, tuple[str, str]] = {  # channel: (label, icon)
    "email": ("Email", "\u2709"),
    "telegram": ("Telegram", "\u2708"),
    "viber": ("Viber", "\u260e"),
    "vk": ("VK", "\u24cb"),
    "sms": ("SMS", "\u2709"),
    "phone": ("Call", "\u260f"),
    "webform": ("Web form", "\u2302"),
}
# Where an agent can answer (a web-form ticket is answered by email; calls cannot be).
REPLY_CHANNELS = ("email", "sms", "telegram", "viber", "vk")
KINDS = {
    "customer": "Customer",
    "public_reply": "Reply",
    "internal_note": "Internal note",
    "system": "System",
    "call": "Call",
}
RATINGS = {
    "good": ("\U0001f60a", "Good"),
    "neutral": ("\U0001f610", "Neutral"),
    "bad": ("\U0001f641", "Bad"),
}

_URL_SCHEMES = {"http", "https", "mailto", "tel"}
_ATTRIBUTES: dict[str, set[str]] = {
    **{tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()},
    "td": {"colspan", "rowspan", "align", "valign"},
    "th": {"colspan", "rowspan", "align", "valign"},
}
_ATTRIBUTES.pop("img", None)  # no images: remote ones track the reader, CSP blocks them anyway


def safe_html(html: str) -> str:
    """Customer HTML as the console shows it: sanitised again at display time (whatever
    the ingest stored), no scripts, handlers, styles, forms, frames or images."""
    tags = set(nh3.ALLOWED_TAGS) - {"img"}
    return nh3.clean(
        html,
        tags=tags,
        attributes={k: v for k, v in _ATTRIBUTES.items() if k in tags},
        url_schemes=_URL_SCHEMES,
        clean_content_tags={"script", "style", "template", "noscript", "title"},
        strip_comments=True,
        link_rel="noopener noreferrer nofollow",
    )


def channel_label(channel: str) -> str:
    return CHANNELS.get(channel, (channel, "?"))[0]


def channel_icon(channel: str) -> str:
    return CHANNELS.get(channel, (channel, "?"))[1]


def default_reply_channel(ticket_channel: str) -> str:
    return ticket_channel if ticket_channel in REPLY_CHANNELS else "email"


def is_bold(row: dict[str, Any]) -> bool:
    """New (nobody has answered yet) or waiting on us (the last message is the customer's)."""
    if row.get("status") == "closed":
        return False
    return row.get("first_response_at") is None or row.get("last_kind") == "customer"


@dataclass(frozen=True)
class Countdown:
    text: str
    state: str  # ok | late | paused | none
    due: datetime | None
    target: str  # reaction | resolution | ""


def _span(seconds: float) -> str:
    minutes = int(abs(seconds) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {mins}m"
    return f"{mins}m"


def sla_countdown(row: dict[str, Any], now: datetime) -> Countdown:
    """The next SLA target of the ticket: the reaction until someone answered, then the
    resolution; paused while Pending; nothing once resolved."""
    if row.get("status") in {"resolved", "closed"}:
        return Countdown("", "none", None, "")
    target, due = "resolution", row.get("resolution_due_at")
    if row.get("first_response_at") is None and row.get("reaction_due_at") is not None:
        target, due = "reaction", row["reaction_due_at"]
    if due is None:
        return Countdown("", "none", None, "")
    if row.get("status") == "pending" and target == "resolution":
        paused_at = row.get("sla_paused_at") or now
        left = (due - paused_at).total_seconds()
        return Countdown(f"paused, {_span(left)} left", "paused", None, target)
    left = (due - now).total_seconds()
    if left < 0:
        return Countdown(f"{target} overdue {_span(left)}", "late", due, target)
    return Countdown(f"{target} in {_span(left)}", "ok", due, target)


def attachment_links(ticket_id: int, attachments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The message's files with their REST download paths (stored ones only)."""
    return file_links(attachments, f"/api/v1/tickets/{ticket_id}/attachments/")


def file_links(attachments: list[dict[str, Any]], download_path: str) -> list[dict[str, Any]]:
    """A message's files: name, size, ``download_path`` + sha256 for a stored file (None
    otherwise) and why a file was not stored (``skipped``). The console and the portal
    each give their own download path."""
    found = []
    for item in attachments:
        blob = item.get("blob") or {}
        sha = blob.get("sha256") if isinstance(blob, dict) else None
        found.append(
            {
                "filename": str(item.get("filename") or "attachment"),
                "size": int(item.get("size") or 0),
                "url": f"{download_path}{sha}" if sha else None,
                "skipped": item.get("skipped_reason"),
            }
        )
    return found


def size_text(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} B"
