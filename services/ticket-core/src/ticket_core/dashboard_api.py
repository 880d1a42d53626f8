"""``GET /api/v1/dashboard``: counts of open, pending, overdue, due-today and unassigned
tickets, created vs resolved per local day for the last ``days`` days, and first-response
and resolution time averages per responsible agent. Ticket class: a specialist's figures
cover the tickets they may see."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import dashboard_repo as repo
from .api import visibility
from .api_common import bearer_auth
from .dashboard import Dashboard, day_window, period_days, series
from .desk_settings_repo import desk_options
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
        now = datetime.now(UTC)
        async with sessions() as session:
            zone_name = (await desk_options(session)).timezone
            zone = ZoneInfo(zone_name)
            dates = period_days(now, zone, days)
            since = day_window(dates[0], zone)[0]
            today = day_window(dates[-1], zone)
            counts = await repo.counts(session, visible, now, today)
            created, resolved = await repo.per_day(session, visible, zone_name, since)
            agents = await repo.agent_times(session, visible, since)
        return Dashboard(
            timezone=zone_name,
            days=days,
            since=since.astimezone(UTC),
            counts=counts,
            created_vs_resolved=series(dates, created, resolved),
            agents=agents,
        )

    return router
