"""The SLA REST API through the running ticket-core: calendars and rules validated with
clear 4xx reasons, reordering and enabling rules, planned times set by hand on a ticket
(with its audit trail), and the overdue filter of the ticket list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from .conftest import Desk, unique
from .sla_helpers import OFFICE_HOURS, make_calendar, make_company, make_rule

Api = httpx.AsyncClient
HOUR = timedelta(hours=1)


def _calendar(**overrides: Any) -> dict[str, Any]:
    return {
        "name": unique("Calendar "),
        "timezone": "Europe/Berlin",
        "working_hours": OFFICE_HOURS,
        "exception_days": [],
        **overrides,
    }


async def _agent(api: Api) -> int:
    response = await api.post(
        "/api/v1/agents",
        json={"name": unique("Agent "), "email": f"{unique('a')}@desk.test", "role": "specialist"},
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def _expect(response: httpx.Response, code: int, reason: str = "") -> Any:
    assert response.status_code == code, response.text
    if reason:
        assert reason in str(response.json()["detail"]), response.text
    return response.json() if response.content else {}


async def test_calendars_are_validated_with_reasons(tickets_api: Api) -> None:
    api = tickets_api
    bad: list[tuple[dict[str, Any], str]] = [
        (_calendar(timezone="Mars/Olympus"), "unknown IANA timezone"),
        (_calendar(working_hours={"monday": "9-18"}), "HH:MM"),
        (_calendar(working_hours={"monday": "18:00-09:00"}), "must end after they start"),
        (_calendar(working_hours={"monday": "09:00-25:00"}), "out of range"),
        (_calendar(working_hours={"funday": "09:00-18:00"}), "funday"),
        (_calendar(working_hours={}), "at least one weekday"),
        (
            _calendar(
                exception_days=[{"date": "2030-01-01", "kind": "holiday", "hours": "9:00-12:00"}]
            ),
            "a holiday has no working hours",
        ),
        (
            _calendar(exception_days=[{"date": "2030-12-31", "kind": "shortened"}]),
            "needs its working hours",
        ),
        (
            _calendar(
                exception_days=[
                    {"date": "2030-01-01", "kind": "holiday"},
                    {"date": "2030-01-01", "kind": "working", "hours": "10:00-12:00"},
                ]
            ),
            "listed twice",
        ),
        (_calendar(exception_days=[{"date": "2030-02-30", "kind": "holiday"}]), "date"),
        (_calendar(exception_days=[{"date": "2030-01-02", "kind": "vacation"}]), "kind"),
    ]
    for body, reason in bad:
        await _expect(await api.post("/api/v1/service-calendars", json=body), 422, reason)

    body = _calendar(
        working_hours={**OFFICE_HOURS, "monday": "14:00-18:00, 09:00-13:00"},
        exception_days=[{"date": "2030-12-31", "kind": "shortened", "hours": "09:00-14:00"}],
    )
    created = await _expect(await api.post("/api/v1/service-calendars", json=body), 201)
    assert created["working_hours"]["monday"] == "09:00-13:00, 14:00-18:00"  # normalised
    assert created["working_hours"]["sunday"] == ""
    await _expect(
        await api.post("/api/v1/service-calendars", json={**body, "timezone": "UTC"}),
        409,
        "already exists",
    )
    path = f"/api/v1/service-calendars/{created['id']}"
    await _expect(await api.patch(path, json={"timezone": "Nowhere/City"}), 422, "timezone")
    await _expect(await api.patch(path, json={"timezone": None}), 422, "cannot be null")
    changed = await _expect(await api.patch(path, json={"timezone": "Asia/Tokyo"}), 200)
    assert (
        changed["timezone"] == "Asia/Tokyo" and changed["exception_days"][0]["kind"] == "shortened"
    )
    page = await _expect(await api.get("/api/v1/service-calendars", params={"limit": 1}), 200)
    assert len(page["items"]) == 1 and page["total"] >= 1
    await _expect(await api.get("/api/v1/service-calendars/999999999"), 404)


async def test_rules_are_validated_reordered_enabled_and_their_calendar_kept(
    tickets_api: Api, desk: Desk
) -> None:
    api = tickets_api
    calendar = (await _expect(await api.post("/api/v1/service-calendars", json=_calendar()), 201))[
        "id"
    ]
    company = await make_company(desk)

    def rule(**overrides: Any) -> dict[str, Any]:
        return {
            "name": unique("Rule "),
            "calendar_id": calendar,
            "company_ids": [company.id],
            "reaction_minutes": 60,
            "resolution_minutes": 480,
            "warning_minutes": 15,
            **overrides,
        }

    bad: list[tuple[dict[str, Any], str]] = [
        (rule(reaction_minutes=0), "greater than 0"),
        (rule(resolution_minutes=-5), "greater than 0"),
        (rule(warning_minutes=60), "warning_minutes must be shorter"),
        (rule(calendar_id=999999999), "calendar 999999999 does not exist"),
        (rule(company_ids=[company.id, 999999999]), "company(s) 999999999 do not exist"),
        (rule(priority_ids=[999999998]), "priority(s) 999999998 do not exist"),
        (rule(company_category_ids=[999999997]), "company category(s) 999999997"),
        (rule(ticket_type_ids=[999999996]), "ticket type(s) 999999996"),
        (rule(registered_within=[{"weekdays": [5, 6], "timezone": "Moon/Base"}]), "timezone"),
        (rule(registered_within=[{"start": "25:00"}]), "registered_within"),
        (rule(registered_within=[{"weekdays": [7]}]), "less than or equal to 6"),
    ]
    for body, reason in bad:
        await _expect(await api.post("/api/v1/sla-rules", json=body), 422, reason)

    first = await _expect(await api.post("/api/v1/sla-rules", json=rule()), 201)
    second = await _expect(
        await api.post(
            "/api/v1/sla-rules",
            json=rule(registered_within=[{"weekdays": [4], "start": "22:00", "end": "06:00"}]),
        ),
        201,
    )
    assert second["position"] > first["position"]  # appended after the others
    await _expect(await api.post("/api/v1/sla-rules", json=rule(name=first["name"])), 409)
    path = f"/api/v1/sla-rules/{first['id']}"
    await _expect(await api.patch(path, json={"warning_minutes": 500}), 422, "shorter")
    await _expect(await api.patch(path, json={"enabled": None}), 422, "cannot be null")
    patched = await _expect(await api.patch(path, json={"resolution_minutes": 960}), 200)
    assert patched["resolution_minutes"] == 960
    assert (await _expect(await api.post(f"{path}/disable"), 200))["enabled"] is False
    assert (await _expect(await api.get(path), 200))["enabled"] is False
    assert (await _expect(await api.post(f"{path}/enable"), 200))["enabled"] is True
    await _expect(await api.post("/api/v1/sla-rules/999999999/enable"), 404)

    everything: list[int] = []
    while True:
        page = await _expect(
            await api.get("/api/v1/sla-rules", params={"limit": 200, "offset": len(everything)}),
            200,
        )
        everything += [r["id"] for r in page["items"]]
        if len(everything) >= page["total"]:
            break
    reorder = "/api/v1/sla-rules/reorder"
    await _expect(await api.post(reorder, json={"rule_ids": everything[1:]}), 422, "missing")
    await _expect(
        await api.post(reorder, json={"rule_ids": [*everything, everything[0]]}), 422, "twice"
    )
    await _expect(
        await api.post(reorder, json={"rule_ids": [*everything, 999999999]}), 422, "unknown"
    )
    wanted = list(reversed(everything))
    ordered = await _expect(await api.post(reorder, json={"rule_ids": wanted}), 200)
    assert [r["id"] for r in ordered] == wanted
    assert [r["position"] for r in ordered] == list(range(len(wanted)))

    await _expect(await api.delete(f"/api/v1/service-calendars/{calendar}"), 409, "still in use")
    for r in (first, second):
        await _expect(await api.delete(f"/api/v1/sla-rules/{r['id']}"), 204)
    await _expect(await api.delete(f"/api/v1/sla-rules/{first['id']}"), 404)
    await _expect(await api.delete(f"/api/v1/service-calendars/{calendar}"), 204)


async def test_planned_times_are_set_by_hand_with_an_audit_trail(
    tickets_api: Api, desk: Desk
) -> None:
    calendar = await make_calendar(desk)
    company = await make_company(desk)
    rule = await make_rule(
        desk, calendar, reaction=600, resolution=6000, warning=30, company_ids=[company.id]
    )
    (ticket,) = await desk.tickets(domain=company.domain)
    assert ticket["sla_rule_id"] == rule and ticket["reaction_due_at"] is not None
    agent = await _agent(tickets_api)
    path, headers = f"/api/v1/tickets/{ticket['id']}", {"X-Agent-Id": str(agent)}
    reaction = datetime(2031, 3, 3, 10, tzinfo=UTC)
    resolution = datetime(2031, 3, 5, 10, tzinfo=UTC)

    await _expect(
        await tickets_api.patch(
            path, json={"reaction_due_at": "2031-03-03T10:00:00"}, headers=headers
        ),
        422,
        "timezone",
    )
    body = {"reaction_due_at": reaction.isoformat(), "resolution_due_at": resolution.isoformat()}
    out = await _expect(await tickets_api.patch(path, json=body, headers=headers), 200)
    assert datetime.fromisoformat(out["reaction_due_at"]) == reaction
    assert datetime.fromisoformat(out["resolution_due_at"]) == resolution
    assert out["sla_rule_id"] == rule and out["reaction_met"] is None
    stored = await desk.ticket(ticket["id"])
    assert stored["reaction_warn_at"] == reaction - timedelta(minutes=30)  # the rule's lead
    assert stored["resolution_warn_at"] == resolution - timedelta(minutes=30)
    assert stored["first_response_at"] is None  # setting a time is not a reaction

    cleared = await _expect(
        await tickets_api.patch(path, json={"reaction_due_at": None}, headers=headers), 200
    )
    assert cleared["reaction_due_at"] is None
    assert datetime.fromisoformat(cleared["resolution_due_at"]) == resolution
    audit = await _expect(await tickets_api.get(f"{path}/audit", params={"limit": 200}), 200)
    trail = [
        (r["field"], r["old_value"], r["new_value"], r["actor"], r["agent_id"])
        for r in audit["items"]
        if r["field"].endswith("_due_at")
    ]
    assert trail == [
        (
            "reaction_due_at",
            ticket["reaction_due_at"].isoformat(),
            reaction.isoformat(),
            "agent",
            agent,
        ),
        (
            "resolution_due_at",
            ticket["resolution_due_at"].isoformat(),
            resolution.isoformat(),
            "agent",
            agent,
        ),
        ("reaction_due_at", reaction.isoformat(), None, "agent", agent),
    ]


async def test_overdue_filter_lists_late_reaction_or_resolution_only(
    tickets_api: Api, desk: Desk
) -> None:
    company = await make_company(desk)
    late_resolution, late_reaction, answered, resolved, no_sla = await desk.tickets(
        5, domain=company.domain
    )
    agent = await _agent(tickets_api)
    headers = {"X-Agent-Id": str(agent)}
    now = datetime.now(UTC)

    async def patch(ticket: dict[str, Any], **body: Any) -> None:
        values = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in body.items()}
        await _expect(
            await tickets_api.patch(
                f"/api/v1/tickets/{ticket['id']}", json=values, headers=headers
            ),
            200,
        )

    await patch(late_resolution, reaction_due_at=now + HOUR, resolution_due_at=now - HOUR)
    await patch(late_reaction, reaction_due_at=now - HOUR, resolution_due_at=now + HOUR)
    await patch(answered, reaction_due_at=now - HOUR, resolution_due_at=now + HOUR)
    await _expect(
        await tickets_api.post(f"/api/v1/tickets/{answered['id']}/replies", json={"text": "Hi"}),
        201,
    )
    await patch(resolved, resolution_due_at=now - HOUR)
    await patch(resolved, status="resolved")

    async def listed(overdue: bool) -> set[int]:
        page = await _expect(
            await tickets_api.get(
                "/api/v1/tickets",
                params={"overdue": str(overdue).lower(), "company_id": company.id},
            ),
            200,
        )
        return {t["id"] for t in page["items"]}

    assert await listed(True) == {late_resolution["id"], late_reaction["id"]}
    assert await listed(False) == {answered["id"], resolved["id"], no_sla["id"]}
    detail = await _expect(await tickets_api.get(f"/api/v1/tickets/{answered['id']}"), 200)
    assert detail["reaction_met"] is False  # answered, but after the planned reaction
