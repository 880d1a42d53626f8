"""``POST /api/v1/tickets`` against the running ticket-core (real PostgreSQL, Redis and
broker): agents of each role register tickets, contacts are found or created by email
and by phone, routing and the SLA apply as to any new ticket, ``ticket.created`` reaches
the broker, a retried request with the same Idempotency-Key gets the same ticket, bad
input is a 422 naming what is wrong, and a specialist sees the ticket they registered."""

from __future__ import annotations

from typing import Any

import httpx
from devstack.stack import Stack

from .auth_helpers import logged_in
from .collab_helpers import new_agent, new_group, ticket_events
from .conftest import Desk, unique
from .sla_helpers import make_calendar, make_rule

Api = httpx.AsyncClient
URL = "/api/v1/tickets"
ALWAYS = {
    d: "00:00-24:00"
    for d in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
}


def _email() -> str:
    return f"{unique('caller')}@{unique('co')}.test"


async def _new_type(api: Api) -> int:
    made = await api.post("/api/v1/ticket-types", json={"name": unique("Walk-in ")})
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


async def _audit(api: Api, ticket_id: int) -> list[dict[str, Any]]:
    response = await api.get(f"{URL}/{ticket_id}/audit", params={"limit": 200})
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def test_each_role_registers_a_ticket(tickets_api: Api) -> None:
    for role in ("administrator", "lead_specialist", "specialist"):
        agent = await logged_in(tickets_api, role)
        email = _email()
        response = await tickets_api.post(
            URL,
            json={"email": email, "name": "Walk In", "subject": "Printer", "text": "It jams"},
            headers=agent.headers,
        )
        assert response.status_code == 201, (role, response.text)
        ticket = response.json()
        assert ticket["subject"] == "Printer" and ticket["description"] == "It jams"
        assert ticket["status"] == "open" and ticket["channel"] == "email"
        (note,) = ticket["messages"]
        assert note["kind"] == "internal_note" and note["text"] == "It jams"
        assert note["author_agent_id"] == agent.agent_id and note["recipients"] == []
        trail = await _audit(tickets_api, ticket["id"])
        created = [e for e in trail if e["field"] == "ticket"]
        assert created and created[0]["agent_id"] == agent.agent_id
        assert created[0]["reason"] == f"created by agent {agent.agent_id}"
        # the specialist may read what they registered
        own = await tickets_api.get(f"{URL}/{ticket['id']}", headers=agent.headers)
        assert own.status_code == 200, own.text


async def test_a_specialist_sees_only_their_own_new_ticket(tickets_api: Api) -> None:
    author = await logged_in(tickets_api, "specialist")
    other = await logged_in(tickets_api, "specialist")
    made = await tickets_api.post(
        URL, json={"email": _email(), "subject": "Mine"}, headers=author.headers
    )
    assert made.status_code == 201, made.text
    tid = made.json()["id"]
    assert (await tickets_api.get(f"{URL}/{tid}", headers=author.headers)).status_code == 200
    assert (await tickets_api.get(f"{URL}/{tid}", headers=other.headers)).status_code == 404
    listed = await tickets_api.get(URL, params={"limit": 200}, headers=author.headers)
    assert tid in [t["id"] for t in listed.json()["items"]]


async def test_contacts_are_found_or_created_by_email_and_phone(tickets_api: Api) -> None:
    agent = (await new_agent(tickets_api))["id"]
    headers = {"X-Agent-Id": str(agent)}
    email = _email()
    first = await tickets_api.post(
        URL, json={"email": email, "name": "Ann", "subject": "One"}, headers=headers
    )
    assert first.status_code == 201, first.text
    contact_id = first.json()["contact_id"]
    contact = (await tickets_api.get(f"/api/v1/contacts/{contact_id}")).json()
    assert contact["email"] == email and contact["name"] == "Ann"
    again = await tickets_api.post(
        URL, json={"email": email.upper(), "subject": "Two"}, headers=headers
    )
    assert again.status_code == 201 and again.json()["contact_id"] == contact_id

    number = "+4930" + unique("")[-7:].translate(str.maketrans("abcdef", "123456"))
    by_phone = await tickets_api.post(
        URL, json={"phone": number, "subject": "Called"}, headers=headers
    )
    assert by_phone.status_code == 201, by_phone.text
    phoned = by_phone.json()
    assert phoned["channel"] == "sms"  # no email known: replies go by SMS
    phone_contact = (await tickets_api.get(f"/api/v1/contacts/{phoned['contact_id']}")).json()
    assert phone_contact["phone"] == number
    same = await tickets_api.post(URL, json={"phone": number, "subject": "Again"}, headers=headers)
    assert same.json()["contact_id"] == phoned["contact_id"]
    by_id = await tickets_api.post(
        URL, json={"contact_id": contact_id, "subject": "By id"}, headers=headers
    )
    assert by_id.status_code == 201 and by_id.json()["contact_id"] == contact_id


