"""SLA re-planning through the running ticket-core's REST API: a priority change moves the
planned times to the rule that matches now (audited with the rule's name), a time set by
hand is kept, and a re-plan to a time already past breaches once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from devstack.probes import eventually
from sqlalchemy import select
from ticket_core.models_sla import sla_rules
from ticket_core.timers import fire_due

from .conftest import Desk
from .sla_helpers import make_calendar, make_company, make_rule
from .test_sla_api import _agent, _expect

Api = httpx.AsyncClient
ALWAYS = {
    d: "00:00-24:00"
    for d in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
}


async def _priority(api: Api, name: str) -> int:
    items = (await api.get("/api/v1/priorities")).json()["items"]
    return int(next(p["id"] for p in items if p["name"] == name))


async def _set_up(api: Api, desk: Desk, *, registered_hours_ago: float = 0) -> dict[str, Any]:
    """A company with two rules on a 24/7 calendar: "urgent" (high priority: reaction 1 h,
    resolution 4 h) before "standard" (reaction 10 h, resolution 40 h), and one ticket."""
    calendar = await make_calendar(desk, hours=ALWAYS, timezone="UTC")
    company = await make_company(desk)
    high = await _priority(api, "high")
    urgent = await make_rule(
        desk,
        calendar,
        reaction=60,
        resolution=240,
        warning=10,
        company_ids=[company.id],
        priority_ids=[high],
    )
    standard = await make_rule(
        desk, calendar, reaction=600, resolution=2400, company_ids=[company.id]
    )
    now = datetime.now(UTC) - timedelta(hours=registered_hours_ago)
    (ticket,) = await desk.tickets(domain=company.domain, now=now)
    assert ticket["sla_rule_id"] == standard
    agent = await _agent(api)
    return {
        "ticket": ticket,
        "high": high,
        "urgent": urgent,
        "standard": standard,
        "path": f"/api/v1/tickets/{ticket['id']}",
        "headers": {"X-Agent-Id": str(agent)},
        "agent": agent,
    }


def _at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


async def test_a_priority_change_re_plans_from_registration_and_is_audited(
    tickets_api: Api, desk: Desk
) -> None:
    s = await _set_up(tickets_api, desk)
    ticket, registered = s["ticket"], s["ticket"]["created_at"]
    out = await _expect(
        await tickets_api.patch(s["path"], json={"priority_id": s["high"]}, headers=s["headers"]),
        200,
    )
    assert out["sla_rule_id"] == s["urgent"]
    assert _at(out["reaction_due_at"]) == registered + timedelta(hours=1)
    assert _at(out["resolution_due_at"]) == registered + timedelta(hours=4)
    stored = await desk.ticket(ticket["id"])
    assert stored["reaction_warn_at"] == registered + timedelta(minutes=50)  # new lead
    assert stored["sla_warning_seconds"] == 600

    async with desk.sessions() as session:
        name = await session.scalar(select(sla_rules.c.name).where(sla_rules.c.id == s["urgent"]))
    audit = await _expect(await tickets_api.get(f"{s['path']}/audit"), 200)
    replan = [
        (r["field"], r["old_value"], r["new_value"], r["agent_id"])
        for r in audit["items"]
        if r["reason"] == f"SLA re-planned: rule {name}"
    ]
    assert replan == [
        ("sla_rule_id", str(s["standard"]), str(s["urgent"]), s["agent"]),
        (
            "reaction_due_at",
            ticket["reaction_due_at"].isoformat(),
            (registered + timedelta(hours=1)).isoformat(),
            s["agent"],
        ),
        (
            "resolution_due_at",
            ticket["resolution_due_at"].isoformat(),
            (registered + timedelta(hours=4)).isoformat(),
            s["agent"],
        ),
    ]
    assert any(r["field"] == "priority_id" and r["reason"] is None for r in audit["items"])

    # back to the default priority: the standard rule again
    normal = await _priority(tickets_api, "normal")
    back = await _expect(
        await tickets_api.patch(s["path"], json={"priority_id": normal}, headers=s["headers"]),
        200,
    )
    assert back["sla_rule_id"] == s["standard"]
    assert _at(back["reaction_due_at"]) == ticket["reaction_due_at"]


async def test_a_time_set_by_hand_is_kept_when_re_planned(tickets_api: Api, desk: Desk) -> None:
    s = await _set_up(tickets_api, desk)
    registered = s["ticket"]["created_at"]
    by_hand = datetime(2031, 5, 5, 12, tzinfo=UTC)
    await _expect(
        await tickets_api.patch(
            s["path"], json={"resolution_due_at": by_hand.isoformat()}, headers=s["headers"]
        ),
        200,
    )
    assert (await desk.ticket(s["ticket"]["id"]))["resolution_due_manual"] is True
    out = await _expect(
        await tickets_api.patch(s["path"], json={"priority_id": s["high"]}, headers=s["headers"]),
        200,
    )
    assert out["sla_rule_id"] == s["urgent"]
    assert _at(out["resolution_due_at"]) == by_hand  # kept
    assert _at(out["reaction_due_at"]) == registered + timedelta(hours=1)  # re-planned


async def test_a_re_plan_to_a_time_already_past_breaches_once(tickets_api: Api, desk: Desk) -> None:
    s = await _set_up(tickets_api, desk, registered_hours_ago=2)
    ticket = s["ticket"]
    assert ticket["reaction_breached_at"] is None  # 10 h under the standard rule
    out = await _expect(
        await tickets_api.patch(s["path"], json={"priority_id": s["high"]}, headers=s["headers"]),
        200,
    )
    assert _at(out["reaction_due_at"]) == ticket["created_at"] + timedelta(hours=1)

    async def breaches() -> list[dict[str, Any]]:
        audit = await _expect(await tickets_api.get(f"{s['path']}/audit"), 200)
        return [r for r in audit["items"] if r["field"] == "reaction_breached_at"]

    # the running ticket-core's timer round fires it
    fired = await eventually(breaches, lambda rows: len(rows) == 1, 20, "reaction breach")
    assert fired[0]["actor"] == "system" and "SLA breach: reaction" in fired[0]["reason"]
    detail = await _expect(await tickets_api.get(s["path"]), 200)
    assert detail["reaction_met"] is False
    # a later round (here, in a transaction rolled back) has nothing left for it
    async with desk.sessions() as session, session.begin():
        again = await fire_due(
            session, datetime.now(UTC), limit=10_000, auto_close_after=timedelta(days=7)
        )
        assert ticket["id"] not in again.ticket_ids
        await session.rollback()
    assert len(await breaches()) == 1
