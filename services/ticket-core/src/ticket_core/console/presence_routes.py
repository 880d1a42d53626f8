"""Presence on the ticket page: "Being processed by X since 10:42" for the other agents who
have the ticket open.

The page's presence block posts a heartbeat when it loads and every 15 s (HTMX), and
again at once when a ``ticket.presence`` push for this ticket arrives (``console.js``
fires ``console-presence``), so a colleague who opens the ticket shows up without
waiting for the poll. Each heartbeat is ``presence_desk.PresenceDesk.heartbeat`` (the
REST API's: Redis store, the push on a new visit) and answers the block. Leaving the page
sends a beacon to ``.../presence/leave``; a closed laptop ages out after the TTL.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from redis.asyncio import Redis
from starlette.responses import Response

from ..desk_config import DeskConfig
from ..presence_desk import PresenceDesk, PresenceOut, PresenceRefused, PresenceUnavailable
from .console_auth import ConsoleAgent
from .forms import ConsoleError
from .kit import ConsoleKit

POLL_SECONDS = 15


def others(presence: PresenceOut, agent_id: int) -> list[dict[str, Any]]:
    """The other viewers, earliest first, with the label as a sentence."""
    return [
        {"agent_id": v.agent_id, "name": v.agent_name, "text": v.label[:1].upper() + v.label[1:]}
        for v in presence.viewers
        if v.agent_id != agent_id
    ]


def presence_router(kit: ConsoleKit, redis: Redis, config: DeskConfig | None = None) -> APIRouter:
    config = config or DeskConfig()
    desk = PresenceDesk(kit.sessions, redis, config.presence_ttl_seconds, config.push_channel)
    router = kit.router()

    def block(request: Request, agent: ConsoleAgent, ticket_id: int, **context: Any) -> Response:
        values = {
            "ticket_id": ticket_id,
            "viewers": [],
            "initial": False,
            "unavailable": False,
            "poll": POLL_SECONDS,
            **context,
        }
        return kit.page(request, "presence/_presence.html", values, agent)

    @router.post("/tickets/{ticket_id}/presence", include_in_schema=False)
    async def heartbeat(request: Request, ticket_id: int) -> Response:
        agent = await kit.logged_in(request)
        await kit.checked_form(request, agent)
        await kit.may_read(agent, ticket_id)  # viewing, not changing
        try:
            presence = await desk.heartbeat(ticket_id, agent.id)
        except PresenceRefused as exc:
            raise ConsoleError(status_code=exc.status_code, detail=exc.detail) from exc
        except PresenceUnavailable:
            return block(request, agent, ticket_id, unavailable=True)
        return block(request, agent, ticket_id, viewers=others(presence, agent.id))

    @router.post("/tickets/{ticket_id}/presence/leave", include_in_schema=False)
    async def leave(request: Request, ticket_id: int) -> Response:
        agent = await kit.logged_in(request)
        await kit.checked_form(request, agent)
        try:
            await desk.leave(ticket_id, agent.id)
        except PresenceUnavailable:
            return Response(status_code=503)
        return Response(status_code=204)

    return router
