"""HTTP entry points of the gateway (thin)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Path, Request
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from helpdesk_common import correlation
from helpdesk_common.broker import publish
from helpdesk_common.logs import get_logger
from helpdesk_common.records import Channel, new_id
from helpdesk_common.topics import raw_topic
from helpdesk_common.webform import WebformSubmission
from pydantic import ValidationError

from .body import read_capped
from .ratelimit import RateLimiter
from .settings import GatewaySettings
from .webform import InvalidSubmission, build_raw_record, parse_fields, raw_id_for

log = get_logger(__name__)
ACCOUNT = re.compile(r"^[a-zA-Z0-9_.-]{1,64}$")


def client_ip(request: Request, settings: GatewaySettings) -> str:
    forwarded = request.headers.get("x-forwarded-for")
    if settings.trust_forwarded_for and forwarded:
        return forwarded.split(",")[0].strip()
    return request.client.host if request.client else "unknown"


def webform_router(
    settings: GatewaySettings, broker: KafkaBroker, limiter: RateLimiter
) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["webform"])
    topic = raw_topic(Channel.WEBFORM)

    async def accept(request: Request, account: str, idempotency_key: str | None) -> JSONResponse:
        if not ACCOUNT.match(account):
            raise HTTPException(status_code=404, detail="unknown web form")
        ip = client_ip(request, settings)
        if not await limiter.allow(f"webform:{ip}"):
            raise HTTPException(
                status_code=429, detail="too many submissions", headers={"Retry-After": "60"}
            )
        body = await read_capped(request, settings.max_body_bytes)
        try:
            fields = parse_fields(body, request.headers.get("content-type", "application/json"))
            submission = WebformSubmission.from_fields(fields)
        except ValidationError as exc:
            errors = [
                {"field": ".".join(str(p) for p in e["loc"]) or "body", "error": e["msg"]}
                for e in exc.errors()
            ]
            log.info("webform_rejected", account=account, errors=len(errors))
            return JSONResponse({"detail": "invalid submission", "errors": errors}, status_code=422)
        except (InvalidSubmission, ValueError) as exc:
            log.info("webform_rejected", account=account, error=str(exc))
            return JSONResponse({"detail": str(exc)}, status_code=422)
        record = build_raw_record(
            account,
            submission,
            raw_id=raw_id_for(account, idempotency_key),
            correlation_id=correlation.current() or new_id(),
            source_ip=ip,
        )
        # 2xx only once the broker has acked the record.
        await publish(broker, topic, record, producer=settings.service_name)
        log.info("webform_accepted", account=account, raw_id=record.raw_id)
        return JSONResponse({"status": "accepted", "request_id": record.raw_id}, status_code=202)

    @router.post("/webform", status_code=202)
    async def webform_default(
        request: Request, idempotency_key: Annotated[str | None, Header(max_length=128)] = None
    ) -> JSONResponse:
        return await accept(request, "default", idempotency_key)

    @router.post("/webform/{account}", status_code=202)
    async def webform_account(
        request: Request,
        account: Annotated[str, Path()],
        idempotency_key: Annotated[str | None, Header(max_length=128)] = None,
    ) -> JSONResponse:
        return await accept(request, account, idempotency_key)

    return router
