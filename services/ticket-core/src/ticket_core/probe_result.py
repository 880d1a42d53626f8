"""What a "Test connection" probe answers (``ProbeResult``) and what the probes share: a
network failure in plain words, the TLS context, a provider's answer as text, and a
blocking stdlib client run off the event loop."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    message: str


def tls_context(verify: bool = True, ca_file: str | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca_file)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def network_failure(exc: BaseException, where: str, timeout: float) -> ProbeResult:
    if isinstance(exc, TimeoutError | socket.timeout | httpx.TimeoutException):
        return ProbeResult(False, f"{where} did not answer within {timeout:g} s")
    if isinstance(exc, ssl.SSLError):
        return ProbeResult(False, f"TLS with {where} failed: {exc.reason or exc}")
    if isinstance(exc, ConnectionRefusedError):
        return ProbeResult(False, f"{where} refused the connection")
    if isinstance(exc, socket.gaierror):
        return ProbeResult(False, f"{where}: unknown host")
    if isinstance(exc, OSError):
        return ProbeResult(False, f"cannot reach {where}: {exc.strerror or type(exc).__name__}")
    if isinstance(exc, httpx.HTTPError):
        return ProbeResult(False, f"cannot reach {where}: {type(exc).__name__}")
    return ProbeResult(False, f"{where}: {type(exc).__name__}")


def text_of(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list | tuple):
        return " ".join(text_of(v) for v in value if v is not None)
    return str(value)


async def in_thread(work: Callable[[], ProbeResult], where: str, timeout: float) -> ProbeResult:
    """Blocking stdlib clients (their sockets carry the timeout) off the event loop."""
    try:
        return await asyncio.wait_for(asyncio.to_thread(work), timeout * 3 + 1)
    except (OSError, TimeoutError, ssl.SSLError) as exc:
        return network_failure(exc, where, timeout)
