"""``GET /api/v1/dashboard``: counts of open, pending, overdue, due-today and unassigned
tickets, created vs resolved per local day for the last ``days`` days, and first-response
and resolution time averages per responsible agent. Ticket class: a specialist's figures
cover the tickets they may see."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import dashboard_repo as repo
from .api import visibility
from .api_common import bearer_auth
from .dashboard import Dashboard
from .settings import TicketCoreSettings


def dashboard_router(
    settings: TicketCoreSettings, sessions: async_sessionmaker[AsyncSession]
) -> APIRouter:
    router = APIRouter(
        prefix="/api/v1", tags=["dashboard"], dependencies=[Depends(bearer_auth(settings))]
    )

    @router.get("/dashboard", response_model=Dashboard)
    async def dashboard(
        visible: Annotated[list[Any], Depends(visibility)],
        days: Annotated[int, Query(ge=1, le=366, description="Days of the chart.")] = 14,
    ) -> Dashboard:
        async with sessions() as session:
            return await repo.load_dashboard(session, visible, days, datetime.now(UTC))

    return router
