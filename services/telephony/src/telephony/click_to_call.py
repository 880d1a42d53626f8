"""Click-to-call: ``POST /api/v1/calls`` sends a ``Call`` request to the Simple Calls
server of a phone account: the server rings the agent's extension, then the customer.

Who may call (``callers``): a logged-in agent (session token or cookie, the console)
calls from the extension on their own profile (``agents.phone_extension``, looked up in
ticket-core); naming another agent or an extension is 403, no extension on the profile
is 422. A service (``TELEPHONY_API_TOKEN``; see ``callers``) may give
``extension``, or ``agent_id`` (the profile's extension, else the account's old
``extensions`` map). The number is normalised to E.164 with the account's default
country.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException
from helpdesk_common.consuming import TransientError
from helpdesk_common.phone_accounts import PhoneAccountConfig
from helpdesk_common.phone_numbers import to_e164
from pydantic import BaseModel, Field

from .agent_phones import AgentPhones
from .callers import Caller, Callers
from .connectors import Connectors
from .simple_calls_client import NotConnected


class CallIn(BaseModel):
    account: str = Field(min_length=1, max_length=64)
    to: str = Field(min_length=1, max_length=64)
    agent_id: int | None = Field(
        default=None, description="Services only; an agent calls as themselves."
    )
    extension: str | None = Field(
        default=None, min_length=1, max_length=32, description="Services only."
    )


class CallOut(BaseModel):
    account: str
    extension: str
    to: str
    request_id: int
    agent_id: int | None = None


def calls_router(callers: Callers, connectors: Connectors, phones: AgentPhones) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["calls"])

    async def profile_extension(agent_id: int, *, must_be_active: bool) -> str | None:
        try:
            agent = await phones.of_agent(agent_id)
        except TransientError as exc:
            raise HTTPException(503, "ticket-core is unavailable", {"Retry-After": "5"}) from exc
        if agent is None:
            if must_be_active:
                raise HTTPException(401, "the agent no longer exists")
            return None  # a service naming an agent unknown to ticket-core: the map decides
        if must_be_active and not agent.active:
            raise HTTPException(401, "the agent is deactivated")
        return agent.extension

    async def extension_for(caller: Caller, body: CallIn, config: PhoneAccountConfig) -> str:
        if not caller.service:
            assert caller.agent_id is not None
            if body.extension is not None or body.agent_id not in (None, caller.agent_id):
                raise HTTPException(403, "agents call from the extension on their own profile")
            extension = await profile_extension(caller.agent_id, must_be_active=True)
            if not extension:
                raise HTTPException(
                    422,
                    f"agent {caller.agent_id} has no phone extension on their profile "
                    "(an administrator sets phone_extension on the agent)",
                )
            return extension
        if body.extension is not None:
            return body.extension
        if body.agent_id is not None:
            extension = await profile_extension(body.agent_id, must_be_active=False)
            extension = extension or config.extension_of(body.agent_id)
            if extension:
                return extension
            raise HTTPException(422, f"agent {body.agent_id} has no phone extension")
        raise HTTPException(422, "no extension: give one or an agent with an extension")

    @router.post("/calls", response_model=CallOut, status_code=202)
    async def call(body: CallIn, caller: Caller = Depends(callers)) -> CallOut:  # noqa: B008
        connection = connectors.connection(body.account)
        if connection is None:
            raise HTTPException(404, f"no connected simple calls account {body.account!r}")
        extension = await extension_for(caller, body, connection.config)
        number = to_e164(body.to, connection.config.default_country)
        if number is None:
            raise HTTPException(422, "not a phone number")
        try:
            request_id = await connection.call(extension, number)
        except NotConnected as exc:
            raise HTTPException(503, str(exc), headers={"Retry-After": "5"}) from exc
        agent_id = caller.agent_id if not caller.service else body.agent_id
        return CallOut(
            account=body.account,
            extension=extension,
            to=number,
            request_id=request_id,
            agent_id=agent_id,
        )

    return router
