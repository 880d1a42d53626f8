"""Simple Calls wire format: XML documents, base64-framed over ``ws://``, plain over
``wss://``, a trailing NUL stripped. Server events are ``<Event type=".." .../>``;
client requests ``<Request><ProtocolVersion>1</ProtocolVersion><Method>Call</Method>
<RequestID>n</RequestID><Data><From>101</From><To>...</To></Data></Request>``.
"""

from __future__ import annotations

import base64
import binascii
from xml.etree import ElementTree
from xml.sax.saxutils import escape


class BadFrame(ValueError):
    pass


def decode(frame: str | bytes, *, base64_framed: bool) -> str:
    raw = frame.encode() if isinstance(frame, str) else frame
    if base64_framed:
        try:
            raw = base64.b64decode(raw.strip(), validate=False)
        except (binascii.Error, ValueError) as exc:
            raise BadFrame(f"not base64: {exc}") from exc
    return raw.decode("utf-8", "replace").rstrip("\0").strip()


def encode(xml: str, *, base64_framed: bool) -> str:
    return base64.b64encode(xml.encode()).decode("ascii") if base64_framed else xml


def parse_event(xml: str) -> dict[str, str] | None:
    """The attributes of an ``<Event/>`` (None for any other document)."""
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError as exc:
        raise BadFrame(f"not XML: {exc}") from exc
    if root.tag != "Event":
        return None
    return {k: v for k, v in root.attrib.items()}


def call_request(request_id: int, extension: str, to: str) -> str:
    return (
        "<Request><ProtocolVersion>1</ProtocolVersion><Method>Call</Method>"
        f"<RequestID>{request_id}</RequestID><Data><From>{escape(extension)}</From>"
        f"<To>{escape(to)}</To></Data></Request>"
    )
