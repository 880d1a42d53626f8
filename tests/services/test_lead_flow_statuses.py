"""The CRM lead flow on custom statuses, over the REST API: a web-form lead goes New ->
In processing -> Postponed until (a pending status with an until-time) -> back to Open
by itself when the until-time passes (the running ticket-core's status timer) ->
Processed (resolved). The recipe is in docs/console.md ("Lead flow")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from devstack.probes import eventually

from .conftest import unique

TIMEOUT = 30.0


async def _status(api: httpx.AsyncClient, name: str, category: str) -> dict[str, Any]:
    made = await api.post("/api/v1/statuses", json={"name": name, "category": category})
    assert made.status_code == 201, made.text
    row: dict[str, Any] = made.json()
    assert row["category"] == category and row["is_default"] is False
    return row


async def test_a_web_form_lead_moves_through_the_lead_statuses(
    tickets_api: httpx.AsyncClient, gateway: httpx.AsyncClient
) -> None:
    tag = unique("")
    new = await _status(tickets_api, f"New {tag}", "open")
    processing = await _status(tickets_api, f"In processing {tag}", "open")
    postponed = await _status(tickets_api, f"Postponed until {tag}", "pending")
    processed = await _status(tickets_api, f"Processed {tag}", "resolved")
    made = await tickets_api.post(
        "/api/v1/agents",
        json={
            "name": unique("Sales "),
            "email": f"{unique('sales-')}@desk.test",
            "role": "lead_specialist",
        },
    )
    assert made.status_code == 201, made.text
    as_agent = {"X-Agent-Id": str(made.json()["id"])}

    email = f"{unique('lead-')}@example.com"
    sent = await gateway.post(
        "/api/v1/webform", json={"email": email, "subject": "Quote for 40 seats", "text": "Hi"}
    )
    assert sent.status_code == 202, sent.text

    async def found() -> list[dict[str, Any]]:
        listed = await tickets_api.get("/api/v1/tickets", params={"contact_email": email})
        items: list[dict[str, Any]] = listed.json()["items"]
        return items

    (lead,) = await eventually(found, lambda t: len(t) == 1, TIMEOUT, "the web-form lead")
    url = f"/api/v1/tickets/{lead['id']}"

    async def move(body: dict[str, Any]) -> dict[str, Any]:
        moved = await tickets_api.patch(url, json=body, headers=as_agent)
        assert moved.status_code == 200, moved.text
        ticket: dict[str, Any] = moved.json()
        return ticket

    ticket = await move({"status_id": new["id"]})
    assert (ticket["status_id"], ticket["status"]) == (new["id"], "open")
    ticket = await move({"status_id": processing["id"]})
    assert (ticket["status_id"], ticket["status"]) == (processing["id"], "open")

    # "Postponed until" without an until-time is refused and changes nothing.
    refused = await tickets_api.patch(url, json={"status_id": postponed["id"]}, headers=as_agent)
    assert refused.status_code == 422 and "until" in refused.text
    until = datetime.now(UTC) + timedelta(seconds=2)
    ticket = await move({"status_id": postponed["id"], "pending_until": until.isoformat()})
    assert (ticket["status_id"], ticket["status"]) == (postponed["id"], "pending")
    assert ticket["pending_until"] is not None

    async def current() -> dict[str, Any]:
        detail: dict[str, Any] = (await tickets_api.get(url)).json()
        return detail

    # The status timer (ticket-core polls every second) brings it back to Open: the
    # category's default status, with the until-time cleared.
    woke = await eventually(current, lambda t: t["status"] == "open", TIMEOUT, "back to open")
    assert woke["pending_until"] is None and woke["status_id"] != postponed["id"]
    assert datetime.now(UTC) >= until

    ticket = await move({"status_id": processed["id"]})
    assert (ticket["status_id"], ticket["status"]) == (processed["id"], "resolved")
    audit = await tickets_api.get(f"{url}/audit", params={"limit": 200})
    assert audit.status_code == 200, audit.text
    changes = [
        (r["actor"], r["new_value"]) for r in audit.json()["items"] if r["field"] == "status"
    ]
    assert changes[-3:] == [("agent", "pending"), ("system", "open"), ("agent", "resolved")]
