"""Service objects, custom ticket attributes and the routing table through the running
ticket-core's REST API: validation (4xx with the reason), the ticket PATCH of the new
fields with its audit trail, visibility per role, reordering, enabling and re-routing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from ticket_core.routing_cache import SNAPSHOTS

from .conftest import Desk, unique
from .test_routing_ingest import message

Api = httpx.AsyncClient


@pytest.fixture(autouse=True)
def fresh_snapshots() -> Any:
    ttl, SNAPSHOTS.ttl = SNAPSHOTS.ttl, 0.0
    yield
    SNAPSHOTS.ttl = ttl
    SNAPSHOTS.invalidate()


async def _agent(api: Api, role: str = "specialist") -> int:
    response = await api.post(
        "/api/v1/agents",
        json={"name": unique("Agent "), "email": f"{unique('a')}@desk.test", "role": role},
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def _patch(api: Api, ticket_id: int, agent: int, **body: Any) -> httpx.Response:
    return await api.patch(
        f"/api/v1/tickets/{ticket_id}", json=body, headers={"X-Agent-Id": str(agent)}
    )


async def _audit(api: Api, ticket_id: int) -> list[dict[str, Any]]:
    response = await api.get(f"/api/v1/tickets/{ticket_id}/audit", params={"limit": 200})
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def _refused(response: httpx.Response, code: int, reason: str) -> None:
    assert response.status_code == code, response.text
    assert reason in str(response.json()["detail"]), response.text


async def test_service_objects_and_linking_tickets_to_them(desk: Desk, tickets_api: Api) -> None:
    manager = await _agent(tickets_api, "lead_specialist")
    company = await tickets_api.post("/api/v1/companies", json={"name": unique("Chain ")})
    assert company.status_code == 201, company.text
    company_id = company.json()["id"]
    body = {"name": "Cafe on Main", "address": "1 Main St", "company_id": company_id,
            "manager_agent_id": manager}  # fmt: skip
    created = await tickets_api.post("/api/v1/service-objects", json=body)
    assert created.status_code == 201, created.text
    cafe = created.json()
    assert (cafe["name"], cafe["address"], cafe["manager_agent_id"]) == (
        "Cafe on Main",
        "1 Main St",
        manager,
    )
    _refused(await tickets_api.post("/api/v1/service-objects", json=body), 409, "already exists")
    for extra, reason in (
        ({"manager_agent_id": 999_999}, "do not exist or are deactivated"),
        ({"company_id": 999_999}, "company 999999 does not exist"),
        ({"name": ""}, ""),
    ):
        response = await tickets_api.post("/api/v1/service-objects", json={**body, **extra})
        _refused(response, 422, reason)
    listed = await tickets_api.get("/api/v1/service-objects", params={"company_id": company_id})
    assert [o["id"] for o in listed.json()["items"]] == [cafe["id"]]
    moved = await tickets_api.patch(
        f"/api/v1/service-objects/{cafe['id']}", json={"address": "2 Main St"}
    )
    assert moved.status_code == 200 and moved.json()["address"] == "2 Main St"
    _refused(await tickets_api.get("/api/v1/service-objects/999999"), 404, "not found")

    (ticket,) = await desk.tickets()
    linked = await _patch(tickets_api, ticket["id"], manager, service_object_id=cafe["id"])
    assert linked.status_code == 200 and linked.json()["service_object_id"] == cafe["id"]
    _refused(
        await _patch(tickets_api, ticket["id"], manager, service_object_id=999_999),
        422,
        "service object 999999 does not exist",
    )
    _refused(await tickets_api.delete(f"/api/v1/service-objects/{cafe['id']}"), 409, "in use")
    unlinked = await _patch(tickets_api, ticket["id"], manager, service_object_id=None)
    assert unlinked.json()["service_object_id"] is None
    changes = [
        (r["field"], r["old_value"], r["new_value"], r["agent_id"])
        for r in await _audit(tickets_api, ticket["id"])
    ]
    assert changes == [
        ("service_object_id", None, str(cafe["id"]), manager),
        ("service_object_id", str(cafe["id"]), None, manager),
    ]
    assert (await tickets_api.delete(f"/api/v1/service-objects/{cafe['id']}")).status_code == 204


async def test_custom_attributes_are_validated_audited_and_hidden_by_role(
    desk: Desk, tickets_api: Api
) -> None:
    admin = await _agent(tickets_api, "administrator")
    specialist = await _agent(tickets_api, "specialist")
    region, amount = unique("region_"), unique("amount_")
    definitions = [
        {"key": region, "label": "Region", "kind": "list", "options": ["north", "south"],
         "visible_to_roles": ["administrator", "lead_specialist"], "visible_to_contact": True},
        {"key": amount, "label": "Amount", "kind": "number"},
    ]  # fmt: skip
    for definition in definitions:
        response = await tickets_api.post("/api/v1/ticket-attributes", json=definition)
        assert response.status_code == 201, response.text
    _refused(
        await tickets_api.post("/api/v1/ticket-attributes", json=definitions[1]),
        409,
        "already exists",
    )
    for bad, reason in (
        ({"key": unique("k"), "label": "L", "kind": "list"}, "needs options"),
        ({"key": "Bad Key", "label": "L", "kind": "string"}, "must start with a letter"),
        ({"key": unique("k"), "label": "L", "kind": "colour"}, ""),
    ):
        _refused(await tickets_api.post("/api/v1/ticket-attributes", json=bad), 422, reason)

    (ticket,) = await desk.tickets()
    tid = ticket["id"]
    for agent, values, reason in (
        (specialist, {amount: "12"}, f"attribute '{amount}' takes a number"),
        (specialist, {"nope": 1}, "attribute 'nope' is not defined"),
        (admin, {region: "west"}, "'west' is not one of north, south"),
        (specialist, {region: "north"}, "is not visible to the role specialist"),
    ):
        _refused(await _patch(tickets_api, tid, agent, custom_attributes=values), 422, reason)
    by_specialist = await _patch(tickets_api, tid, specialist, custom_attributes={amount: 12.5})
    assert by_specialist.status_code == 200, by_specialist.text
    assert by_specialist.json()["custom_attributes"] == {amount: 12.5}
    by_admin = await _patch(tickets_api, tid, admin, custom_attributes={region: "north"})
    assert by_admin.json()["custom_attributes"] == {amount: 12.5, region: "north"}

    async def seen(agent: int | None) -> dict[str, Any]:
        headers = {"X-Agent-Id": str(agent)} if agent else {}
        one = await tickets_api.get(f"/api/v1/tickets/{tid}", headers=headers)
        listed = await tickets_api.get(
            "/api/v1/tickets", params={"q": ticket["subject"], "limit": 200}, headers=headers
        )
        in_list = next(t for t in listed.json()["items"] if t["id"] == tid)
        assert in_list["custom_attributes"] == one.json()["custom_attributes"]
        return dict(one.json()["custom_attributes"])

    assert await seen(admin) == {amount: 12.5, region: "north"}
    assert await seen(specialist) == {amount: 12.5}
    assert await seen(None) == {amount: 12.5}
    removed = await _patch(tickets_api, tid, admin, custom_attributes={amount: None})
    assert removed.json()["custom_attributes"] == {region: "north"}
    audit = [(r["field"], r["old_value"], r["new_value"]) for r in await _audit(tickets_api, tid)]
    assert audit == [
        (f"custom_attributes.{amount}", None, "12.5"),
        (f"custom_attributes.{region}", None, "north"),
        (f"custom_attributes.{amount}", "12.5", None),
    ]


async def test_routing_rules_validation_order_enable_and_rerouting(
    desk: Desk, tickets_api: Api
) -> None:
    account = unique("acct")
    first, second, outsider = [await _agent(tickets_api) for _ in range(3)]
    group = await tickets_api.post(
        "/api/v1/groups", json={"name": unique("Group "), "member_ids": [first, second]}
    )
    group_id = group.json()["id"]
    colour = await tickets_api.post(
        "/api/v1/ticket-attributes",
        json={"key": unique("colour_"), "label": "Colour", "kind": "string"},
    )
    window = {"weekdays": [1], "start": "09:00", "end": "18:00", "timezone": "Nowhere/Land"}
    for bad, reason in (
        ({"group_id": 999_999}, "group(s) 999999 do not exist"),
        ({"agent_id": 999_999}, "agent(s) 999999 do not exist or are deactivated"),
        ({"observer_agent_ids": [999_998]}, "agent(s) 999998 do not exist"),
        ({"agent_id": outsider, "group_id": group_id}, f"not a member of group {group_id}"),
        ({"distribution": "round_robin"}, "give group_id"),
        ({"conditions": {"time_window": window}}, "unknown timezone"),
        ({"conditions": {"priority_ids": [999_999]}}, "priority(s) 999999 do not exist"),
        ({"conditions": {"attributes": {colour.json()["key"]: ["red"]}}}, "not a list attribute"),
        ({"conditions": {"channels": ["pigeon"]}}, ""),
    ):
        response = await tickets_api.post(
            "/api/v1/routing/rules", json={"name": unique("bad "), **bad}
        )
        _refused(response, 422, reason)

    made = []
    for agent in (first, second):
        response = await tickets_api.post(
            "/api/v1/routing/rules",
            json={
                "name": unique("to agent "),
                "agent_id": agent,
                "conditions": {"channel_accounts": [account]},
            },
        )
        assert response.status_code == 201, response.text
        made.append(response.json())
    to_first, to_second = made
    assert to_second["position"] > to_first["position"]
    try:
        everything = await tickets_api.get("/api/v1/routing/rules", params={"limit": 200})
        ids = [r["id"] for r in everything.json()["items"]]
        order = [to_second["id"], *[i for i in ids if i != to_second["id"]]]
        _refused(
            await tickets_api.put("/api/v1/routing/rules-order", json={"rule_ids": order[:-1]}),
            422,
            "every rule exactly once",
        )
        reordered = await tickets_api.put("/api/v1/routing/rules-order", json={"rule_ids": order})
        assert [r["id"] for r in reordered.json()] == order

        (ticket,) = await _ingested(desk, account)
        assert ticket["responsible_agent_id"] == second  # second's rule is first now

        disabled = await tickets_api.post(f"/api/v1/routing/rules/{to_second['id']}/disable")
        assert disabled.status_code == 200 and disabled.json()["enabled"] is False
        rerouted = await tickets_api.post(f"/api/v1/tickets/{ticket['id']}/route")
        assert rerouted.status_code == 200, rerouted.text
        assert rerouted.json() | {"observer_agent_ids": []} == {
            "ticket_id": ticket["id"],
            "routed": True,
            "changed": True,
            "reason": to_first["name"],
            "source": "rule",
            "rule_id": to_first["id"],
            "responsible_agent_id": first,
            "responsible_group_id": None,
            "observer_agent_ids": [],
        }
        last = (await _audit(tickets_api, ticket["id"]))[-1]
        assert (last["actor"], last["field"], last["new_value"], last["reason"]) == (
            "system",
            "responsible_agent_id",
            str(first),
            to_first["name"],
        )
        again = await tickets_api.post(f"/api/v1/tickets/{ticket['id']}/route")
        assert again.json()["changed"] is False
        _refused(await tickets_api.post("/api/v1/tickets/999999999/route"), 404, "not found")
        enabled = await tickets_api.post(f"/api/v1/routing/rules/{to_second['id']}/enable")
        assert enabled.json()["enabled"] is True
        renamed = await tickets_api.patch(
            f"/api/v1/routing/rules/{to_first['id']}", json={"group_id": 999_999}
        )
        _refused(renamed, 422, "group(s) 999999 do not exist")
    finally:
        for rule in made:
            assert (
                await tickets_api.delete(f"/api/v1/routing/rules/{rule['id']}")
            ).status_code == 204
    _refused(await tickets_api.get(f"/api/v1/routing/rules/{to_first['id']}"), 404, "not found")


async def _ingested(desk: Desk, account: str) -> list[dict[str, Any]]:
    sent = message(account)
    await desk.ingest([sent])
    ticket = await desk.ticket_of(str(sent.sender.email))
    assert ticket is not None
    return [ticket]


async def test_routing_cards_and_settings_refuse_unknown_agents(
    desk: Desk, tickets_api: Api
) -> None:
    manager = await _agent(tickets_api, "lead_specialist")
    (ticket,) = await desk.tickets()
    contact = ticket["contact_id"]
    card = {"manager_agent_id": manager, "default_observer_agent_ids": [manager, manager]}
    saved = await tickets_api.put(f"/api/v1/contacts/{contact}/routing", json=card)
    assert saved.status_code == 200, saved.text
    assert saved.json() == {"manager_agent_id": manager, "default_observer_agent_ids": [manager]}
    read = await tickets_api.get(f"/api/v1/contacts/{contact}/routing")
    assert read.json() == saved.json()
    _refused(
        await tickets_api.put(
            f"/api/v1/contacts/{contact}/routing", json={"manager_agent_id": 999_999}
        ),
        422,
        "999999 do not exist",
    )
    _refused(await tickets_api.get("/api/v1/contacts/999999999/routing"), 404, "not found")
    company = await tickets_api.post("/api/v1/companies", json={"name": unique("Carded ")})
    company_card = await tickets_api.put(
        f"/api/v1/companies/{company.json()['id']}/routing",
        json={"default_observer_agent_ids": [manager]},
    )
    assert company_card.json() == {"default_observer_agent_ids": [manager]}
    _refused(
        await tickets_api.put(
            "/api/v1/routing/settings", json={"default_observer_agent_ids": [999_999]}
        ),
        422,
        "999999 do not exist",
    )
    settings = await tickets_api.get("/api/v1/routing/settings")
    assert (
        settings.status_code == 200 and 999_999 not in settings.json()["default_observer_agent_ids"]
    )
    await tickets_api.put(
        f"/api/v1/contacts/{contact}/routing",
        json={"manager_agent_id": None, "default_observer_agent_ids": []},
    )
