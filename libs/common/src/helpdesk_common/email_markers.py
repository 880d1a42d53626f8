"""Markers shared by outgoing mail (notifier) and incoming mail parsing (email-ingest)."""

from __future__ import annotations

REPLY_SEPARATOR = "##- Please type your reply above this line -##"
"""Put at the top of every mail we send; everything from it down is cut from an answer."""
