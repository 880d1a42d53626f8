"""Canned responses through the running ticket-core: templates checked when saved, lists
per group, and rendering for a ticket and the acting agent."""

from __future__ import annotations

from typing import Any

from ticket_core.canned import RenderValues, TemplateRefused, render, validate

from .collab_helpers import Api, as_agent, new_agent, new_group
from .conftest import Desk, unique

GREETING = (
    "Hello {{ contact.name }},\n"
    "about request #{{ ticket.number }} ({{ ticket.subject }}): it is fixed.\n"
    "{{ agent.name }}"
)


def test_templates_name_only_known_placeholders() -> None:
    for good in (GREETING, "{{ contact.name|upper }}", "{% if contact.email %}x{% endif %}"):
        validate(good)
    refused = {
        "{{ contact.phone }}": "unknown placeholder contact.phone",
        "{{ customer.name }}": "unknown placeholder customer",
        "{{ contact }}": "unknown placeholder contact",
        "{{ ticket.__class__ }}": "not allowed",
        "{{ contact.name|shout }}": "does not parse",
        "{% if contact.name %}": "does not parse",
        "{{ range(3) }}": "unknown placeholder range",
    }
    for text, reason in refused.items():
        try:
            validate(text)
        except TemplateRefused as exc:
            assert reason in str(exc), (text, exc)
        else:
            raise AssertionError(f"{text!r} was accepted")
    values = RenderValues("Ann", "ann@x.test", 1234, "Printer", None, None)
    assert render("#{{ ticket.number }} {{ contact.email }}", values) == "#1234 ann@x.test"
    try:
        render(GREETING, values)
    except TemplateRefused as exc:
        assert "agent" in str(exc)
    else:
        raise AssertionError("rendered without an agent")


async def _create(api: Api, **body: Any) -> Any:
    return await api.post("/api/v1/canned-responses", json=body)


async def test_canned_responses_crud_lists_and_refusals(tickets_api: Api) -> None:
    group, other = await new_group(tickets_api, []), await new_group(tickets_api, [])
    category = unique("billing")
    made = []
    for title, owner in (("B reply", group), ("A reply", group), ("Elsewhere", other)):
        response = await _create(
            tickets_api, group_id=owner, category=category, title=title, text=GREETING
        )
        assert response.status_code == 201, response.text
        made.append(response.json())
    shared = await _create(tickets_api, group_id=None, title=unique("Shared "), text="Hi")
    assert shared.status_code == 201, shared.text

    refusals: list[tuple[dict[str, Any], str]] = [
        ({"title": "x", "text": "Dear {{ contact.nickname }}"}, "contact.nickname"),
        ({"title": "x", "text": "{% for %}"}, "does not parse"),
        ({"title": "x", "text": "ok", "group_id": 999_999_999}, "does not exist"),
        ({"title": "", "text": "ok"}, ""),
        ({"title": "x", "text": ""}, ""),
        ({"title": "x", "text": "ok", "colour": "red"}, ""),
    ]
    for body, reason in refusals:
        response = await _create(tickets_api, **body)
        assert response.status_code == 422, (body, response.text)
        assert reason in response.text, (body, response.text)

    page = await tickets_api.get("/api/v1/canned-responses", params={"group_id": group})
    assert page.status_code == 200
    assert [r["title"] for r in page.json()["items"]] == ["A reply", "B reply"]
    assert page.json()["total"] == 2
    with_shared = await tickets_api.get(
        "/api/v1/canned-responses",
        params={"group_id": group, "include_shared": "true", "limit": 200},
    )
    assert shared.json()["id"] in {r["id"] for r in with_shared.json()["items"]}
    by_category = await tickets_api.get(
        "/api/v1/canned-responses", params={"category": category, "limit": 1, "offset": 1}
    )
    assert by_category.json()["total"] == 3 and len(by_category.json()["items"]) == 1

    target = made[0]["id"]
    bad_patch = await tickets_api.patch(
        f"/api/v1/canned-responses/{target}", json={"text": "{{ agent.salary }}"}
    )
    assert bad_patch.status_code == 422 and "agent.salary" in bad_patch.text
    assert (await tickets_api.get(f"/api/v1/canned-responses/{target}")).json()["text"] == GREETING
    patched = await tickets_api.patch(
        f"/api/v1/canned-responses/{target}", json={"title": "C reply", "group_id": other}
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["title"], patched.json()["group_id"]) == ("C reply", other)
    null_title = await tickets_api.patch(f"/api/v1/canned-responses/{target}", json={"title": None})
    assert null_title.status_code == 422
    assert (await tickets_api.delete(f"/api/v1/canned-responses/{target}")).status_code == 204
    assert (await tickets_api.get(f"/api/v1/canned-responses/{target}")).status_code == 404
    assert (await tickets_api.delete(f"/api/v1/canned-responses/{target}")).status_code == 404
    for params in ({"limit": 0}, {"offset": -1}, {"limit": 201}):
        assert (await tickets_api.get("/api/v1/canned-responses", params=params)).status_code == 422


async def test_a_canned_response_is_filled_in_for_a_ticket(desk: Desk, tickets_api: Api) -> None:
    agent = await new_agent(tickets_api)
    (ticket,) = await desk.tickets()
    created = await _create(tickets_api, title=unique("Fixed "), text=GREETING)
    assert created.status_code == 201, created.text
    canned = created.json()["id"]
    url = f"/api/v1/canned-responses/{canned}/render"

    response = await tickets_api.post(
        url, params={"ticket_id": ticket["id"]}, headers=as_agent(agent["id"])
    )
    assert response.status_code == 200, response.text
    assert response.json()["text"] == (
        f"Hello Ann,\nabout request #{ticket['number']} ({ticket['subject']}): it is fixed.\n"
        f"{agent['name']}"
    )

    no_agent = await tickets_api.post(url, params={"ticket_id": ticket["id"]})
    assert no_agent.status_code == 422 and "agent" in no_agent.text
    plain = await _create(tickets_api, title=unique("Plain "), text="#{{ ticket.number }}")
    rendered = await tickets_api.post(
        f"/api/v1/canned-responses/{plain.json()['id']}/render", params={"ticket_id": ticket["id"]}
    )
    assert rendered.json()["text"] == f"#{ticket['number']}"
    assert (await tickets_api.post(url, params={"ticket_id": 999_999_999})).status_code == 404
    assert (await tickets_api.post(url)).status_code == 422
    missing = "/api/v1/canned-responses/999999999/render"
    assert (await tickets_api.post(missing, params={"ticket_id": ticket["id"]})).status_code == 404
    stranger = await tickets_api.post(
        url, params={"ticket_id": ticket["id"]}, headers=as_agent(999_999_999)
    )
    assert stranger.status_code == 403
