"""Similar tickets: the other tickets of contacts sharing an email address or a phone
number with this ticket's contact, newest first, paginated."""

from __future__ import annotations

import random
import uuid
from typing import Any

from helpdesk_common.records import Channel, InboundMessage, SenderIdentity, ThreadHints
from sqlalchemy import insert
from ticket_core import repository as repo
from ticket_core.audit import SYSTEM

from .collab_helpers import Api
from .conftest import Desk, unique


def _form(email: str, phone: str | None = None) -> InboundMessage:
    return InboundMessage(
        idempotency_key=f"test:{uuid.uuid4().hex}",
        channel=Channel.WEBFORM,
        channel_account="default",
        sender=SenderIdentity(channel_user_id=email, email=email, phone=phone),
        thread=ThreadHints(conversation_id=email),
        text="It broke again",
    )


async def _ticket(desk: Desk, email: str, phone: str | None = None) -> dict[str, Any]:
    await desk.ingest([_form(email, phone)])
    found = await desk.ticket_of(email)
    assert found is not None
    return dict(found)


async def _close(desk: Desk, ticket_id: int) -> None:
    for status in ("resolved", "closed"):
        outcome = await desk.change([ticket_id], SYSTEM, status=status)
        assert outcome.updated == [ticket_id], outcome


async def _similar(api: Api, ticket_id: int, **params: Any) -> tuple[int, list[int]]:
    response = await api.get(f"/api/v1/tickets/{ticket_id}/similar", params=params)
    assert response.status_code == 200, response.text
    return response.json()["total"], [t["id"] for t in response.json()["items"]]


async def test_similar_tickets_share_an_address_or_a_number(desk: Desk, tickets_api: Api) -> None:
    email = f"{unique('c')}@example.com"
    phone = f"+7999{random.randrange(10**7):07d}"
    first = await _ticket(desk, email, phone)
    await _close(desk, first["id"])
    second = await _ticket(desk, email)  # a closed ticket is final: a new one, same contact
    await _close(desk, second["id"])
    third = await _ticket(desk, email)
    assert len({first["id"], second["id"], third["id"]}) == 3
    assert {first["contact_id"], second["contact_id"], third["contact_id"]} == {first["contact_id"]}

    # Another contact (say, imported) whose phone column holds the same number.
    other_email = f"{unique('o')}@example.org"
    async with desk.sessions() as session, session.begin():
        contact = await session.execute(
            insert(repo.contacts)
            .values(display_name="Ann at home", phone=phone)
            .returning(repo.contacts.c.id)
        )
        await session.execute(
            insert(repo.identities).values(
                contact_id=contact.scalar_one(), kind="email", value=other_email
            )
        )
    fourth = await _ticket(desk, other_email)
    stranger = await _ticket(desk, f"{unique('s')}@example.com")

    assert await _similar(tickets_api, third["id"]) == (
        3,
        [fourth["id"], second["id"], first["id"]],
    )
    assert await _similar(tickets_api, third["id"], limit=1, offset=1) == (3, [second["id"]])
    total, ids = await _similar(tickets_api, fourth["id"])
    assert (total, ids) == (3, [third["id"], second["id"], first["id"]])
    assert await _similar(tickets_api, stranger["id"]) == (0, [])
    page = await tickets_api.get(f"/api/v1/tickets/{third['id']}/similar")
    item = page.json()["items"][0]
    assert (item["id"], item["contact_email"], item["contact_name"]) == (
        fourth["id"],
        other_email,
        "Ann at home",
    )
    assert item["status"] == "open" and item["messages"] is None
    assert (await tickets_api.get("/api/v1/tickets/999999999/similar")).status_code == 404
    for params in ({"limit": 0}, {"offset": -1}):
        response = await tickets_api.get(f"/api/v1/tickets/{third['id']}/similar", params=params)
        assert response.status_code == 422
