"""What every ticket-core router shares: the bearer token, the acting agent, pages, errors."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Generic, NoReturn, TypeVar

from fastapi import Depends, Header, HTTPException, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError

from .settings import TicketCoreSettings

Limit = Annotated[int, Query(ge=1, le=200, description="Page size.")]
Offset = Annotated[int, Query(ge=0, description="Items to skip.")]
Name = Annotated[str, Field(min_length=1, max_length=200)]

AGENT_HEADER_DOC = (
    "The acting agent's id, for callers with the service token (a logged-in agent acts as "
    "themselves); the agent must exist and be active."
)


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    total: int
    items: list[T]


def bearer_auth(settings: TicketCoreSettings) -> Callable[..., Awaitable[None]]:
    """Authentication for a router: the service token, or an agent session (``access``).

    A router included in ``app.py`` behind a router class (``access.protect``) has been
    checked already; one that was not is for administrators (and services) only."""

    async def authorised(
        request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> None:
        access = getattr(request.app.state, "agent_access", None)
        if access is not None:
            await access.admin_router(request)
            return
        if settings.api_token is None and settings.allow_anonymous:
            return
        expected = f"Bearer {settings.api_token}"
        if authorization is None or not secrets.compare_digest(authorization, expected):
            raise HTTPException(status_code=401, detail="missing or wrong bearer token")

    return authorised


def not_found(what: str, key: Any) -> NoReturn:
    raise HTTPException(status_code=404, detail=f"{what} {key} not found")


def refused(exc: IntegrityError, what: str) -> NoReturn:
    """A constraint violation as a clear 4xx: a duplicate (409), a reference to something
    missing (422), a row still referenced (409, on delete) or a failed check (422)."""
    original = getattr(exc.orig, "__cause__", None) or exc.orig
    constraint = str(getattr(original, "constraint_name", None) or "")
    sqlstate = str(getattr(original, "sqlstate", "") or "")
    if sqlstate == "23505":
        raise HTTPException(status_code=409, detail=f"{what} already exists") from exc
    if sqlstate == "23503" and "is still referenced" in str(original):
        raise HTTPException(
            status_code=409, detail=f"{what} is still in use ({constraint})"
        ) from exc
    if sqlstate == "23503":
        raise HTTPException(
            status_code=422, detail=f"{what} refers to something that does not exist"
        ) from exc
    raise HTTPException(status_code=422, detail=f"{what}: {constraint or 'invalid'}") from exc


async def acting_agent(
    request: Request,
    x_agent_id: Annotated[
        int | None, Header(alias="X-Agent-Id", description=AGENT_HEADER_DOC)
    ] = None,
) -> int:
    """The agent a change is made by: the logged-in agent, or ``X-Agent-Id`` (required)
    when a service calls with the API token."""
    principal = getattr(request.state, "principal", None)
    own = getattr(principal, "agent_id", None)
    if principal is not None and not getattr(principal, "service", True) and own is not None:
        return int(own)
    if x_agent_id is None:
        raise HTTPException(status_code=422, detail="X-Agent-Id is required with the API token")
    return x_agent_id


async def optional_agent(
    request: Request,
    x_agent_id: Annotated[
        int | None, Header(alias="X-Agent-Id", description=AGENT_HEADER_DOC)
    ] = None,
) -> int | None:
    """Like ``acting_agent``, but None when a service names no agent."""
    principal = getattr(request.state, "principal", None)
    own = getattr(principal, "agent_id", None)
    if principal is not None and not getattr(principal, "service", True) and own is not None:
        return int(own)
    return x_agent_id


ActingAgent = Annotated[int, Depends(acting_agent)]
OptionalAgent = Annotated[int | None, Depends(optional_agent)]
