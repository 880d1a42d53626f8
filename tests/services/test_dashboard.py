"""The dashboard against the running ticket-core: counts, created vs resolved per day and
per-agent averages, limited to what a specialist may see; the desk timezone setting."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from ticket_core.audit import Actor
from ticket_core.dashboard import day_window, period_days, series

from .auth_helpers import logged_in
from .conftest import Desk

Api = httpx.AsyncClient
SYSTEM = Actor("system")


def test_local_days_follow_the_timezone_and_its_dst_changes() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    start, end = day_window(date(2026, 3, 29), berlin)  # clocks go forward: 23 hours
    assert (end - start) == timedelta(hours=23)
    assert start.astimezone(UTC) == datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    late_utc = datetime(2026, 11, 26, 23, 30, tzinfo=UTC)  # already the 27th in Berlin
    assert period_days(late_utc, berlin, 2) == [date(2026, 11, 26), date(2026, 11, 27)]
    assert period_days(late_utc, ZoneInfo("UTC"), 1) == [date(2026, 11, 26)]
    points = series([date(2026, 1, 1), date(2026, 1, 2)], {date(2026, 1, 2): 3}, {})
    assert [(p.created, p.resolved) for p in points] == [(0, 0), (3, 0)]


async def test_a_specialists_dashboard_counts_the_tickets_they_may_see(
    tickets_api: Api, desk: Desk
) -> None:
    me = await logged_in(tickets_api, "specialist")
    nobody = await logged_in(tickets_api, "specialist")
    now = datetime.now(UTC)
    t0 = now - timedelta(minutes=20)
    overdue, due_today, waiting, solved, unassigned, foreign = (
        t["id"] for t in await desk.tickets(6, now=t0)
    )
    mine = [overdue, due_today, waiting, solved]
    no_sla = {"reaction_due_at": None, "resolution_due_at": None}
    await desk.change([*mine, unassigned, foreign], SYSTEM, now=t0, **no_sla)
    await desk.change(mine, SYSTEM, now=t0, responsible_agent_id=me.agent_id)
    await desk.change([unassigned], SYSTEM, now=t0, observer_agent_ids=frozenset({me.agent_id}))
    await desk.change([overdue], SYSTEM, now=t0, resolution_due_at=now - timedelta(days=2))
    zone = ZoneInfo((await tickets_api.get("/api/v1/settings/desk")).json()["timezone"])
    _, end = day_window(now.astimezone(zone).date(), zone)
    await desk.change([due_today], SYSTEM, now=t0, resolution_due_at=now + (end - now) / 2)
    as_me = Actor("agent", me.agent_id)
    await desk.change(
        [waiting],
        as_me,
        now=t0 + timedelta(seconds=300),
        status="pending",
        pending_until=now + timedelta(days=3),
    )
    await desk.change([solved], as_me, now=t0 + timedelta(seconds=600), status="resolved")

    response = await tickets_api.get("/api/v1/dashboard?days=3", headers=me.headers)
    assert response.status_code == 200, response.text
    board = response.json()
    assert board["counts"] == {
        "open": 3,
        "pending": 1,
        "overdue": 1,
        "due_today": 1,
        "unassigned": 1,
    }
    chart = board["created_vs_resolved"]
    assert len(chart) == 3 and chart[-1]["day"] == now.astimezone(zone).date().isoformat()
    assert sum(p["created"] for p in chart) == 5  # the foreign ticket is not theirs
    assert sum(p["resolved"] for p in chart) == 1
    (row,) = board["agents"]
    assert row["agent_id"] == me.agent_id
    assert row["first_responses"] == 2  # pending after 300 s, resolved after 600 s
    assert row["avg_first_response_seconds"] == 450.0
    assert row["resolved"] == 1
    assert row["avg_resolution_seconds"] == 600.0  # open spans only

    empty = (await tickets_api.get("/api/v1/dashboard", headers=nobody.headers)).json()
    assert set(empty["counts"].values()) == {0} and empty["agents"] == []
    assert len(empty["created_vs_resolved"]) == 14

    everything = (await tickets_api.get("/api/v1/dashboard?days=3")).json()  # a service
    assert everything["counts"]["open"] >= 4
    assert any(a["agent_id"] == me.agent_id for a in everything["agents"])


async def test_dashboard_input_and_the_timezone_setting_are_validated(tickets_api: Api) -> None:
    for bad in ("0", "367", "x"):
        assert (await tickets_api.get(f"/api/v1/dashboard?days={bad}")).status_code == 422
    refused = await tickets_api.put("/api/v1/settings/desk", json={"timezone": "Mars/Olympus"})
    assert refused.status_code == 422
    assert "unknown timezone" in refused.text
    lead = await logged_in(tickets_api, "lead_specialist")
    forbidden = await tickets_api.put(
        "/api/v1/settings/desk", json={"timezone": "UTC"}, headers=lead.headers
    )
    assert forbidden.status_code == 403
    assert (await tickets_api.get("/api/v1/dashboard", headers=lead.headers)).status_code == 200
