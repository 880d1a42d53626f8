"""``/healthz`` (the process serves), ``/readyz`` (its dependencies answer) and ``/metrics``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

Check = Callable[[], Awaitable[bool]]


class Readiness:
    """Named dependency checks; ready only when every check passes within its timeout."""

    def __init__(self, timeout_seconds: float = 2.0) -> None:
        self._checks: dict[str, Check] = {}
        self._timeout = timeout_seconds
        self.started = False

    def add(self, name: str, check: Check) -> None:
        self._checks[name] = check

    async def _run(self, check: Check) -> bool:
        try:
            return await asyncio.wait_for(check(), self._timeout)
        except Exception:
            return False

    async def report(self) -> dict[str, bool]:
        results = await asyncio.gather(*(self._run(c) for c in self._checks.values()))
        return dict(zip(self._checks, results, strict=True))


def health_router(readiness: Readiness) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        checks = await readiness.report()
        ready = readiness.started and all(checks.values())
        return JSONResponse(
            {"ready": ready, "started": readiness.started, "checks": checks},
            status_code=200 if ready else 503,
        )

    @router.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def redis_check(redis: Any) -> Check:
    """Readiness check for a ``redis.asyncio.Redis`` client."""

    async def ping() -> bool:
        return bool(await redis.ping())

    return ping
