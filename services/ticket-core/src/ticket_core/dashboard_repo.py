"""The dashboard's queries: a handful of aggregates over ``tickets``, each limited by the
caller's visibility clauses (a specialist's figures cover the tickets they may see)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, and_, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from .dashboard import AgentTimes, Counts, Dashboard, day_window, period_days, series
from .desk_settings_repo import desk_options
from .models_org import agents
from .repository import tickets
from .sla_repo import overdue_clause

_ACTIVE = ("open", "pending")


async def counts(
    session: AsyncSession, visible: Sequence[Any], now: datetime, today: tuple[datetime, datetime]
) -> Counts:
    t = tickets.c
    active = t.status.in_(_ACTIVE)

    def count_if(condition: Any) -> Any:
        return func.count().filter(condition)

    row = (
        await session.execute(
            select(
                count_if(t.status == "open").label("open"),
                count_if(t.status == "pending").label("pending"),
                count_if(and_(active, overdue_clause(now))).label("overdue"),
                count_if(
                    and_(active, t.resolution_due_at >= today[0], t.resolution_due_at < today[1])
                ).label("due_today"),
                count_if(
                    and_(active, t.responsible_agent_id.is_(None), t.responsible_group_id.is_(None))
                ).label("unassigned"),
            )
            .select_from(tickets)
            .where(t.status.in_(_ACTIVE), *visible)
        )
    ).one()
    return Counts.model_validate(dict(row._mapping))


async def per_day(
    session: AsyncSession, visible: Sequence[Any], zone: str, since: datetime
) -> tuple[dict[date, int], dict[date, int]]:
    """(created per local day, resolved per local day) since ``since``."""
    t = tickets.c
    result: list[dict[date, int]] = []
    for column in (t.created_at, t.resolved_at):
        day = cast(func.timezone(zone, column), Date).label("day")
        rows = await session.execute(
            select(day, func.count()).where(column >= since, *visible).group_by(day)
        )
        result.append({d: int(n) for d, n in rows})
    return result[0], result[1]


async def agent_times(
    session: AsyncSession, visible: Sequence[Any], since: datetime
) -> list[AgentTimes]:
    """Per responsible agent: average first response (first response - created) of the
    tickets first answered since ``since``, and average resolution time (open spans only:
    ``worked_seconds``, final once resolved) of the tickets resolved since then."""
    t = tickets.c
    answered = t.first_response_at >= since
    resolved = and_(t.resolved_at >= since, t.status.in_(("resolved", "closed")))
    response_seconds = func.extract("epoch", t.first_response_at - t.created_at)
    rows = await session.execute(
        select(
            t.responsible_agent_id,
            agents.c.name,
            func.count().filter(answered).label("first_responses"),
            func.avg(case((answered, response_seconds))).label("avg_first_response_seconds"),
            func.count().filter(resolved).label("resolved"),
            func.avg(case((resolved, t.worked_seconds))).label("avg_resolution_seconds"),
        )
        .join(agents, agents.c.id == t.responsible_agent_id)
        .where(answered | resolved, *visible)
        .group_by(t.responsible_agent_id, agents.c.name)
        .order_by(agents.c.name, t.responsible_agent_id)
    )
    return [
        AgentTimes(
            agent_id=int(r.responsible_agent_id),
            agent_name=r.name,
            first_responses=int(r.first_responses),
            avg_first_response_seconds=_float(r.avg_first_response_seconds),
            resolved=int(r.resolved),
            avg_resolution_seconds=_float(r.avg_resolution_seconds),
        )
        for r in rows
    ]


def _float(value: Any) -> float | None:
    return None if value is None else round(float(value), 3)


async def load_dashboard(
    session: AsyncSession, visible: Sequence[Any], days: int, now: datetime
) -> Dashboard:
    """The whole dashboard (the API's answer and the console's page) over the tickets the
    ``visible`` clauses leave, for the last ``days`` local days of the desk timezone."""
    zone_name = (await desk_options(session)).timezone
    zone = ZoneInfo(zone_name)
    dates = period_days(now, zone, days)
    since = day_window(dates[0], zone)[0]
    today = day_window(dates[-1], zone)
    figures = await counts(session, visible, now, today)
    created, resolved = await per_day(session, visible, zone_name, since)
    return Dashboard(
        timezone=zone_name,
        days=days,
        since=since.astimezone(UTC),
        counts=figures,
        created_vs_resolved=series(dates, created, resolved),
        agents=await agent_times(session, visible, since),
    )
