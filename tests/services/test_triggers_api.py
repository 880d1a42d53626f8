"""Triggers and macros through the running ticket-core: the REST API and its validation,
macros applied by an agent, the built-in "customer reply on Waiting for reply -> Open"
through the trigger consumer of ``ticket.events.v1``, and a redelivered event firing once.

Every trigger made here names this test's own contact, so it never touches other tickets.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from helpdesk_common.broker import make_broker, publish
from helpdesk_common.records import TicketEvent, TicketEventKind
from helpdesk_common.topics import TICKET_EVENTS
from ticket_core.settings import TicketCoreSettings

from .conftest import Desk, unique, webform

Api = httpx.AsyncClient
REOPEN = "Customer reply on 'Waiting for reply' -> Open"


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 60.0) -> None:
    """Poll until ``check`` holds (bounded): the consumer works asynchronously."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.2)


async def _agent(api: Api) -> int:
    response = await api.post(
        "/api/v1/agents", json={"name": unique("Agent "), "email": f"{unique('a')}@desk.test"}
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def _catalogue(api: Api, path: str) -> list[dict[str, Any]]:
    response = await api.get(path, params={"limit": 200})
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def _all_trigger_ids(api: Api) -> list[int]:
    ids: list[int] = []
    while True:
        page = (await api.get("/api/v1/triggers", params={"limit": 200, "offset": len(ids)})).json()
        ids += [t["id"] for t in page["items"]]
        if len(ids) >= page["total"]:
            return ids


def _mine(email: str) -> dict[str, Any]:
    return {"all": [{"field": "contact.email", "op": "eq", "value": email}]}


async def _ticket_for(desk: Desk, email: str) -> dict[str, Any]:
    await desk.ingest([webform(email)])
    ticket: dict[str, Any] | None = await desk.ticket_of(email)
    assert ticket is not None
    return dict(ticket)


async def test_triggers_are_validated_ordered_switched_and_deleted(tickets_api: Api) -> None:
    api = tickets_api
    email = f"{unique('c')}@example.com"
    note = [{"type": "add_note", "text": "hi"}]
    refusals: list[tuple[dict[str, Any], str]] = [
        (
            {"conditions": {"all": [{"field": "ticket.colour", "op": "eq", "value": 1}]}},
            "conditions.all[0]: unknown field 'ticket.colour'",
        ),
        (
            {"conditions": {"field": "ticket.status", "op": "like", "value": "x"}},
            "unknown operator 'like'",
        ),
        ({"actions": [{"type": "explode"}]}, "explode"),
        ({"actions": [{"type": "set_status", "status_id": 987654}]}, "status 987654 does not"),
        ({"actions": [{"type": "assign", "agent_id": 987654}]}, "agent(s) [987654] do not"),
        ({"event": "time"}, "needs time_anchor and time_after_hours"),
        (
            {"event": "time", "time_anchor": "subject", "time_after_hours": 2},
            "is not a ticket timestamp",
        ),
        ({"time_anchor": "created_at", "time_after_hours": 2}, "for time triggers only"),
        ({"event": "ticket.deleted"}, "ticket.deleted"),
    ]
    for change, reason in refusals:
        body = {"name": unique("T "), "event": "ticket.created", "actions": note} | change
        response = await api.post("/api/v1/triggers", json=body)
        assert response.status_code == 422, (change, response.text)
        assert reason in response.text, (reason, response.text)

    made = []
    for _ in range(2):
        response = await api.post(
            "/api/v1/triggers",
            json={
                "name": unique("T "),
                "event": "ticket.created",
                "conditions": _mine(email),
                "actions": [{"type": "assign", "group_id": None}, *note],
            },
        )
        assert response.status_code == 201, response.text
        made.append(response.json())
    first, second = made
    assert second["position"] > first["position"] and first["enabled"] is True
    assert first["actions"][0] == {"type": "assign", "group_id": None}  # agent: kept
    duplicate = await api.post(
        "/api/v1/triggers", json={"name": first["name"], "event": "agent.reply", "actions": note}
    )
    assert duplicate.status_code == 409, duplicate.text

    url = f"/api/v1/triggers/{first['id']}"
    bad = await api.patch(url, json={"conditions": {"any": [{"field": "x.y", "op": "eq"}]}})
    assert bad.status_code == 422 and "unknown field 'x.y'" in bad.text
    assert (await api.patch(url, json={"enabled": None})).status_code == 422
    renamed = await api.patch(url, json={"name": first["name"] + " renamed"})
    assert renamed.status_code == 200 and renamed.json()["name"].endswith(" renamed")
    assert (await api.post(f"{url}/disable")).json()["enabled"] is False
    disabled = await api.get("/api/v1/triggers", params={"enabled": False, "limit": 200})
    assert first["id"] in [t["id"] for t in disabled.json()["items"]]
    assert (await api.post(f"{url}/enable")).json()["enabled"] is True
    as_time = await api.patch(
        url, json={"event": "time", "time_anchor": "created_at", "time_after_hours": 1}
    )
    assert as_time.status_code == 200 and as_time.json()["time_anchor"] == "created_at"
    back = await api.patch(url, json={"event": "status.changed"})
    assert back.status_code == 200 and back.json()["time_anchor"] is None

    everything = await _all_trigger_ids(api)
    rest = [t for t in everything if t not in (first["id"], second["id"])]
    order = [second["id"], first["id"], *rest]
    assert (await api.put("/api/v1/triggers/order", json={"ids": order})).status_code == 200
    listed = (await api.get("/api/v1/triggers", params={"limit": 2})).json()["items"]
    assert [t["id"] for t in listed] == [second["id"], first["id"]]
    missing = await api.put("/api/v1/triggers/order", json={"ids": order[1:]})
    assert missing.status_code == 422 and "missing" in missing.text
    unknown = await api.put("/api/v1/triggers/order", json={"ids": [*order, 987654]})
    assert unknown.status_code == 422 and "987654" in unknown.text
    twice = await api.put("/api/v1/triggers/order", json={"ids": [*order, order[0]]})
    assert twice.status_code == 422

    for trigger in made:
        assert (await api.delete(f"/api/v1/triggers/{trigger['id']}")).status_code == 204
    assert (await api.get(url)).status_code == 404
    assert (await api.delete(url)).status_code == 404


async def test_a_macro_applies_its_actions_as_the_agent(desk: Desk, tickets_api: Api) -> None:
    api = tickets_api
    agent = await _agent(api)
    pending = next(
        s["id"]
        for s in await _catalogue(api, "/api/v1/statuses")
        if s["category"] == "pending" and s["is_default"]
    )
    closed = next(
        s["id"]
        for s in await _catalogue(api, "/api/v1/statuses")
        if s["category"] == "closed" and s["is_default"]
    )
    high = next(p["id"] for p in await _catalogue(api, "/api/v1/priorities") if p["name"] == "high")
    for actions, reason in [
        ([{"type": "set_status", "status_id": pending}], "give pending_hours"),
        ([{"type": "set_priority", "priority_id": 987654}], "priority 987654 does not exist"),
        ([{"type": "wave"}], "wave"),
    ]:
        response = await api.post("/api/v1/macros", json={"name": unique("M "), "actions": actions})
        assert response.status_code == 422 and reason in response.text, response.text
    created = await api.post(
        "/api/v1/macros",
        json={
            "name": unique("Ask for details "),
            "actions": [
                {"type": "set_status", "status_id": pending, "pending_hours": 4},
                {"type": "set_priority", "priority_id": high},
                {"type": "add_tag", "tag": "needs-info"},
                {"type": "reply", "text": "Which model is the printer?"},
            ],
        },
    )
    assert created.status_code == 201, created.text
    macro = created.json()
    refusing = (
        await api.post(
            "/api/v1/macros",
            json={
                "name": unique("Close "),
                "actions": [
                    {"type": "add_tag", "tag": "closing"},
                    {"type": "set_status", "status_id": closed},
                ],
            },
        )
    ).json()
    email = f"{unique('c')}@example.com"
    ticket = await _ticket_for(desk, email)
    headers = {"X-Agent-Id": str(agent)}
    url = f"/api/v1/tickets/{ticket['id']}/macros/{macro['id']}"

    assert (await api.post(url)).status_code == 422  # no agent named
    assert (await api.post(url, headers={"X-Agent-Id": "987654"})).status_code == 403
    missing = f"/api/v1/tickets/{ticket['id']}/macros/987654"
    assert (await api.post(missing, headers=headers)).status_code == 404
    no_ticket = f"/api/v1/tickets/987654321/macros/{macro['id']}"
    assert (await api.post(no_ticket, headers=headers)).status_code == 404

    applied = await api.post(url, headers=headers)
    assert applied.status_code == 200, applied.text
    body = applied.json()
    assert (body["status"], body["status_id"], body["priority_id"]) == ("pending", pending, high)
    assert body["tags"] == ["needs-info"] and body["pending_until"] is not None
    replies = [m for m in body["messages"] if m["kind"] == "public_reply"]
    assert [(m["text"], m["recipients"]) for m in replies] == [
        ("Which model is the printer?", [email])
    ]
    trail = (await api.get(f"/api/v1/tickets/{ticket['id']}/audit")).json()["items"]
    by_macro = [r for r in trail if r["reason"] == f"macro {macro['name']}"]
    assert {r["field"] for r in by_macro} >= {"status", "priority_id", "tags"}
    assert {(r["actor"], r["agent_id"]) for r in by_macro} == {("agent", agent)}

    refused = await api.post(
        f"/api/v1/tickets/{ticket['id']}/macros/{refusing['id']}", headers=headers
    )
    assert refused.status_code == 422 and "cannot go from pending to closed" in refused.text
    unchanged = (await api.get(f"/api/v1/tickets/{ticket['id']}")).json()
    assert unchanged["tags"] == ["needs-info"] and unchanged["status"] == "pending"

    listed = (await api.get("/api/v1/macros", params={"limit": 200})).json()
    assert macro["id"] in [m["id"] for m in listed["items"]]
    patched = await api.patch(f"/api/v1/macros/{macro['id']}", json={"name": unique("M ")})
    assert patched.status_code == 200
    assert (
        await api.patch(f"/api/v1/macros/{macro['id']}", json={"actions": []})
    ).status_code == 422
    for made in (macro, refusing):
        assert (await api.delete(f"/api/v1/macros/{made['id']}")).status_code == 204
    assert (await api.get(f"/api/v1/macros/{macro['id']}")).status_code == 404


async def test_a_customer_reply_on_waiting_for_reply_reopens_through_the_consumer(
    desk: Desk, tickets_api: Api
) -> None:
    api = tickets_api
    statuses = await _catalogue(api, "/api/v1/statuses")
    waiting = next(s for s in statuses if s["name"] == "Waiting for reply")
    open_id = next(s["id"] for s in statuses if s["category"] == "open" and s["is_default"])
    assert waiting["category"] == "open"
    default = next(
        t
        for t in (await api.get("/api/v1/triggers", params={"limit": 200})).json()["items"]
        if t["name"] == REOPEN
    )
    assert default["enabled"] is True
    agent = await _agent(api)
    email = f"{unique('c')}@example.com"
    ticket = await _ticket_for(desk, email)
    url = f"/api/v1/tickets/{ticket['id']}"
    moved = await api.patch(
        url, json={"status_id": waiting["id"]}, headers={"X-Agent-Id": str(agent)}
    )
    assert moved.status_code == 200 and moved.json()["status_id"] == waiting["id"]

    await desk.ingest([webform(email, "It is the LaserJet 4")])

    async def reopened() -> bool:
        return bool((await api.get(url)).json()["status_id"] == open_id)

    await eventually(reopened)
    trail = (await api.get(f"{url}/audit")).json()["items"]
    assert [(r["actor"], r["new_value"]) for r in trail if r["reason"] == f"trigger {REOPEN}"] == [
        ("system", str(open_id))
    ]
    fired = (await api.get(f"{url}/trigger-firings")).json()["items"]
    assert [(f["trigger_id"], f["error"]) for f in fired] == [(default["id"], None)]


async def test_a_redelivered_event_fires_once_through_the_consumer(
    desk: Desk, tickets_api: Api, infra: Any
) -> None:
    api = tickets_api
    email = f"{unique('c')}@example.com"
    created = await api.post(
        "/api/v1/triggers",
        json={
            "name": unique("Redelivery "),
            "event": "sla.warning",
            "conditions": _mine(email),
            "actions": [{"type": "add_note", "text": "SLA warning noted"}],
        },
    )
    assert created.status_code == 201, created.text
    trigger = created.json()
    ticket = await _ticket_for(desk, email)
    broker = make_broker(TicketCoreSettings(kafka_bootstrap_servers=infra.kafka))
    await broker.connect()
    try:
        warning = TicketEvent(
            kind=TicketEventKind.SLA_WARNING,
            ticket_id=ticket["id"],
            ticket_number=ticket["number"],
            contact_id=ticket["contact_id"],
            details={"target": "reaction", "due_at": "2030-01-01T00:00:00+00:00"},
        )
        later = warning.model_copy(update={"event_id": unique("e")})
        for record in (warning, warning, later):  # the first one delivered twice
            await publish(broker, TICKET_EVENTS, record, producer="test")
    finally:
        await broker.stop()

    async def notes() -> list[dict[str, Any]]:
        detail = (await api.get(f"/api/v1/tickets/{ticket['id']}")).json()
        return [m for m in detail["messages"] if m["kind"] == "internal_note"]

    async def both_handled() -> bool:
        return len(await notes()) >= 2

    # Same key, same partition, in order: once the later event's note exists, the
    # duplicate before it has been handled too.
    await eventually(both_handled)
    assert [n["text"] for n in await notes()] == ["SLA warning noted"] * 2
    fired = (await api.get(f"/api/v1/tickets/{ticket['id']}/trigger-firings")).json()["items"]
    assert sorted(f["event_id"] for f in fired) == sorted([warning.event_id, later.event_id])
    assert (await api.delete(f"/api/v1/triggers/{trigger['id']}")).status_code == 204
