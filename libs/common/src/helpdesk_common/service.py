"""Process wiring shared by every service: a FastAPI app whose lifespan runs the broker.

Shutdown (SIGTERM or Ctrl-C): uvicorn stops accepting requests and lets in-flight ones
finish, then the lifespan stops the service's own tasks and the broker, which waits up
to ``graceful_timeout`` for in-flight batches to finish and commit, then closes.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from fastapi import APIRouter, FastAPI
from fastapi.telemetry import TelemetryConfig
from faststream.kafka import KafkaBroker
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import correlation, logs
from .direct_routes import DirectRoutes
from .health import Readiness, health_router
from .settings import ServiceSettings

Hook = Callable[[], Awaitable[None]]
_NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}
log = logs.get_logger(__name__)


def build_app(
    settings: ServiceSettings,
    broker: KafkaBroker,
    *,
    readiness: Readiness,
    on_startup: Sequence[Hook] = (),
    on_stopping: Sequence[Hook] = (),
    on_shutdown: Sequence[Hook] = (),
    routers: Sequence[APIRouter] = (),
    direct_routes: Sequence[BaseRoute] = (),
) -> FastAPI:
    """``on_startup`` hooks run once the broker is connected; ``on_stopping`` while it still
    runs (stop producers of work that publish); ``on_shutdown`` after it stopped.
    ``direct_routes`` (Starlette routes) are answered ahead of FastAPI's router
    (``direct_routes.py``): for hot endpoints."""

    async def broker_ready() -> bool:
        return await broker.ping(timeout=2.0)

    readiness.add("broker", broker_ready)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await broker.start()
        for hook in on_startup:
            await hook()
        readiness.started = True
        log.info("service_started", port=settings.http_port)
        try:
            yield
        finally:
            readiness.started = False
            log.info("service_stopping")
            for hook in on_stopping:
                await hook()
            await broker.stop()
            for hook in on_shutdown:
                await hook()
            log.info("service_stopped")

    # FastAPI's native OpenTelemetry asks the OTel API on every request whether a provider
    # is configured; none is (the services do not use OpenTelemetry): off.
    app = FastAPI(title=settings.service_name, lifespan=lifespan, telemetry=_NO_TELEMETRY)
    app.include_router(health_router(readiness))
    for router in routers:
        app.include_router(router)

    if direct_routes:  # inside the correlation id middleware (added after: outermost)
        app.add_middleware(DirectRoutes, routes=direct_routes)
    app.add_middleware(CorrelationIdMiddleware)
    return app


class CorrelationIdMiddleware:
    """Binds the request's ``X-Correlation-ID`` (or a new one) for the request and echoes it
    on the response. Plain ASGI: Starlette's ``BaseHTTPMiddleware`` costs an extra task and
    a response copy per request, which the gateway's profile showed; the header is found
    and set on the raw ASGI lists (names are lower-case there)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = None
        for name, value in scope["headers"]:
            if name == _HEADER_NAME:
                given = value.decode("latin-1")
                break
        cid, tokens = correlation.bind(given)
        echoed = (_HEADER_NAME, cid.encode("latin-1"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", ()) if h[0].lower() != _HEADER_NAME]
                headers.append(echoed)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            correlation.reset(tokens)


_HEADER_NAME = correlation.HTTP_HEADER.lower().encode("latin-1")


def run(app: FastAPI, settings: ServiceSettings) -> None:
    """Serve until SIGTERM/SIGINT, then shut down gracefully. With ``http_reuse_port`` the
    port is bound with SO_REUSEPORT: run several processes on it (scale-out on one host)."""
    options: dict[str, Any] = {
        "host": settings.http_host,
        "port": settings.http_port,
        "log_config": None,
        "access_log": False,
        "timeout_graceful_shutdown": int(settings.graceful_timeout_seconds),
        "timeout_keep_alive": settings.http_keepalive_seconds,
    }
    if not settings.http_reuse_port:
        uvicorn.run(app, **options)
        return
    server = uvicorn.Server(uvicorn.Config(app, **options))
    server.run(sockets=[reuse_port_socket(settings.http_host, settings.http_port)])
    if not server.started:
        sys.exit(3)  # uvicorn's startup-failure status


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A listening-ready TCP socket bound with SO_REUSEADDR and SO_REUSEPORT."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock
