"""SLA test set-up in-process: calendars, companies (each with its own category and mail
domain, so a rule conditioned on them matches only the test's own tickets) and rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from ticket_core import crud, sla_repo
from ticket_core.models_org import categories, companies
from ticket_core.models_sla import calendars, sla_rules
from ticket_core.org_repo import set_domains

from .conftest import Desk, unique

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE_HOURS = {d: "09:00-18:00" for d in ("monday", "tuesday", "wednesday", "thursday", "friday")}


def berlin(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=BERLIN).astimezone(UTC)


@dataclass(frozen=True)
class Company:
    id: int
    category_id: int
    domain: str


async def make_calendar(
    desk: Desk,
    hours: dict[str, str] | None = None,
    exception_days: list[dict[str, Any]] | None = None,
    timezone: str = "Europe/Berlin",
) -> int:
    async with desk.sessions() as session, session.begin():
        row = await crud.create(
            session,
            calendars,
            {
                "name": unique("Calendar "),
                "timezone": timezone,
                "working_hours": hours if hours is not None else OFFICE_HOURS,
                "exception_days": exception_days or [],
            },
        )
    return int(row["id"])


async def make_company(desk: Desk) -> Company:
    domain = f"{unique('co')}.test"
    async with desk.sessions() as session, session.begin():
        category = await crud.create(session, categories, {"name": unique("Category ")})
        company = await crud.create(
            session, companies, {"name": unique("Company "), "category_id": category["id"]}
        )
        await set_domains(session, company["id"], [domain])
    return Company(int(company["id"]), int(category["id"]), domain)


async def make_rule(
    desk: Desk,
    calendar_id: int,
    *,
    reaction: int,
    resolution: int,
    warning: int = 0,
    **conditions: Any,
) -> int:
    async with desk.sessions() as session, session.begin():
        row = await crud.create(
            session,
            sla_rules,
            {
                "name": unique("Rule "),
                "position": await sla_repo.next_position(session),
                "calendar_id": calendar_id,
                "reaction_minutes": reaction,
                "resolution_minutes": resolution,
                "warning_minutes": warning,
                **conditions,
            },
        )
    return int(row["id"])


def sender(company: Company) -> str:
    return f"{unique('c')}@{company.domain}"
