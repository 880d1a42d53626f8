"""JSON logs through structlog, with the correlation id and without secrets or bodies."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable
from typing import Any

import structlog
import structlog.tracebacks

# Libraries that log secrets (tokens in URLs, auth headers) or full payloads at INFO.
_QUIET_LOGGERS = (
    "httpx",
    "httpcore",
    "twilio.http_client",
    "aiokafka",
    "faststream",
    "asyncio",
    "telegram",  # logs the API URL, token included, at DEBUG
    "vk_api",
    "aioimaplib",  # whole server responses (mail sources) at DEBUG
)
_REDACT_KEYS = frozenset({"password", "token", "secret", "authorization", "api_key", "body"})


def _redact(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    for key in list(event):
        if key.lower() in _REDACT_KEYS:
            event[key] = "[redacted]"
    return event


def configure(service: str, level: str = "INFO") -> None:
    """Route structlog and stdlib logging to one JSON stream on stderr.

    Our own (structlog) events are rendered by structlog and written straight to the
    root handler's stream, under its lock: no stdlib ``LogRecord`` and formatter per line
    (a third of a webhook's logging cost). Other libraries' stdlib records go through the
    handler's ``ProcessorFormatter``. Both give the same JSON fields."""
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]
    # Tracebacks as dicts, but without frame locals: they hold tokens and bodies.
    exceptions = structlog.processors.ExceptionRenderer(
        structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
    )
    render = [exceptions, _add_service(service), structlog.processors.JSONRenderer()]
    structlog.configure(
        processors=[*shared, *render],
        logger_factory=_HandlerLine.factory(handler),
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *render],
    )
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


class _HandlerLine:
    """structlog's output end: one rendered JSON line to the stream of the handler stdlib
    records go to (``setStream`` on it moves both), under the handler's lock."""

    def __init__(self, handler: logging.StreamHandler[Any], name: str) -> None:
        self._handler = handler
        self.name = name  # for ``add_logger_name``

    @classmethod
    def factory(cls, handler: logging.StreamHandler[Any]) -> Callable[..., _HandlerLine]:
        def make(*args: Any) -> _HandlerLine:
            return cls(handler, str(args[0]) if args else "")

        return make

    def msg(self, line: str) -> None:
        handler = self._handler
        with handler.lock or contextlib.nullcontext():
            handler.stream.write(line + handler.terminator)
            handler.flush()

    debug = info = warning = warn = error = critical = exception = fatal = msg


def _add_service(service: str) -> Any:
    def processor(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
        event.setdefault("service", service)
        return event

    return processor


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
