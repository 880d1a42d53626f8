"""The contacts REST API through the running ticket-core: list filters and pages, creation
and its refusals, changes, identities and the primary email/phone, roles, and ingestion
finding a contact by an identity added through the API."""

from __future__ import annotations

import random
import uuid
from typing import Any
from urllib.parse import quote

import httpx
from helpdesk_common.records import Channel, InboundMessage, SenderIdentity, ThreadHints
from sqlalchemy import select
from ticket_core import repository as repo

from .auth_helpers import logged_in
from .conftest import Desk, unique, webform

Api = httpx.AsyncClient


def _mobile() -> tuple[str, str]:
    """(a Russian mobile number as people write it, its E.164 form)."""
    rest = f"{random.randrange(10**7):07d}"
    return f"8 (912) {rest[:3]}-{rest[3:5]}-{rest[5:]}", f"+7912{rest}"


async def _create(api: Api, expected: int = 201, **body: Any) -> dict[str, Any]:
    response = await api.post("/api/v1/contacts", json=body)
    assert response.status_code == expected, response.text
    return dict(response.json())


async def _company(api: Api) -> int:
    response = await api.post("/api/v1/companies", json={"name": unique("Company ")})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def _agent(api: Api, role: str = "specialist") -> int:
    response = await api.post(
        "/api/v1/agents",
        json={"name": unique("Agent "), "email": f"{unique('a')}@desk.test", "role": role},
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def _list(api: Api, **params: Any) -> dict[str, Any]:
    response = await api.get("/api/v1/contacts", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_contacts_are_created_normalised_and_listed_newest_first_with_filters(
    tickets_api: Api,
) -> None:
    company, manager = await _company(tickets_api), await _agent(tickets_api, "lead_specialist")
    tag = uuid.uuid4().hex[:8]
    made = []
    for n in range(3):
        raw, e164 = _mobile()
        contact = await _create(
            tickets_api,
            name=f"Zed{tag} Person{n}",
            emails=[f" Zed{tag}.P{n}@Example.ORG ", f"zed{tag}.alt{n}@example.org"],
            phones=[raw],
            company_id=company,
            manager_agent_id=manager if n == 0 else None,
        )
        assert contact["email"] == f"zed{tag}.p{n}@example.org"
        assert contact["emails"] == [f"zed{tag}.p{n}@example.org", f"zed{tag}.alt{n}@example.org"]
        assert (contact["phone"], contact["phones"]) == (e164, [e164])
        made.append((contact, raw, e164))
    first = made[0][0]
    detail = (await tickets_api.get(f"/api/v1/contacts/{first['id']}")).json()
    assert detail["company_id"] == company and detail["company_name"].startswith("Company ")
    assert detail["manager_agent_id"] == manager and detail["manager_name"].startswith("Agent ")
    assert (detail["ticket_count"], detail["identities"]) == (0, [])
    assert (await tickets_api.get("/api/v1/contacts/999999999")).status_code == 404

    ids = [c["id"] for c, _, _ in made]
    by_company = await _list(tickets_api, company_id=company)
    assert by_company["total"] == 3
    assert [c["id"] for c in by_company["items"]] == ids[::-1]  # newest first
    pages = [await _list(tickets_api, company_id=company, limit=2, offset=o) for o in (0, 2)]
    assert [len(p["items"]) for p in pages] == [2, 1] and {p["total"] for p in pages} == {3}
    assert [c["id"] for p in pages for c in p["items"]] == ids[::-1]

    second, raw2, e164_2 = made[1]
    exact = await _list(tickets_api, email=f"ZED{tag}.ALT1@example.org")
    assert [c["id"] for c in exact["items"]] == [second["id"]]
    assert (await _list(tickets_api, email=f"zed{tag}.alt1@example"))["total"] == 0
    for form in (raw2, e164_2, e164_2[1:]):
        found = await _list(tickets_api, phone=form)
        assert [c["id"] for c in found["items"]] == [second["id"]], form
    assert (await tickets_api.get("/api/v1/contacts", params={"phone": "no"})).status_code == 422

    assert (await _list(tickets_api, q=f"zED{tag} person"))["total"] == 3
    assert [c["id"] for c in (await _list(tickets_api, q=f"{tag}.ALT2"))["items"]] == [ids[2]]
    digits = e164_2[5:]  # "343 011-22" style search by digits
    spaced = f"{digits[:3]} {digits[3:5]}-{digits[5:]}"
    assert second["id"] in [c["id"] for c in (await _list(tickets_api, q=spaced))["items"]]
    narrowed = await _list(tickets_api, q=f"zed{tag}", company_id=company, limit=1, offset=1)
    assert narrowed["total"] == 3 and [c["id"] for c in narrowed["items"]] == [ids[1]]


async def test_creation_refuses_bad_input_and_values_of_other_contacts(tickets_api: Api) -> None:
    tag = uuid.uuid4().hex[:8]
    raw, e164 = _mobile()
    owner = await _create(tickets_api, name="Owner", emails=[f"own{tag}@example.org"], phones=[raw])
    gone = await _agent(tickets_api)
    deactivated = await tickets_api.patch(f"/api/v1/agents/{gone}", json={"active": False})
    assert deactivated.status_code == 200, deactivated.text
    fresh = f"fresh{tag}@example.org"
    refusals: list[tuple[dict[str, Any], int, str]] = [
        ({"name": "X", "emails": ["not-an-email"]}, 422, "not an email address"),
        ({"name": "X", "emails": [fresh], "phones": ["12"]}, 422, "not a phone number"),
        ({"name": "X", "emails": [fresh], "company_id": 999999999}, 422, "company 999999999"),
        ({"name": "X", "emails": [fresh], "manager_agent_id": 999999999}, 422, "agent 999999999"),
        ({"name": "X", "emails": [fresh], "manager_agent_id": gone}, 422, "deactivated"),
        ({"name": "  "}, 422, "needs a name, an email or a phone"),
        ({"name": "X", "emails": [fresh], "colour": "red"}, 422, "colour"),
        (
            {"name": "X", "emails": [fresh, f"OWN{tag}@example.org"]},
            409,
            f"email own{tag}@example.org already belongs to contact {owner['id']}",
        ),
        (
            {"name": "X", "emails": [fresh], "phones": [e164[1:]]},
            409,
            f"phone {e164} already belongs to contact {owner['id']}",
        ),
    ]
    for body, code, reason in refusals:
        response = await tickets_api.post("/api/v1/contacts", json=body)
        assert response.status_code == code, (body, response.text)
        assert reason in str(response.json()["detail"]), (body, response.text)
    # nothing of the refused requests was kept
    assert (await _list(tickets_api, email=fresh))["total"] == 0
    assert (await _list(tickets_api, q=fresh))["total"] == 0
    assert (await _list(tickets_api, phone=e164))["items"][0]["id"] == owner["id"]


async def test_patch_changes_name_company_and_manager_and_null_clears(tickets_api: Api) -> None:
    company, manager = await _company(tickets_api), await _agent(tickets_api)
    contact = await _create(tickets_api, name="Before", emails=[f"{unique('p')}@example.org"])
    url = f"/api/v1/contacts/{contact['id']}"
    changed = await tickets_api.patch(
        url, json={"name": " After ", "company_id": company, "manager_agent_id": manager}
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["name"], body["company_id"], body["manager_agent_id"]) == (
        "After",
        company,
        manager,
    )
    assert body["email"] == contact["email"]  # untouched
    for bad, reason in (
        ({"company_id": 999999999}, "company 999999999"),
        ({"manager_agent_id": 999999999}, "agent 999999999"),
        ({"email": "x@example.org"}, "email"),
    ):
        refused = await tickets_api.patch(url, json=bad)
        assert refused.status_code == 422 and reason in str(refused.json()["detail"]), refused.text
    cleared = await tickets_api.patch(url, json={"company_id": None, "manager_agent_id": None})
    assert cleared.status_code == 200, cleared.text
    after = (await tickets_api.get(url)).json()
    assert (after["name"], after["company_id"], after["manager_agent_id"]) == ("After", None, None)
    assert (await tickets_api.patch("/api/v1/contacts/999999999", json={})).status_code == 404


async def test_identities_are_added_and_removed_and_the_primary_follows(tickets_api: Api) -> None:
    first, second = f"{unique('i')}@example.org", f"{unique('j')}@example.org"
    raw, e164 = _mobile()
    contact = await _create(tickets_api, name="Ids", emails=[first])
    assert (contact["email"], contact["phone"]) == (first, None)
    url = f"/api/v1/contacts/{contact['id']}"
    other = await _create(tickets_api, name="Other", emails=[f"{unique('o')}@example.org"])

    added = await tickets_api.post(
        f"{url}/identities", json={"kind": "email", "value": second.upper()}
    )
    assert added.status_code == 201, added.text
    assert (added.json()["email"], added.json()["emails"]) == (first, [first, second])
    again = await tickets_api.post(f"{url}/identities", json={"kind": "email", "value": second})
    assert again.status_code == 200 and again.json()["emails"] == [first, second]
    phone = await tickets_api.post(f"{url}/identities", json={"kind": "phone", "value": raw})
    assert phone.status_code == 201 and phone.json()["phone"] == e164  # no primary before
    for body, code in (
        ({"kind": "email", "value": other["email"]}, 409),
        ({"kind": "fax", "value": "1"}, 422),
        ({"kind": "email", "value": "nope"}, 422),
        ({"kind": "phone", "value": "call me"}, 422),
    ):
        response = await tickets_api.post(f"{url}/identities", json=body)
        assert response.status_code == code, (body, response.text)
    taken = await tickets_api.post(
        f"/api/v1/contacts/{other['id']}/identities", json={"kind": "email", "value": second}
    )
    assert taken.status_code == 409
    assert f"already belongs to contact {contact['id']}" in taken.json()["detail"]

    # removing the primary promotes the remaining one, then clears it
    removed = await tickets_api.delete(f"{url}/identities/email/{quote(first.upper())}")
    assert removed.status_code == 204, removed.text
    now = (await tickets_api.get(url)).json()
    assert (now["email"], now["emails"]) == (second, [second])
    assert (await _list(tickets_api, email=first))["total"] == 0
    assert (await tickets_api.delete(f"{url}/identities/email/{first}")).status_code == 404
    assert (await tickets_api.delete(f"{url}/identities/email/{second}")).status_code == 204
    now = (await tickets_api.get(url)).json()
    assert (now["email"], now["emails"], now["phone"]) == (None, [], e164)
    raw2, e164_2 = _mobile()
    assert (
        await tickets_api.post(f"{url}/identities", json={"kind": "phone", "value": raw2})
    ).json()["phones"] == [e164, e164_2]
    gone = await tickets_api.delete(f"{url}/identities/phone/{quote(raw, safe='')}")
    assert gone.status_code == 204, gone.text
    now = (await tickets_api.get(url)).json()
    assert (now["phone"], now["phones"]) == (e164_2, [e164_2])
    gone = await tickets_api.delete(f"{url}/identities/phone/{e164_2}")  # a literal +
    assert gone.status_code == 204, gone.text
    now = (await tickets_api.get(url)).json()
    assert (now["phone"], now["phones"]) == (None, [])
    # a removed value is free for another contact
    moved = await tickets_api.post(
        f"/api/v1/contacts/{other['id']}/identities", json={"kind": "email", "value": first}
    )
    assert moved.status_code == 201 and first in moved.json()["emails"]
    missing = await tickets_api.post(
        "/api/v1/contacts/999999999/identities", json={"kind": "email", "value": first}
    )
    assert missing.status_code == 404


async def test_specialists_read_contacts_and_leads_change_them(tickets_api: Api) -> None:
    specialist = await logged_in(tickets_api, "specialist")
    lead = await logged_in(tickets_api, "lead_specialist")
    contact = await _create(tickets_api, name="Roles", emails=[f"{unique('r')}@example.org"])
    url = f"/api/v1/contacts/{contact['id']}"
    h = specialist.headers
    assert (await tickets_api.get("/api/v1/contacts", headers=h)).status_code == 200
    read = await tickets_api.get(url, headers=h)
    assert read.status_code == 200 and read.json()["email"] == contact["email"]
    writes = [
        ("POST", "/api/v1/contacts", {"name": "Nope"}),
        ("PATCH", url, {"name": "Nope"}),
        ("POST", f"{url}/identities", {"kind": "email", "value": f"{unique('n')}@example.org"}),
        ("DELETE", f"{url}/identities/email/{contact['email']}", None),
    ]
    for method, path, body in writes:
        response = await tickets_api.request(method, path, json=body, headers=h)
        assert response.status_code == 403, (method, path, response.text)
    assert (await tickets_api.get(url)).json()["emails"] == [contact["email"]]
    assert (await tickets_api.get(url)).json()["name"] == "Roles"
    made = await tickets_api.post("/api/v1/contacts", json={"name": "ByLead"}, headers=lead.headers)
    assert made.status_code == 201, made.text
    renamed = await tickets_api.patch(url, json={"name": "Lead's"}, headers=lead.headers)
    assert renamed.status_code == 200 and renamed.json()["name"] == "Lead's"


def _mail(address: str, **thread: Any) -> InboundMessage:
    message_id = f"<{uuid.uuid4().hex}@mail.test>"
    return InboundMessage(
        idempotency_key=f"email:{message_id}",
        channel=Channel.EMAIL,
        channel_account="support",
        sender=SenderIdentity(channel_user_id=address, email=address),
        thread=ThreadHints(conversation_id=address, message_id=message_id, **thread),
        subject="Still broken",
        text="body",
    )


async def _stored(desk: Desk, message: InboundMessage) -> dict[str, Any]:
    async with desk.sessions() as session:
        row = await session.execute(
            select(repo.messages).where(repo.messages.c.idempotency_key == message.idempotency_key)
        )
        return dict(row.mappings().one())


async def test_ingestion_finds_the_contact_by_an_identity_added_through_the_api(
    desk: Desk, tickets_api: Api
) -> None:
    own = f"{unique('ann')}@example.org"
    contact = await _create(tickets_api, name="Ann", emails=[own])
    await desk.ingest([webform(own)])
    ticket = await desk.ticket_of(own)
    assert ticket is not None and ticket["contact_id"] == contact["id"]

    private = f"{unique('ann')}@gmail.com"
    added = await tickets_api.post(
        f"/api/v1/contacts/{contact['id']}/identities", json={"kind": "email", "value": private}
    )
    assert added.status_code == 201, added.text
    # a mail from the added address with the ticket's number joins the ticket...
    reply = _mail(private, ticket_number=ticket["number"])
    result = await desk.ingest([reply])
    assert (result.created, result.appended) == (0, 1)
    stored = await _stored(desk, reply)
    assert (stored["ticket_id"], stored["author_contact_id"]) == (ticket["id"], contact["id"])
    # ...where a stranger's is kept apart as a possible duplicate
    stranger = _mail(f"{unique('eve')}@gmail.com", ticket_number=ticket["number"])
    assert (await desk.ingest([stranger])).created == 1
    apart = await desk.ticket((await _stored(desk, stranger))["ticket_id"])
    assert apart["id"] != ticket["id"] and apart["possible_duplicate_of_id"] == ticket["id"]
    assert apart["contact_id"] != contact["id"]
    # a fresh mail from the added address is a new request of the same contact
    fresh = _mail(private)
    assert (await desk.ingest([fresh])).created == 1
    new_ticket = await desk.ticket((await _stored(desk, fresh))["ticket_id"])
    assert new_ticket["contact_id"] == contact["id"]
    detail = (await tickets_api.get(f"/api/v1/contacts/{contact['id']}")).json()
    assert detail["ticket_count"] == 2
    assert {"kind": "webform", "value": own} in detail["identities"]
    assert detail["emails"] == [own, private]
    # removing the address drops its web-form identity too: the next form from it is a
    # stranger again (a new contact), the primary moves to the remaining address
    dropped = await tickets_api.delete(f"/api/v1/contacts/{contact['id']}/identities/email/{own}")
    assert dropped.status_code == 204, dropped.text
    after = (await tickets_api.get(f"/api/v1/contacts/{contact['id']}")).json()
    assert (after["email"], after["emails"]) == (private, [private])
    assert all(i["value"] != own for i in after["identities"])
    form = webform(own)
    await desk.ingest([form])
    assert (await _stored(desk, form))["author_contact_id"] not in (None, contact["id"])