async def test_routing_sla_and_the_created_event(
    tickets_api: Api, desk: Desk, running: Stack
) -> None:
    agent = (await new_agent(tickets_api))["id"]
    type_id = await _new_type(tickets_api)
    group = await new_group(tickets_api, [agent])
    rule = await tickets_api.post(
        "/api/v1/routing/rules",
        json={
            "name": unique("walk-ins "),
            "group_id": group,
            "conditions": {"type_ids": [type_id]},
        },
    )
    assert rule.status_code == 201, rule.text
    calendar = await make_calendar(desk, hours=ALWAYS, timezone="UTC")
    sla_rule = await make_rule(
        desk, calendar, reaction=60, resolution=240, ticket_type_ids=[type_id]
    )
    try:
        async with ticket_events(running) as events:
            made = await tickets_api.post(
                URL,
                json={"email": _email(), "subject": "Routed", "text": "x", "type_id": type_id},
                headers={"X-Agent-Id": str(agent)},
            )
            assert made.status_code == 201, made.text
            ticket = made.json()
            (created,) = await events.wait_for(ticket["id"], "ticket.created")
            assert created.actor_agent_id == agent and created.ticket_number == ticket["number"]
            (routed,) = await events.wait_for(ticket["id"], "responsible.changed")
            assert routed.details["responsible_group_id"] == str(group)
        assert ticket["responsible_group_id"] == group and ticket["type_id"] == type_id
        assert ticket["sla_rule_id"] == sla_rule
        assert ticket["reaction_due_at"] is not None and ticket["resolution_due_at"] is not None

        # a responsible given: routing does not run
        given = await tickets_api.post(
            URL,
            json={
                "email": _email(),
                "subject": "Given",
                "type_id": type_id,
                "responsible_agent_id": agent,
            },
            headers={"X-Agent-Id": str(agent)},
        )
        assert given.status_code == 201, given.text
        assert given.json()["responsible_agent_id"] == agent
        assert given.json()["responsible_group_id"] is None
    finally:
        removed = await tickets_api.delete(f"/api/v1/routing/rules/{rule.json()['id']}")
        assert removed.status_code == 204, removed.text
        gone = await tickets_api.delete(f"/api/v1/sla-rules/{sla_rule}")
        assert gone.status_code in (204, 404), gone.text


async def test_a_retried_request_gets_the_same_ticket(tickets_api: Api) -> None:
    agent = (await new_agent(tickets_api))["id"]
    key = unique("key")
    headers = {"X-Agent-Id": str(agent), "Idempotency-Key": key}
    body = {"email": _email(), "subject": "Once"}
    first = await tickets_api.post(URL, json=body, headers=headers)
    second = await tickets_api.post(URL, json=body, headers=headers)
    assert (first.status_code, second.status_code) == (201, 200), second.text
    assert first.json()["id"] == second.json()["id"]
    assert len(second.json()["messages"]) == 1
    other = await tickets_api.post(
        URL, json=body, headers={**headers, "Idempotency-Key": unique("key")}
    )
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]


async def test_bad_input_is_refused_with_a_reason(tickets_api: Api) -> None:
    agent = (await new_agent(tickets_api))["id"]
    headers = {"X-Agent-Id": str(agent)}
    email = _email()
    attribute = await tickets_api.post(
        "/api/v1/ticket-attributes",
        json={
            "key": f"contract_{unique('')[:8]}",
            "label": "Contract",
            "kind": "string",
            "required_on_create": True,
        },
    )
    assert attribute.status_code == 201, attribute.text
    key = attribute.json()["key"]
    try:
        cases: list[tuple[dict[str, Any], str]] = [
            ({"subject": "No contact"}, "give the contact"),
            ({"email": email, "subject": "   "}, "subject is empty"),
            ({"email": email, "subject": "x", "type_id": 999_999}, "ticket type 999999"),
            ({"email": email, "subject": "x", "priority_id": 999_999}, "priority 999999"),
            ({"email": email, "subject": "x", "responsible_agent_id": 999_999}, "agent 999999"),
            ({"email": email, "subject": "x", "responsible_group_id": 999_999}, "group 999999"),
            ({"contact_id": 999_999_999, "subject": "x"}, "contact 999999999"),
            ({"email": "not-an-address", "subject": "x"}, ""),
            ({"email": email, "subject": "x", "channel": "pigeon"}, "channel must be"),
            ({"email": email, "subject": "x"}, key),  # required on creation, not given
            ({"email": email, "subject": "x", "custom_attributes": {"nope_zz": 1}}, "nope_zz"),
        ]
        for body, reason in cases:
            if reason != key and "custom_attributes" not in body:
                body = {**body, "custom_attributes": {key: "C-1"}}
            response = await tickets_api.post(URL, json=body, headers=headers)
            assert response.status_code == 422, (body, response.text)
            assert reason in response.json()["detail"], (body, response.text)
        filled = await tickets_api.post(
            URL,
            json={"email": email, "subject": "x", "custom_attributes": {key: "C-1"}},
            headers=headers,
        )
        assert filled.status_code == 201, filled.text
        assert filled.json()["custom_attributes"][key] == "C-1"
    finally:
        removed = await tickets_api.delete(f"/api/v1/ticket-attributes/{attribute.json()['id']}")
        assert removed.status_code == 204, removed.text
