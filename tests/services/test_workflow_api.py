"""The workflow REST API through the running ticket-core process: ticket changes and their
refusals, bulk changes, the audit trail, list filters, the organisation and catalogue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from .conftest import Desk, unique, webform

Api = httpx.AsyncClient


async def _agent(api: Api, role: str = "specialist") -> int:
    response = await api.post(
        "/api/v1/agents",
        json={"name": unique("Agent "), "email": f"{unique('A')}@Desk.test", "role": role},
    )
    assert response.status_code == 201, response.text
    assert response.json()["email"].islower()
    return int(response.json()["id"])


async def _patch(api: Api, ticket_id: int, agent: int, **body: Any) -> httpx.Response:
    return await api.patch(
        f"/api/v1/tickets/{ticket_id}", json=body, headers={"X-Agent-Id": str(agent)}
    )


def _soon(hours: float = 2) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


async def test_a_ticket_goes_through_every_allowed_move_and_is_refused_the_others(
    desk: Desk, tickets_api: Api
) -> None:
    agent = await _agent(tickets_api)
    (ticket,) = await desk.tickets()
    tid = ticket["id"]
    steps: list[tuple[dict[str, Any], int, str]] = [
        ({"status": "closed"}, 422, "cannot go from open to closed"),
        ({"status": "pending"}, 422, "pending needs an until-time"),
        ({"status": "pending", "pending_until": "2031-01-01T10:00:00"}, 422, "timezone"),
        ({"status": "pending", "pending_until": _soon(-1)}, 422, "must be in the future"),
        ({"status": "pending", "pending_until": _soon()}, 200, "pending"),
        ({"status": "closed"}, 422, "cannot go from pending to closed"),
        ({"status": "open"}, 200, "open"),
        ({"status": "pending", "pending_until": _soon()}, 200, "pending"),
        ({"status": "resolved"}, 200, "resolved"),
        ({"status": "pending", "pending_until": _soon()}, 422, "from resolved to pending"),
        ({"status": "open"}, 200, "open"),
        ({"status": "resolved"}, 200, "resolved"),
        ({"status": "closed"}, 200, "closed"),
        ({"status": "open"}, 422, "closed is final"),
        ({"status": "resolved"}, 422, "closed is final"),
        ({"status": "pending", "pending_until": _soon()}, 422, "closed is final"),
    ]
    for body, code, expected in steps:
        response = await _patch(tickets_api, tid, agent, **body)
        assert response.status_code == code, (body, response.text)
        if code == 200:
            assert response.json()["status"] == expected
        else:
            assert expected in str(response.json()["detail"]), (body, response.text)
    final = (await tickets_api.get(f"/api/v1/tickets/{tid}")).json()
    assert (final["status"], final["status_name"], final["reopen_count"]) == ("closed", "Closed", 1)
    assert final["first_response_at"] and final["closed_at"] and final["resolved_at"]
    audit = (await tickets_api.get(f"/api/v1/tickets/{tid}/audit", params={"limit": 200})).json()
    moves = [(r["old_value"], r["new_value"]) for r in audit["items"] if r["field"] == "status"]
    assert moves == [
        ("open", "pending"),
        ("pending", "open"),
        ("open", "pending"),
        ("pending", "resolved"),
        ("resolved", "open"),
        ("open", "resolved"),
        ("resolved", "closed"),
    ]
    assert {(r["actor"], r["agent_id"]) for r in audit["items"]} == {("agent", agent)}
    assert audit["total"] == len(audit["items"])


async def test_ticket_changes_are_validated(desk: Desk, tickets_api: Api) -> None:
    agent = await _agent(tickets_api)
    (ticket,) = await desk.tickets()
    url = f"/api/v1/tickets/{ticket['id']}"
    assert (await tickets_api.patch(url, json={"priority_id": 1})).status_code == 422  # no agent
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({}, 422, "nothing to change"),
        ({"status_id": 999_999}, 422, "status 999999 does not exist"),
        ({"status_id": ticket["status_id"], "status": "resolved"}, 422, "belongs to open"),
        ({"priority_id": 999_999}, 422, "priority 999999 does not exist"),
        ({"priority_id": None}, 422, "priority_id cannot be null"),
        ({"type_id": 999_999}, 422, "ticket type 999999 does not exist"),
        ({"responsible_agent_id": 999_999}, 422, "do not exist or are deactivated"),
        ({"observer_group_ids": [999_999]}, 422, "group(s) 999999 do not exist"),
        ({"status": "bogus"}, 422, ""),
        ({"colour": "#ffffff"}, 422, ""),
    ]
    for body, code, expected in cases:
        response = await _patch(tickets_api, ticket["id"], agent, **body)
        assert response.status_code == code, (body, response.text)
        assert expected in str(response.json()["detail"]), (body, response.text)
    assert (await _patch(tickets_api, ticket["id"], 999_999, priority_id=1)).status_code == 403
    assert (await _patch(tickets_api, 999_999_999, agent, priority_id=1)).status_code == 404
    assert (await tickets_api.get("/api/v1/tickets/999999999/audit")).status_code == 404
    for params in ({"limit": 0}, {"limit": 201}, {"offset": -1}, {"status": "bogus"}):
        assert (await tickets_api.get("/api/v1/tickets", params=params)).status_code == 422


async def test_assignment_observers_and_list_filters(desk: Desk, tickets_api: Api) -> None:
    lead, member, outsider = [await _agent(tickets_api, "lead_specialist") for _ in range(3)]
    response = await tickets_api.post(
        "/api/v1/groups", json={"name": unique("Second line "), "member_ids": [member]}
    )
    assert response.status_code == 201, response.text
    group = response.json()["id"]
    token = unique("subj")
    tickets = await desk.tickets(3)
    ids = [t["id"] for t in tickets]

    response = await _patch(
        tickets_api,
        ids[0],
        lead,
        responsible_group_id=group,
        responsible_agent_id=member,
        observer_agent_ids=[lead, outsider],
        observer_group_ids=[group],
        priority_id=tickets[0]["priority_id"] + 1,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["responsible_agent_id"], body["responsible_group_id"]) == (member, group)
    assert body["observer_agent_ids"] == sorted([lead, outsider])
    assert body["observer_group_ids"] == [group]
    refused = await _patch(
        tickets_api, ids[1], lead, responsible_group_id=group, responsible_agent_id=outsider
    )
    assert refused.status_code == 422 and "not a member of group" in refused.json()["detail"]
    assert (await _patch(tickets_api, ids[2], lead, responsible_group_id=group)).status_code == 200

    async def listed(**params: Any) -> set[int]:
        response = await tickets_api.get("/api/v1/tickets", params={"limit": 200, **params})
        assert response.status_code == 200, response.text
        return {t["id"] for t in response.json()["items"]} & set(ids)

    assert await listed(responsible_agent_id=member) == {ids[0]}
    assert await listed(responsible_group_id=group) == {ids[0], ids[2]}
    assert await listed(unassigned=True) == {ids[1]}
    assert await listed(unassigned=False) == {ids[0], ids[2]}
    assert await listed(channel="webform", status="open", responsible_group_id=group) == {
        ids[0],
        ids[2],
    }
    assert await listed(channel="email", responsible_group_id=group) == set()
    subject_hit = await tickets_api.get("/api/v1/tickets", params={"q": tickets[0]["subject"]})
    assert subject_hit.status_code == 200 and subject_hit.json()["total"] >= 1
    assert (await tickets_api.get("/api/v1/tickets", params={"q": token})).json()["total"] == 0
    audit = (await tickets_api.get(f"/api/v1/tickets/{ids[0]}/audit")).json()["items"]
    assert {r["field"] for r in audit} == {
        "responsible_agent_id",
        "responsible_group_id",
        "priority_id",
        "observer_agents",
        "observer_groups",
    }
    observers = next(r for r in audit if r["field"] == "observer_agents")
    assert observers["new_value"] == ",".join(str(a) for a in sorted([lead, outsider]))


async def test_bulk_changes_apply_where_allowed_and_say_why_not(
    desk: Desk, tickets_api: Api
) -> None:
    agent = await _agent(tickets_api)
    tickets = await desk.tickets(4)
    ids = [t["id"] for t in tickets]
    for status in ("resolved", "closed"):
        assert (await _patch(tickets_api, ids[3], agent, status=status)).status_code == 200
    response = await tickets_api.post(
        "/api/v1/tickets/bulk",
        json={
            "ticket_ids": [*ids, 999_999_999],
            "status": "resolved",
            "responsible_agent_id": agent,
        },
        headers={"X-Agent-Id": str(agent)},
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert sorted(result["updated"]) == sorted(ids[:3])
    assert {f["ticket_id"]: f["error"] for f in result["failed"]} == {
        ids[3]: "the ticket is closed: closed is final",
        999_999_999: "ticket not found",
    }
    listed = await tickets_api.get(
        "/api/v1/tickets", params={"responsible_agent_id": agent, "status": "resolved"}
    )
    assert {t["id"] for t in listed.json()["items"]} == set(ids[:3])
    again = await tickets_api.post(
        "/api/v1/tickets/bulk",
        json={"ticket_ids": ids[:3], "responsible_agent_id": agent},
        headers={"X-Agent-Id": str(agent)},
    )
    assert again.json()["unchanged"] == ids[:3]
    too_many = {"ticket_ids": list(range(1, 502)), "status": "open"}
    bad = await tickets_api.post("/api/v1/tickets/bulk", json=too_many, headers={"X-Agent-Id": "1"})
    assert bad.status_code == 422


async def test_an_agent_with_open_tickets_cannot_be_deactivated(
    desk: Desk, tickets_api: Api
) -> None:
    admin = await _agent(tickets_api, "administrator")
    agent = await _agent(tickets_api)
    tickets = await desk.tickets(2)
    for t in tickets:
        assert (
            await _patch(tickets_api, t["id"], admin, responsible_agent_id=agent)
        ).status_code == 200
    await _patch(tickets_api, tickets[1]["id"], admin, status="pending", pending_until=_soon())

    refused = await tickets_api.patch(f"/api/v1/agents/{agent}", json={"active": False})
    assert refused.status_code == 409
    detail = refused.json()["detail"]
    assert f"agent {agent} is responsible for 2 open or pending ticket(s)" in detail
    assert f"#{tickets[0]['number']}" in detail and "reassign them" in detail

    for t in tickets:
        assert (await _patch(tickets_api, t["id"], admin, status="resolved")).status_code == 200
    done = await tickets_api.patch(f"/api/v1/agents/{agent}", json={"active": False})
    assert done.status_code == 200 and done.json()["active"] is False
    assert (await _patch(tickets_api, tickets[0]["id"], agent, status="open")).status_code == 403
    reassigned = await _patch(tickets_api, tickets[0]["id"], admin, responsible_agent_id=agent)
    assert reassigned.status_code == 422 and "deactivated" in reassigned.json()["detail"]
    inactive = await tickets_api.get("/api/v1/agents", params={"active": False, "limit": 200})
    assert agent in {a["id"] for a in inactive.json()["items"]}
    email = (await tickets_api.get(f"/api/v1/agents/{agent}")).json()["email"]
    twin = {"name": "Twin", "email": email.upper()}
    assert (await tickets_api.post("/api/v1/agents", json=twin)).status_code == 409
    bad_role = {"name": "X", "email": f"{unique('r')}@desk.test", "role": "boss"}
    assert (await tickets_api.post("/api/v1/agents", json=bad_role)).status_code == 422
    assert (await tickets_api.get("/api/v1/agents/999999999")).status_code == 404


async def test_catalogue_defaults_and_validation(tickets_api: Api) -> None:
    name = unique("In progress ")
    created = await tickets_api.post("/api/v1/statuses", json={"name": name, "category": "open"})
    assert created.status_code == 201, created.text
    status = created.json()
    assert (status["category"], status["is_default"]) == ("open", False)
    duplicate = await tickets_api.post("/api/v1/statuses", json={"name": name, "category": "open"})
    assert duplicate.status_code == 409
    bad = await tickets_api.post("/api/v1/statuses", json={"name": unique(), "category": "done"})
    assert bad.status_code == 422
    recategorised = await tickets_api.patch(
        f"/api/v1/statuses/{status['id']}", json={"category": "closed"}
    )
    assert recategorised.status_code == 422  # a status keeps its category
    statuses = (await tickets_api.get("/api/v1/statuses", params={"limit": 200})).json()["items"]
    closed_default = next(s for s in statuses if s["category"] == "closed" and s["is_default"])
    assert (await tickets_api.delete(f"/api/v1/statuses/{closed_default['id']}")).status_code == 409
    unset = await tickets_api.patch(
        f"/api/v1/statuses/{closed_default['id']}", json={"is_default": False}
    )
    assert unset.status_code == 422

    archived = (
        await tickets_api.post(
            "/api/v1/statuses", json={"name": unique("Archived "), "category": "closed"}
        )
    ).json()
    try:
        made = await tickets_api.patch(
            f"/api/v1/statuses/{archived['id']}", json={"is_default": True}
        )
        assert made.status_code == 200 and made.json()["is_default"] is True
        previous = (await tickets_api.get(f"/api/v1/statuses/{closed_default['id']}")).json()
        assert previous["is_default"] is False
    finally:
        restored = await tickets_api.patch(
            f"/api/v1/statuses/{closed_default['id']}", json={"is_default": True}
        )
        assert restored.status_code == 200
    assert (await tickets_api.delete(f"/api/v1/statuses/{archived['id']}")).status_code == 204
    assert (await tickets_api.get(f"/api/v1/statuses/{archived['id']}")).status_code == 404

    colour = await tickets_api.post(
        "/api/v1/priorities", json={"name": unique(), "position": 9, "colour": "red"}
    )
    assert colour.status_code == 422
    priorities = (await tickets_api.get("/api/v1/priorities")).json()["items"]
    defaults = ["low", "normal", "high", "critical"]  # in order; other tests add their own
    assert [p["name"] for p in priorities if p["name"] in defaults] == defaults
    in_use = next(p for p in priorities if p["is_default"])
    assert (await tickets_api.delete(f"/api/v1/priorities/{in_use['id']}")).status_code == 409
    types = (await tickets_api.get("/api/v1/ticket-types")).json()["items"]
    assert {t["name"]: t["internal"] for t in types if t["id"] <= 3} == {
        "incident": False,
        "question": False,
        "internal": True,
    }
    kind = await tickets_api.post("/api/v1/ticket-types", json={"name": unique("Visit ")})
    assert kind.status_code == 201 and kind.json()["internal"] is False


async def test_companies_domains_and_categories(desk: Desk, tickets_api: Api) -> None:
    manager = await _agent(tickets_api, "lead_specialist")
    category = unique("Reseller ")
    assert (
        await tickets_api.post("/api/v1/company-categories", json={"name": category})
    ).status_code == 201
    domain = f"{unique('shop')}.test"
    created = await tickets_api.post(
        "/api/v1/companies",
        json={
            "name": unique("Shop "),
            "domains": [f"@{domain.upper()}", domain],
            "category": category,
            "manager_agent_id": manager,
            "notification_email": "Boss@Shop.Test",
        },
    )
    assert created.status_code == 201, created.text
    company = created.json()
    assert company["domains"] == [domain] and company["category"] == category
    assert company["notification_email"] == "boss@shop.test"
    refusals: list[tuple[dict[str, Any], int, str]] = [
        ({"domains": ["gmail.com"]}, 422, "public mail provider"),
        ({"domains": ["not a domain"]}, 422, "is not a mail domain"),
        ({"domains": [domain]}, 409, "already exists"),
        ({"category": "Nope"}, 422, "does not exist"),
        ({"manager_agent_id": 999_999}, 422, "does not exist or is deactivated"),
        ({"notification_email": "nobody"}, 422, "is not an email address"),
    ]
    for extra, code, expected in refusals:
        response = await tickets_api.post(
            "/api/v1/companies", json={"name": unique("Other "), **extra}
        )
        assert response.status_code == code, (extra, response.text)
        assert expected in response.json()["detail"], (extra, response.text)

    sender = f"{unique('c')}@{domain}"
    await desk.ingest([webform(sender)])
    ticket = await desk.ticket_of(sender)
    assert ticket is not None and ticket["company_id"] == company["id"]
    listed = await tickets_api.get("/api/v1/tickets", params={"company_id": company["id"]})
    assert [t["id"] for t in listed.json()["items"]] == [ticket["id"]]
    in_use = await tickets_api.delete(f"/api/v1/companies/{company['id']}")
    assert in_use.status_code == 409 and "still in use" in in_use.json()["detail"]
    renamed = await tickets_api.patch(
        f"/api/v1/companies/{company['id']}", json={"category": "VIP", "domains": []}
    )
    assert renamed.status_code == 200 and renamed.json()["category"] == "VIP"
    assert renamed.json()["domains"] == []
    page = await tickets_api.get("/api/v1/companies", params={"q": company["name"]})
    assert page.json()["total"] == 1
    assert (await tickets_api.get("/api/v1/companies/999999")).status_code == 404


async def test_the_openapi_document_describes_the_workflow_api(tickets_api: Api) -> None:
    spec = (await tickets_api.get("/openapi.json")).json()
    for path in (
        "/api/v1/tickets/{ticket_id}",
        "/api/v1/tickets/bulk",
        "/api/v1/tickets/{ticket_id}/audit",
        "/api/v1/companies",
        "/api/v1/agents/{agent_id}",
        "/api/v1/groups",
        "/api/v1/ticket-types",
        "/api/v1/priorities",
        "/api/v1/statuses/{row_id}",
    ):
        assert path in spec["paths"], path
    patch = spec["paths"]["/api/v1/tickets/{ticket_id}"]["patch"]
    assert any(p["name"] == "X-Agent-Id" for p in patch["parameters"])
