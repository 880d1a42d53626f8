"""A ticket's messages as a paginated list (the ticket's detail embeds them all).

- ``GET /api/v1/tickets/{ticket_id}/messages?kind=&limit=&offset=``: oldest first;
  ``kind`` is one of customer, public_reply, internal_note, system. 404 for a ticket
  that does not exist (or that a specialist may not see: the ticket router class).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import repository as repo
from .api import MessageOut
from .api_common import Limit, Offset, Page, bearer_auth, not_found
from .models import MessageKind
from .settings import TicketCoreSettings


def ticket_messages_router(
    settings: TicketCoreSettings, sessions: async_sessionmaker[AsyncSession]
) -> APIRouter:
    router = APIRouter(
        prefix="/api/v1", tags=["tickets"], dependencies=[Depends(bearer_auth(settings))]
    )

    @router.get("/tickets/{ticket_id}/messages", response_model=Page[MessageOut])
    async def list_messages(
        ticket_id: int,
        kind: MessageKind | None = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[MessageOut]:
        """The ticket's messages, oldest first, optionally of one kind."""
        where = [repo.messages.c.ticket_id == ticket_id]
        if kind is not None:
            where.append(repo.messages.c.kind == kind.value)
        async with sessions() as session:
            if await repo.ticket_by_id(session, ticket_id) is None:
                not_found("ticket", ticket_id)
            total = await session.scalar(
                select(func.count()).select_from(repo.messages).where(*where)
            )
            rows = await session.execute(
                select(repo.messages)
                .where(*where)
                .order_by(repo.messages.c.id)
                .limit(limit)
                .offset(offset)
            )
            items = [MessageOut.model_validate(dict(r)) for r in rows.mappings()]
        return Page[MessageOut](total=int(total or 0), items=items)

    return router
