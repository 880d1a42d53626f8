"""Ticket links through the running ticket-core: adding, listing both ways, removing,
the refusals, the ingestion-made links through the same API, audit rows and events on
both tickets, and what a specialist reads through a link."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from helpdesk_common.records import Channel, InboundMessage, SenderIdentity, ThreadHints
from sqlalchemy import select
from ticket_core import repository as repo
from ticket_core.audit import Actor
from ticket_core.ticket_links import add_link

from .auth_helpers import logged_in
from .conftest import Desk

Api = httpx.AsyncClient


async def _links(api: Api, ticket_id: int, **kw: Any) -> list[tuple[str, int]]:
    response = await api.get(f"/api/v1/tickets/{ticket_id}/links", params={"limit": 200}, **kw)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == len(body["items"])
    return [(i["kind"], i["linked_ticket_id"]) for i in body["items"]]


async def _link(api: Api, agent: int, ticket_id: int, kind: str, other: int) -> httpx.Response:
    return await api.post(
        f"/api/v1/tickets/{ticket_id}/links",
        json={"kind": kind, "linked_ticket_id": other},
        headers={"X-Agent-Id": str(agent)},
    )


async def test_links_are_listed_from_both_sides_audited_and_removed(
    desk: Desk, tickets_api: Api
) -> None:
    agent = await desk.agent("administrator")
    a, b, c, d = await desk.tickets(4)
    made = await _link(tickets_api, agent, a["id"], "related", b["id"])
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["kind"], body["linked_ticket_number"], body["linked_ticket_status"]) == (
        "related",
        b["number"],
        "open",
    )
    assert body["linked_ticket_subject"] == b["subject"] and body["manual"] is True
    assert (await _link(tickets_api, agent, a["id"], "child", c["id"])).status_code == 201
    assert (await _link(tickets_api, agent, d["id"], "duplicate_of", a["id"])).status_code == 201

    assert await _links(tickets_api, a["id"]) == [
        ("related", b["id"]),
        ("child", c["id"]),
        ("duplicated_by", d["id"]),
    ]
    assert await _links(tickets_api, b["id"]) == [("related", a["id"])]
    assert await _links(tickets_api, c["id"]) == [("parent", a["id"])]
    assert await _links(tickets_api, d["id"]) == [("duplicate_of", a["id"])]
    page = await tickets_api.get(
        f"/api/v1/tickets/{a['id']}/links", params={"limit": 1, "offset": 1}
    )
    assert page.json()["total"] == 3
    assert [i["linked_ticket_id"] for i in page.json()["items"]] == [c["id"]]
    item = page.json()["items"][0]
    assert (item["linked_ticket_number"], item["created_by_agent_id"]) == (c["number"], agent)

    # each side's audit trail says what happened, as that side sees it
    links_audit = [
        (r["ticket_id"], r["old_value"], r["new_value"], r["agent_id"])
        for t in (a, b, c)
        for r in await desk.audit(t["id"])
        if r["field"] == "links"
    ]
    assert (a["id"], None, f"related #{b['number']}", agent) in links_audit
    assert (b["id"], None, f"related #{a['number']}", agent) in links_audit
    assert (a["id"], None, f"child #{c['number']}", agent) in links_audit
    assert (c["id"], None, f"parent #{a['number']}", agent) in links_audit

    # removed from either side, by the kind as that side sees it
    url = f"/api/v1/tickets/{b['id']}/links/related/{a['id']}"
    removed = await tickets_api.delete(url, headers={"X-Agent-Id": str(agent)})
    assert removed.status_code == 204, removed.text
    assert await _links(tickets_api, a["id"]) == [("child", c["id"]), ("duplicated_by", d["id"])]
    again = await tickets_api.delete(url, headers={"X-Agent-Id": str(agent)})
    assert again.status_code == 404 and "has no related link" in again.json()["detail"]
    gone = await tickets_api.delete(
        f"/api/v1/tickets/{a['id']}/links/child/{c['id']}", headers={"X-Agent-Id": str(agent)}
    )
    assert gone.status_code == 204
    assert await _links(tickets_api, c["id"]) == []
    audit_a = [
        (r["old_value"], r["new_value"]) for r in await desk.audit(a["id"]) if r["field"] == "links"
    ]
    assert (f"related #{b['number']}", None) in audit_a
    assert (f"child #{c['number']}", None) in audit_a
    # the link can be made again once removed
    assert (await _link(tickets_api, agent, c["id"], "parent", a["id"])).status_code == 201


async def test_bad_links_are_refused_and_nothing_is_kept(desk: Desk, tickets_api: Api) -> None:
    agent = await desk.agent("lead_specialist")
    a, b, c, d = await desk.tickets(4)
    assert (await _link(tickets_api, agent, a["id"], "related", b["id"])).status_code == 201
    assert (await _link(tickets_api, agent, a["id"], "parent", b["id"])).status_code == 201
    assert (await _link(tickets_api, agent, b["id"], "parent", c["id"])).status_code == 201
    assert (await _link(tickets_api, agent, d["id"], "duplicate_of", c["id"])).status_code == 201
    refusals = [
        (a["id"], "related", a["id"], 422, "cannot be linked to itself"),
        (a["id"], "sibling", b["id"], 422, "unknown link kind 'sibling'"),
        (a["id"], "follow_up_of", b["id"], 422, "made by ingestion"),
        (a["id"], "related", 999999999, 404, "ticket 999999999 not found"),
        (999999999, "related", a["id"], 404, "ticket 999999999 not found"),
        (a["id"], "related", b["id"], 409, "already related"),
        (b["id"], "related", a["id"], 409, "already related"),  # the same link, other side
        (b["id"], "child", a["id"], 409, "already child"),
        (c["id"], "parent", a["id"], 409, "cycle"),  # a -> b -> c -> a
        (c["id"], "child", b["id"], 409, "already child"),
        (a["id"], "child", c["id"], 409, "cycle"),
        (c["id"], "duplicate_of", d["id"], 409, "cycle"),
        (d["id"], "duplicate_of", a["id"], 409, "already a duplicate of ticket"),
    ]
    for ticket_id, kind, other, code, reason in refusals:
        response = await _link(tickets_api, agent, ticket_id, kind, other)
        assert response.status_code == code, (ticket_id, kind, other, response.text)
        assert reason in response.json()["detail"], (kind, response.text)
    no_agent = await tickets_api.post(
        f"/api/v1/tickets/{a['id']}/links", json={"kind": "related", "linked_ticket_id": c["id"]}
    )
    assert no_agent.status_code == 422  # the service token must name the acting agent
    assert await _links(tickets_api, a["id"]) == [("related", b["id"]), ("parent", b["id"])]
    assert await _links(tickets_api, c["id"]) == [("child", b["id"]), ("duplicated_by", d["id"])]
    bad_kind = await tickets_api.delete(
        f"/api/v1/tickets/{a['id']}/links/possible_duplicate_of/{b['id']}",
        headers={"X-Agent-Id": str(agent)},
    )
    assert bad_kind.status_code == 422 and "made by ingestion" in bad_kind.json()["detail"]


def _mail(address: str, ticket_number: int) -> InboundMessage:
    message_id = f"<{uuid.uuid4().hex}@mail.test>"
    return InboundMessage(
        idempotency_key=f"email:{message_id}",
        channel=Channel.EMAIL,
        channel_account="support",
        sender=SenderIdentity(channel_user_id=address, email=address),
        thread=ThreadHints(
            conversation_id=address, message_id=message_id, ticket_number=ticket_number
        ),
        subject=f"Re: it [#{ticket_number}]",
        text="body",
    )


async def _ticket_of_message(desk: Desk, message: InboundMessage) -> int:
    async with desk.sessions() as session:
        found = await session.scalar(
            select(repo.messages.c.ticket_id).where(
                repo.messages.c.idempotency_key == message.idempotency_key
            )
        )
    assert found is not None
    return int(found)


async def test_ingestion_made_links_show_through_the_same_api_and_reach_specialists(
    desk: Desk, tickets_api: Api
) -> None:
    specialist = await logged_in(tickets_api)
    admin = await desk.agent("administrator")
    mine, linked, beyond, unrelated = await desk.tickets(4)
    assigned = await tickets_api.patch(
        f"/api/v1/tickets/{mine['id']}",
        json={"responsible_agent_id": specialist.agent_id},
        headers={"X-Agent-Id": str(admin)},
    )
    assert assigned.status_code == 200, assigned.text
    # a stranger's mail naming my ticket's number: a new ticket, possible duplicate of mine
    stranger = _mail(f"{uuid.uuid4().hex[:10]}@gmail.com", mine["number"])
    assert (await desk.ingest([stranger])).created == 1
    duplicate = await _ticket_of_message(desk, stranger)
    assert await _links(tickets_api, duplicate) == [("possible_duplicate_of", mine["id"])]
    listed = (await tickets_api.get(f"/api/v1/tickets/{mine['id']}/links")).json()["items"]
    assert [(i["kind"], i["linked_ticket_id"], i["manual"]) for i in listed] == [
        ("possibly_duplicated_by", duplicate, False)
    ]

    h = specialist.headers
    assert (await tickets_api.get(f"/api/v1/tickets/{linked['id']}", headers=h)).status_code == 404
    assert (await _link(tickets_api, admin, mine["id"], "related", linked["id"])).status_code == 201
    assert (await _link(tickets_api, admin, linked["id"], "child", beyond["id"])).status_code == 201

    # reads reach one hop from the specialist's own tickets, both kinds of links
    for readable in (linked["id"], duplicate):
        seen = await tickets_api.get(f"/api/v1/tickets/{readable}", headers=h)
        assert seen.status_code == 200, (readable, seen.text)
    for hidden in (beyond["id"], unrelated["id"]):
        refused = await tickets_api.get(f"/api/v1/tickets/{hidden}", headers=h)
        assert refused.status_code == 404, (hidden, refused.text)
    listed_ids = {
        t["id"]
        for t in (
            await tickets_api.get("/api/v1/tickets", params={"limit": 200}, headers=h)
        ).json()["items"]
    }
    assert {mine["id"], linked["id"], duplicate} <= listed_ids
    assert not {beyond["id"], unrelated["id"]} & listed_ids
    # the links of a linked ticket: only those the specialist may read
    assert await _links(tickets_api, linked["id"], headers=h) == [("related", mine["id"])]
    assert await _links(tickets_api, linked["id"]) == [
        ("related", mine["id"]),
        ("child", beyond["id"]),
    ]
    # reading is not changing: the linked ticket refuses writes, new links to hidden tickets
    # are 404, and a link to a ticket the specialist concerns is theirs to make
    writes = [
        ("PATCH", f"/api/v1/tickets/{linked['id']}", {"priority_id": linked["priority_id"]}),
        ("POST", f"/api/v1/tickets/{linked['id']}/replies", {"text": "x", "internal": True}),
        (
            "POST",
            f"/api/v1/tickets/{linked['id']}/links",
            {"kind": "related", "linked_ticket_id": mine["id"]},
        ),
        (
            "POST",
            f"/api/v1/tickets/{mine['id']}/links",
            {"kind": "related", "linked_ticket_id": unrelated["id"]},
        ),
        ("DELETE", f"/api/v1/tickets/{mine['id']}/links/related/{linked['id']}", None),
    ]
    for method, url, payload in writes:
        refused = await tickets_api.request(method, url, json=payload, headers=h)
        assert refused.status_code == 404, (method, url, refused.text)
    assert (await _links(tickets_api, mine["id"]))[-1] == ("related", linked["id"])
    own = await tickets_api.post(
        f"/api/v1/tickets/{mine['id']}/links",
        json={"kind": "parent", "linked_ticket_id": mine["id"]},
        headers=h,
    )
    assert own.status_code == 422
    second = (await desk.tickets(1))[0]
    await desk.change([second["id"]], Actor.agent(admin), responsible_agent_id=specialist.agent_id)
    by_specialist = await tickets_api.post(
        f"/api/v1/tickets/{mine['id']}/links",
        json={"kind": "parent", "linked_ticket_id": second["id"]},
        headers=h,
    )
    assert by_specialist.status_code == 201, by_specialist.text
    assert by_specialist.json()["created_by_agent_id"] == specialist.agent_id


async def test_a_link_writes_a_field_changed_event_for_each_ticket(desk: Desk) -> None:
    agent = await desk.agent("administrator")
    a, b = await desk.tickets(2)
    async with desk.sessions() as session, session.begin():
        result = await add_link(
            session, a["id"], "parent", b["id"], Actor.agent(agent), datetime.now(UTC)
        )
        rows = await session.execute(
            select(repo.outbox.c.payload).where(repo.outbox.c.id.in_(result.outbox_ids))
        )
        events = [json.loads(p) for (p,) in rows]
    assert len(events) == 2
    by_ticket = {e["ticket_id"]: e for e in events}
    assert by_ticket[a["id"]]["kind"] == "field.changed"
    assert by_ticket[a["id"]]["actor_agent_id"] == agent
    assert by_ticket[a["id"]]["details"] == {
        "field": "links",
        "change": "added",
        "link": "parent",
        "linked_ticket_id": str(b["id"]),
        "linked_ticket_number": str(b["number"]),
    }
    assert by_ticket[b["id"]]["details"]["link"] == "child"
    assert by_ticket[b["id"]]["details"]["linked_ticket_id"] == str(a["id"])


async def test_merging_a_duplicate_links_notes_and_resolves_it(
    desk: Desk, tickets_api: Api
) -> None:
    agent = await desk.agent("lead_specialist")
    duplicate, original, other = await desk.tickets(3)
    headers = {"X-Agent-Id": str(agent)}
    url = f"/api/v1/tickets/{duplicate['id']}/merge-into/{original['id']}"
    merged = await tickets_api.post(url, headers=headers)
    assert merged.status_code == 200, merged.text
    assert (merged.json()["linked"], merged.json()["resolved"]) == (True, True)
    assert (await desk.ticket(duplicate["id"]))["status"] == "resolved"
    assert (await desk.ticket(original["id"]))["status"] == "open"
    assert await _links(tickets_api, duplicate["id"]) == [("duplicate_of", original["id"])]
    status_audit = [r for r in await desk.audit(duplicate["id"]) if r["field"] == "status"]
    assert [(r["new_value"], r["reason"], r["agent_id"]) for r in status_audit] == [
        ("resolved", f"merged into ticket #{original['number']}", agent)
    ]
    for ticket, text in (
        (duplicate, f"Merged into ticket #{original['number']}"),
        (original, f"Ticket #{duplicate['number']} was merged into this one"),
    ):
        detail = (await tickets_api.get(f"/api/v1/tickets/{ticket['id']}")).json()
        notes = [m["text"] for m in detail["messages"] if m["kind"] == "system"]
        assert len(notes) == 1 and notes[0].startswith(text), notes
    # merging again changes nothing more; another original, itself, a missing one: refused
    again = await tickets_api.post(url, headers=headers)
    assert again.status_code == 200
    assert (again.json()["linked"], again.json()["resolved"]) == (False, False)
    for path, code in (
        (f"/api/v1/tickets/{duplicate['id']}/merge-into/{other['id']}", 409),
        (f"/api/v1/tickets/{original['id']}/merge-into/{duplicate['id']}", 409),  # a cycle
        (f"/api/v1/tickets/{other['id']}/merge-into/{other['id']}", 422),
        (f"/api/v1/tickets/{other['id']}/merge-into/999999999", 404),
    ):
        response = await tickets_api.post(path, headers=headers)
        assert response.status_code == code, (path, response.text)
    assert (await desk.ticket(other["id"]))["status"] == "open"
    assert (await desk.ticket(original["id"]))["status"] == "open"
