"""Statuses, ticket types and priorities switched off (``active``, migration 0015), against
the running ticket-core: an inactive row is refused as a new choice (create, change,
bulk: 422 with the reason) while a ticket that has it keeps it (and other changes to
that ticket still work); defaults cannot be switched off. Every row switched off here
is made by the test and switched on again at its end (the session shares one desk: other
tests pick rows of the catalogue and must not meet an inactive one)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from .conftest import unique

Api = httpx.AsyncClient
TICKETS = "/api/v1/tickets"


async def _agent(api: Api) -> dict[str, str]:
    made = await api.post(
        "/api/v1/agents",
        json={
            "name": unique("Agent "),
            "email": f"{unique('a')}@desk.test",
            "role": "administrator",
        },
    )
    assert made.status_code == 201, made.text
    return {"X-Agent-Id": str(made.json()["id"])}


MADE: list[str] = []  # rows of the running test, switched on again at its end


@pytest.fixture(autouse=True)
async def switched_on_again(tickets_api: Api) -> AsyncIterator[None]:
    yield
    while MADE:
        await tickets_api.patch(MADE.pop(), json={"active": True})


async def _row(api: Api, path: str, **body: Any) -> dict[str, Any]:
    made = await api.post(path, json={"name": unique("Row "), **body})
    assert made.status_code == 201, made.text
    row: dict[str, Any] = made.json()
    MADE.append(f"{path}/{row['id']}")
    assert row["active"] in (True, body.get("active"))
    return row


async def _switch(api: Api, path: str, row_id: int, active: bool) -> httpx.Response:
    return await api.patch(f"{path}/{row_id}", json={"active": active})


async def _ticket(api: Api, **body: Any) -> dict[str, Any]:
    made = await api.post(
        TICKETS, json={"email": f"{unique('c')}@active.test", "subject": unique("S "), **body}
    )
    assert made.status_code == 201, made.text
    ticket: dict[str, Any] = made.json()
    return ticket


async def _get(api: Api, ticket_id: int) -> dict[str, Any]:
    found = await api.get(f"{TICKETS}/{ticket_id}")
    assert found.status_code == 200, found.text
    ticket: dict[str, Any] = found.json()
    return ticket


async def test_an_inactive_type_and_priority_are_kept_by_tickets_but_not_chosen_again(
    tickets_api: Api,
) -> None:
    agent = await _agent(tickets_api)
    kind = await _row(tickets_api, "/api/v1/ticket-types")
    urgent = await _row(tickets_api, "/api/v1/priorities", position=1, colour="#aa0000")
    keeper = await _ticket(tickets_api, type_id=kind["id"], priority_id=urgent["id"])
    other = await _ticket(tickets_api)

    for path, row in (("/api/v1/ticket-types", kind), ("/api/v1/priorities", urgent)):
        switched = await _switch(tickets_api, path, row["id"], False)
        assert switched.status_code == 200 and switched.json()["active"] is False
        listed = await tickets_api.get(path, params={"limit": 200})
        assert {r["id"]: r["active"] for r in listed.json()["items"]}[row["id"]] is False

    # the ticket that has them keeps them, and its other fields still change
    kept = await _get(tickets_api, keeper["id"])
    assert (kept["type_id"], kept["priority_id"]) == (kind["id"], urgent["id"])
    same = await tickets_api.patch(
        f"{TICKETS}/{keeper['id']}",
        json={
            "type_id": kind["id"],
            "priority_id": urgent["id"],
            "status": "pending",
            "pending_until": "2999-01-01T00:00:00Z",
        },
        headers=agent,
    )
    assert same.status_code == 200, same.text
    kept = await _get(tickets_api, keeper["id"])
    assert (kept["type_id"], kept["priority_id"], kept["status"]) == (
        kind["id"],
        urgent["id"],
        "pending",
    )

    # ... but they are no new choice: create, change and bulk answer 422 with the reason
    for field, row, what in (("type_id", kind, "ticket type"), ("priority_id", urgent, "priority")):
        created = await tickets_api.post(
            TICKETS, json={"email": f"{unique('c')}@active.test", "subject": "x", field: row["id"]}
        )
        assert created.status_code == 422, created.text
        assert created.json()["detail"] == f"{what} {row['name']!r} is inactive"
        changed = await tickets_api.patch(
            f"{TICKETS}/{other['id']}", json={field: row["id"]}, headers=agent
        )
        assert changed.status_code == 422 and "is inactive" in changed.json()["detail"]
        bulk = await tickets_api.post(
            f"{TICKETS}/bulk",
            json={"ticket_ids": [other["id"], keeper["id"]], field: row["id"]},
            headers=agent,
        )
        assert bulk.status_code == 200, bulk.text
        failed = {f["ticket_id"]: f["error"] for f in bulk.json()["failed"]}
        assert "is inactive" in failed[other["id"]] and keeper["id"] not in failed
    untouched = await _get(tickets_api, other["id"])
    assert untouched["type_id"] is None and untouched["priority_id"] != urgent["id"]

    # switched on again, it is a choice again
    assert (await _switch(tickets_api, "/api/v1/ticket-types", kind["id"], True)).json()["active"]
    changed = await tickets_api.patch(
        f"{TICKETS}/{other['id']}", json={"type_id": kind["id"]}, headers=agent
    )
    assert changed.status_code == 200, changed.text
    assert (await _get(tickets_api, other["id"]))["type_id"] == kind["id"]


async def test_an_inactive_status_is_no_target_but_tickets_in_it_stay(tickets_api: Api) -> None:
    agent = await _agent(tickets_api)
    waiting = await _row(tickets_api, "/api/v1/statuses", category="open", position=900)
    inside = await _ticket(tickets_api)
    moved = await tickets_api.patch(
        f"{TICKETS}/{inside['id']}", json={"status_id": waiting["id"]}, headers=agent
    )
    assert moved.status_code == 200, moved.text
    assert (await _switch(tickets_api, "/api/v1/statuses", waiting["id"], False)).status_code == 200

    outside = await _ticket(tickets_api)
    refused = await tickets_api.patch(
        f"{TICKETS}/{outside['id']}", json={"status_id": waiting["id"]}, headers=agent
    )
    assert refused.status_code == 422
    assert refused.json()["detail"] == f"status {waiting['name']!r} is inactive"
    kept = await tickets_api.patch(
        f"{TICKETS}/{inside['id']}", json={"status_id": waiting["id"]}, headers=agent
    )
    assert kept.status_code == 200, kept.text
    assert (await _get(tickets_api, inside["id"]))["status_id"] == waiting["id"]
    left = await tickets_api.patch(
        f"{TICKETS}/{inside['id']}", json={"status": "resolved"}, headers=agent
    )
    assert left.status_code == 200, left.text  # leaving it is always possible


async def test_defaults_cannot_be_switched_off_nor_an_inactive_row_made_default(
    tickets_api: Api,
) -> None:
    listed = await tickets_api.get("/api/v1/statuses", params={"limit": 200})
    defaults = [s for s in listed.json()["items"] if s["is_default"]]
    assert sorted(s["category"] for s in defaults) == ["closed", "open", "pending", "resolved"]
    for status in defaults:
        refused = await _switch(tickets_api, "/api/v1/statuses", status["id"], False)
        assert refused.status_code == 422, refused.text
        assert "cannot be inactive" in refused.json()["detail"]
    priorities = (await tickets_api.get("/api/v1/priorities", params={"limit": 200})).json()
    default_priority = next(p for p in priorities["items"] if p["is_default"])
    refused = await _switch(tickets_api, "/api/v1/priorities", default_priority["id"], False)
    assert refused.status_code == 422, refused.text
    after = (await tickets_api.get("/api/v1/statuses", params={"limit": 200})).json()["items"]
    assert all(s["active"] for s in after if s["is_default"])

    spare = await _row(tickets_api, "/api/v1/statuses", category="pending", active=True)
    assert (await _switch(tickets_api, "/api/v1/statuses", spare["id"], False)).status_code == 200
    made_default = await tickets_api.patch(
        f"/api/v1/statuses/{spare['id']}", json={"is_default": True}
    )
    assert made_default.status_code == 422, made_default.text
    still = (await tickets_api.get(f"/api/v1/statuses/{spare['id']}")).json()
    assert (still["is_default"], still["active"]) == (False, False)
    born_off = await _row(tickets_api, "/api/v1/ticket-types", active=False)
    assert born_off["active"] is False


async def _rule(api: Api, path: str, actions: list[dict[str, Any]]) -> httpx.Response:
    body: dict[str, Any] = {"name": unique("Rule "), "actions": actions}
    if path == "/api/v1/triggers":  # never fires: disabled, and only for a contact of none
        never = {"field": "contact.email", "op": "eq", "value": f"{unique('n')}@never.test"}
        body |= {"event": "ticket.created", "conditions": {"all": [never]}, "enabled": False}
    return await api.post(path, json=body)


async def test_triggers_and_macros_may_not_newly_set_an_inactive_row(tickets_api: Api) -> None:
    """Saving a trigger or macro action that sets an inactive status, priority or type is
    a 422 with the ticket path's reason; a rule that set the row before it was switched
    off keeps it when it is changed."""
    status = await _row(tickets_api, "/api/v1/statuses", category="open", position=901)
    priority = await _row(tickets_api, "/api/v1/priorities", position=1, colour="#00aa00")
    kind = await _row(tickets_api, "/api/v1/ticket-types")
    sets = [
        {"type": "set_status", "status_id": status["id"]},
        {"type": "set_priority", "priority_id": priority["id"]},
        {"type": "set_type", "type_id": kind["id"]},
    ]
    made: list[str] = []
    try:
        holders = {}
        for path in ("/api/v1/triggers", "/api/v1/macros"):
            answer = await _rule(tickets_api, path, sets)  # all active: accepted
            assert answer.status_code == 201, answer.text
            holders[path] = answer.json()
            plain = await _rule(tickets_api, path, [{"type": "add_tag", "tag": "plain"}])
            assert plain.status_code == 201, plain.text
            made += [f"{path}/{holders[path]['id']}", f"{path}/{plain.json()['id']}"]
            holders[path + "#plain"] = plain.json()
        for path, row in (
            ("/api/v1/statuses", status),
            ("/api/v1/priorities", priority),
            ("/api/v1/ticket-types", kind),
        ):
            assert (await _switch(tickets_api, path, row["id"], False)).status_code == 200

        reasons = [
            f"status {status['name']!r} is inactive",
            f"priority {priority['name']!r} is inactive",
            f"ticket type {kind['name']!r} is inactive",
        ]
        for path in ("/api/v1/triggers", "/api/v1/macros"):
            plain = holders[path + "#plain"]
            for action, reason in zip(sets, reasons, strict=True):
                new = await _rule(tickets_api, path, [{"type": "add_tag", "tag": "x"}, action])
                assert new.status_code == 422, new.text
                assert new.json()["detail"] == f"actions[1]: {reason}"
                # a rule that did not set it may not start to
                changed = await tickets_api.patch(
                    f"{path}/{plain['id']}", json={"actions": [action]}
                )
                assert changed.status_code == 422, changed.text
                assert changed.json()["detail"] == f"actions[0]: {reason}"
            unchanged = (await tickets_api.get(f"{path}/{plain['id']}")).json()
            assert unchanged["actions"] == [{"type": "add_tag", "tag": "plain"}]

            # the rule that set them keeps them: saved again with another action and renamed
            holder = holders[path]
            kept = await tickets_api.patch(
                f"{path}/{holder['id']}",
                json={"name": unique("Kept "), "actions": [*sets, {"type": "add_tag", "tag": "k"}]},
            )
            assert kept.status_code == 200, kept.text
            assert kept.json()["actions"] == [*sets, {"type": "add_tag", "tag": "k"}]

        # switched on again, it is a choice again
        assert (
            await _switch(tickets_api, "/api/v1/statuses", status["id"], True)
        ).status_code == 200
        again = await _rule(tickets_api, "/api/v1/macros", [sets[0]])
        assert again.status_code == 201, again.text
        made.append(f"/api/v1/macros/{again.json()['id']}")
    finally:
        for url in made:
            assert (await tickets_api.delete(url)).status_code == 204
