"""One correlation id follows a message from the webhook to the reply.

It rides in Kafka headers (``correlation_id``) and HTTP headers (``X-Correlation-ID``),
and is bound into structlog's context variables so every log line carries it.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import structlog

from .records import new_id

HTTP_HEADER = "X-Correlation-ID"
KAFKA_HEADER = "correlation_id"
SCHEMA_HEADER = "schema"
PRODUCER_HEADER = "produced_by"
ERROR_HEADER = "dlq_error"
SOURCE_HEADER = "dlq_source"

KafkaHeaders = Sequence[tuple[str, bytes]]


def header_value(headers: KafkaHeaders | None, name: str) -> str | None:
    for key, value in headers or ():
        if key == name:
            return value.decode("utf-8", "replace") if value is not None else None
    return None


def current() -> str | None:
    value = structlog.contextvars.get_contextvars().get("correlation_id")
    return str(value) if value else None


Tokens = Mapping[str, contextvars.Token[Any]]


def bind(correlation_id: str | None) -> tuple[str, Tokens]:
    """Bind a correlation id (a new one when none is given); ``reset`` the tokens after.
    (``bound`` as a block; this pair for hot paths such as the HTTP middleware.)"""
    cid = correlation_id or new_id()
    return cid, structlog.contextvars.bind_contextvars(correlation_id=cid)


def reset(tokens: Tokens) -> None:
    """Restore what was bound before ``bind`` (an outer id, or none)."""
    structlog.contextvars.reset_contextvars(**tokens)


@contextmanager
def bound(correlation_id: str | None) -> Iterator[str]:
    """Bind a correlation id (a new one when none is given) for the duration of a block."""
    cid, tokens = bind(correlation_id)
    try:
        yield cid
    finally:
        reset(tokens)
