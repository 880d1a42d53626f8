"""Escalation lines through the running ticket-core: a first-line agent passes a ticket to
a second-line group with a note, the second line returns it to whoever had it; notes stay
internal, both passes are audited and announced as ``ticket.escalated``."""

from __future__ import annotations

from typing import Any

from devstack.stack import Stack

from .collab_helpers import Api, as_agent, new_agent, new_group, ticket_events
from .conftest import Desk


async def _escalate(api: Api, ticket_id: int, agent: int, **body: Any) -> Any:
    return await api.post(
        f"/api/v1/tickets/{ticket_id}/escalate", json=body, headers=as_agent(agent)
    )


async def _return(api: Api, ticket_id: int, agent: int, note: str) -> Any:
    return await api.post(
        f"/api/v1/tickets/{ticket_id}/return", json={"note": note}, headers=as_agent(agent)
    )


async def test_escalate_to_the_second_line_and_return_to_the_first(
    desk: Desk, tickets_api: Api, running: Stack
) -> None:
    first = (await new_agent(tickets_api))["id"]
    second = (await new_agent(tickets_api))["id"]
    first_line = await new_group(tickets_api, [first])
    second_line = await new_group(tickets_api, [second])
    (ticket,) = await desk.tickets()
    tid = ticket["id"]
    assigned = await tickets_api.patch(
        f"/api/v1/tickets/{tid}",
        json={"responsible_group_id": first_line, "responsible_agent_id": first},
        headers=as_agent(first),
    )
    assert assigned.status_code == 200, assigned.text

    async with ticket_events(running) as events:
        response = await _escalate(
            tickets_api, tid, first, group_id=second_line, note="Needs a database fix"
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["responsible_group_id"], body["responsible_agent_id"]) == (second_line, None)
        note = body["messages"][-1]
        assert note["kind"] == "internal_note" and "Needs a database fix" in note["text"]
        assert note["outbound_id"] is None and note["recipients"] == []
        (escalated,) = await events.wait_for(tid, "ticket.escalated")
        assert escalated.details == {"line": "2", "group_id": str(second_line)}
        assert escalated.actor_agent_id == first and escalated.message_id == note["id"]

        again = await _escalate(tickets_api, tid, first, group_id=first_line, note="more")
        assert again.status_code == 409 and "already with the second line" in again.text

        # The second line takes it, then gives it back.
        taken = await tickets_api.patch(
            f"/api/v1/tickets/{tid}",
            json={"responsible_agent_id": second},
            headers=as_agent(second),
        )
        assert taken.status_code == 200, taken.text
        back = await _return(tickets_api, tid, second, "Fixed the index, please answer")
        assert back.status_code == 200, back.text
        body = back.json()
        assert (body["responsible_group_id"], body["responsible_agent_id"]) == (first_line, first)
        assert body["messages"][-1]["kind"] == "internal_note"
        returned = (await events.wait_for(tid, "ticket.escalated", count=2))[1]
        assert returned.details == {"line": "1", "group_id": str(first_line)}
        assert returned.actor_agent_id == second

    assert (await _return(tickets_api, tid, second, "again")).status_code == 409
    history = (await tickets_api.get(f"/api/v1/tickets/{tid}/escalations")).json()
    assert history["total"] == 1
    (row,) = history["items"]
    assert (row["from_agent_id"], row["from_group_id"], row["to_group_id"]) == (
        first,
        first_line,
        second_line,
    )
    assert (row["escalated_by"], row["returned_by"]) == (first, second) and row["returned_at"]
    audit = (await tickets_api.get(f"/api/v1/tickets/{tid}/audit", params={"limit": 200})).json()
    lines = [
        (r["old_value"], r["new_value"], r["agent_id"])
        for r in audit["items"]
        if r["field"] == "escalation_line"
    ]
    assert lines == [("1", "2", first), ("2", "1", second)]
    groups = [
        (r["old_value"], r["new_value"])
        for r in audit["items"]
        if r["field"] == "responsible_group_id"
    ]
    assert groups[-2:] == [(str(first_line), str(second_line)), (str(second_line), str(first_line))]


async def test_a_return_skips_an_agent_who_left(desk: Desk, tickets_api: Api) -> None:
    first = (await new_agent(tickets_api))["id"]
    second = (await new_agent(tickets_api))["id"]
    second_line = await new_group(tickets_api, [second])
    (ticket,) = await desk.tickets()
    tid = ticket["id"]
    await tickets_api.patch(
        f"/api/v1/tickets/{tid}", json={"responsible_agent_id": first}, headers=as_agent(first)
    )
    assert (
        await _escalate(tickets_api, tid, first, group_id=second_line, note="n")
    ).status_code == 200
    gone = await tickets_api.patch(f"/api/v1/agents/{first}", json={"active": False})
    assert gone.status_code == 200, gone.text
    back = await _return(tickets_api, tid, second, "done")
    assert back.status_code == 200, back.text
    assert (back.json()["responsible_agent_id"], back.json()["responsible_group_id"]) == (
        None,
        None,
    )


async def test_escalation_requests_are_validated(desk: Desk, tickets_api: Api) -> None:
    agent = (await new_agent(tickets_api))["id"]
    group = await new_group(tickets_api, [agent])
    ticket, closed = await desk.tickets(2)
    for status in ("resolved", "closed"):
        moved = await tickets_api.patch(
            f"/api/v1/tickets/{closed['id']}", json={"status": status}, headers=as_agent(agent)
        )
        assert moved.status_code == 200, moved.text
    tid = ticket["id"]
    cases: list[tuple[int, int, dict[str, Any], int, str]] = [
        (tid, agent, {"group_id": 999_999_999, "note": "x"}, 422, "do not exist"),
        (tid, agent, {"group_id": group, "note": ""}, 422, ""),
        (tid, agent, {"group_id": group, "note": "   "}, 422, "note is empty"),
        (tid, agent, {"note": "x"}, 422, ""),
        (tid, 999_999_999, {"group_id": group, "note": "x"}, 403, "deactivated"),
        (999_999_999, agent, {"group_id": group, "note": "x"}, 404, "not found"),
        (closed["id"], agent, {"group_id": group, "note": "x"}, 409, "closed is final"),
    ]
    for ticket_id, actor, body, code, reason in cases:
        response = await _escalate(tickets_api, ticket_id, actor, **body)
        assert response.status_code == code, (body, response.text)
        assert reason in response.text, (body, response.text)
    assert (await _return(tickets_api, tid, agent, "x")).status_code == 409
    after = await desk.ticket(tid)
    assert after["responsible_group_id"] is None  # nothing half-done by the refusals
    assert not [r for r in await desk.audit(tid) if r["field"] == "escalation_line"]
    await_group = await _escalate(tickets_api, tid, agent, group_id=group, note="ok")
    assert await_group.status_code == 200
    same = await _escalate(tickets_api, tid, agent, group_id=group, note="x")
    assert same.status_code == 409
