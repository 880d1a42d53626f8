"""Click-to-call: ``POST /api/v1/calls`` sends a ``Call`` request to the Simple Calls
server of a phone account: the server rings the agent's extension, then the customer.

The extension is the agent's (``agent_id``, looked up in the account's ``extensions``
map until agent profiles carry one) or given as ``extension``. The number is normalised
to E.164 with the account's default country. Optional bearer ``TELEPHONY_API_TOKEN``.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException
from helpdesk_common.phone_numbers import to_e164
from pydantic import BaseModel, Field

from .connectors import Connectors
from .settings import TelephonySettings
from .simple_calls_client import NotConnected


class CallIn(BaseModel):
    account: str = Field(min_length=1, max_length=64)
    to: str = Field(min_length=1, max_length=64)
    agent_id: int | None = None
    extension: str | None = Field(default=None, max_length=32)


class CallOut(BaseModel):
    account: str
    extension: str
    to: str
    request_id: int


def calls_router(settings: TelephonySettings, connectors: Connectors) -> APIRouter:
    async def authorised(authorization: Annotated[str | None, Header()] = None) -> None:
        if settings.api_token is None:
            return
        expected = f"Bearer {settings.api_token}"
        if authorization is None or not secrets.compare_digest(authorization, expected):
            raise HTTPException(status_code=401, detail="missing or wrong bearer token")

    router = APIRouter(prefix="/api/v1", tags=["calls"], dependencies=[Depends(authorised)])

    @router.post("/calls", response_model=CallOut, status_code=202)
    async def call(body: CallIn) -> CallOut:
        connection = connectors.connection(body.account)
        if connection is None:
            raise HTTPException(404, f"no connected simple calls account {body.account!r}")
        extension = body.extension
        if extension is None and body.agent_id is not None:
            extension = connection.config.extension_of(body.agent_id)
        if not extension:
            raise HTTPException(422, "no extension: give one or an agent with an extension")
        number = to_e164(body.to, connection.config.default_country)
        if number is None:
            raise HTTPException(422, "not a phone number")
        try:
            request_id = await connection.call(extension, number)
        except NotConnected as exc:
            raise HTTPException(503, str(exc), headers={"Retry-After": "5"}) from exc
        return CallOut(account=body.account, extension=extension, to=number, request_id=request_id)

    return router
