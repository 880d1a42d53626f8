"""Merging and deleting contacts through the running ticket-core: what moves, the card
fields the target takes, the audit, the portal login, ingestion finding the target by
the source's old address afterwards, and the refusals (roles, self, missing, both with a
portal login, a contact with tickets)."""

from __future__ import annotations

import random
import uuid
from typing import Any

import httpx
from helpdesk_common.records import Channel, InboundMessage, SenderIdentity, ThreadHints
from sqlalchemy import select
from ticket_core import repository as repo

from .auth_helpers import logged_in
from .conftest import Desk, unique, webform

Api = httpx.AsyncClient
PORTAL_PASSWORD = "portal-Passw0rd"


async def _create(api: Api, **body: Any) -> dict[str, Any]:
    response = await api.post("/api/v1/contacts", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _mail(address: str, ticket_number: int | None = None) -> InboundMessage:
    message_id = f"<{uuid.uuid4().hex}@mail.test>"
    return InboundMessage(
        idempotency_key=f"email:{message_id}",
        channel=Channel.EMAIL,
        channel_account="support",
        sender=SenderIdentity(channel_user_id=address, email=address),
        thread=ThreadHints(
            conversation_id=address, message_id=message_id, ticket_number=ticket_number
        ),
        subject="About my order",
        text="body",
    )


def _telegram(user_id: str, phone: str | None = None) -> InboundMessage:
    return InboundMessage(
        idempotency_key=f"telegram:{uuid.uuid4().hex}",
        channel=Channel.TELEGRAM,
        channel_account="bot",
        sender=SenderIdentity(channel_user_id=user_id, display_name="Tg", phone=phone),
        thread=ThreadHints(conversation_id=user_id),
        text="hello from telegram",
    )


async def _stored(desk: Desk, message: InboundMessage) -> dict[str, Any]:
    async with desk.sessions() as session:
        row = await session.execute(
            select(repo.messages).where(repo.messages.c.idempotency_key == message.idempotency_key)
        )
        return dict(row.mappings().one())


async def _portal_login(api: Api, contact_id: int) -> tuple[str, str]:
    granted = await api.put(
        f"/api/v1/contacts/{contact_id}/portal-access", json={"password": PORTAL_PASSWORD}
    )
    assert granted.status_code == 200, granted.text
    login = granted.json()["login"]
    response = await api.post(
        "/api/v1/portal/auth/login", json={"login": login, "password": PORTAL_PASSWORD}
    )
    assert response.status_code == 200, response.text
    return login, str(response.json()["token"])


async def test_a_merge_moves_everything_to_the_target_and_mail_finds_it_afterwards(
    desk: Desk, tickets_api: Api
) -> None:
    manager = await desk.agent("lead_specialist")
    actor = await desk.agent("administrator")
    old = f"{unique('old')}@example.org"
    phone = f"+7912{random.randrange(10**7):07d}"
    tg_user = str(random.randrange(10**9, 10**10))
    source = await _create(
        tickets_api, name="Ann Old", emails=[old], phones=[phone], manager_agent_id=manager
    )
    target = await _create(tickets_api, emails=[f"{unique('new')}@example.org"])
    # the source's tickets, by web form and by Telegram (the Telegram id is found by the
    # phone the sender shared)
    await desk.ingest([webform(old)])
    ticket = await desk.ticket_of(old)
    assert ticket is not None and ticket["contact_id"] == source["id"]
    telegram = _telegram(tg_user, phone)
    await desk.ingest([telegram])
    tg_ticket = (await _stored(desk, telegram))["ticket_id"]
    assert (await desk.ticket(tg_ticket))["contact_id"] == source["id"]
    login, token = await _portal_login(tickets_api, source["id"])
    me = await tickets_api.get(
        "/api/v1/portal/auth/me", headers={"Authorization": f"Bearer {token}"}
    )
    assert me.status_code == 200 and me.json()["contact_id"] == source["id"]

    merged = await tickets_api.post(
        f"/api/v1/contacts/{source['id']}/merge-into/{target['id']}",
        headers={"X-Agent-Id": str(actor)},
    )
    assert merged.status_code == 200, merged.text
    body = merged.json()
    assert body["merged_contact_id"] == source["id"]
    assert sorted(body["moved_ticket_ids"]) == sorted([ticket["id"], tg_ticket])
    assert body["moved_portal_account"] is True and body["moved_messages"] >= 2
    assert set(body["filled_fields"]) == {"display_name", "phone", "manager_agent_id"}
    card = body["contact"]
    assert (card["id"], card["name"], card["phone"]) == (target["id"], "Ann Old", phone)
    assert card["email"] == target["email"]  # the target's primary stays
    assert set(card["emails"]) == {target["email"], old} and card["phones"] == [phone]
    assert {"kind": "telegram", "value": tg_user} in card["identities"]
    assert card["manager_agent_id"] == manager and card["ticket_count"] == 2

    assert (await tickets_api.get(f"/api/v1/contacts/{source['id']}")).status_code == 404
    moved = await desk.ticket(ticket["id"])
    assert moved["contact_id"] == target["id"]
    trail = [r for r in await desk.audit(ticket["id"]) if r["field"] == "contact_id"]
    assert [(r["old_value"], r["new_value"], r["agent_id"]) for r in trail] == [
        (str(source["id"]), str(target["id"]), actor)
    ]
    assert trail[0]["reason"] == f"contact {source['id']} merged into contact {target['id']}"
    audit = await tickets_api.get(f"/api/v1/contacts/{source['id']}/audit")
    assert audit.status_code == 200, audit.text
    [record] = audit.json()["items"]
    assert (record["action"], record["target_contact_id"], record["agent_id"]) == (
        "merged",
        target["id"],
        actor,
    )
    snapshot = record["snapshot"]
    assert snapshot["name"] == "Ann Old" and snapshot["portal_login"] == login
    assert ["email", old] in snapshot["identities"] and ["telegram", tg_user] in snapshot[
        "identities"
    ]
    assert sorted(snapshot["ticket_ids"]) == sorted([ticket["id"], tg_ticket])
    on_target = await tickets_api.get(f"/api/v1/contacts/{target['id']}/audit")
    assert [r["id"] for r in on_target.json()["items"]] == [record["id"]]

    # the portal login now belongs to the target; the source's session has ended
    old_session = await tickets_api.get(
        "/api/v1/portal/auth/me", headers={"Authorization": f"Bearer {token}"}
    )
    assert old_session.status_code == 401
    again = await tickets_api.post(
        "/api/v1/portal/auth/login", json={"login": login, "password": PORTAL_PASSWORD}
    )
    assert again.status_code == 200 and again.json()["contact"]["contact_id"] == target["id"]

    # ingestion: the old address's reply joins the moved ticket, a fresh mail and a
    # Telegram message are the target's
    reply = _mail(old, ticket_number=ticket["number"])
    assert (await desk.ingest([reply])).appended == 1
    stored = await _stored(desk, reply)
    assert (stored["ticket_id"], stored["author_contact_id"]) == (ticket["id"], target["id"])
    fresh = _mail(old)
    assert (await desk.ingest([fresh])).created == 1
    new_ticket = await desk.ticket((await _stored(desk, fresh))["ticket_id"])
    assert new_ticket["contact_id"] == target["id"]
    chat = _telegram(tg_user)
    await desk.ingest([chat])
    assert (await _stored(desk, chat))["author_contact_id"] == target["id"]
    assert (await tickets_api.get(f"/api/v1/contacts/{target['id']}")).json()["ticket_count"] >= 3


async def test_merge_refusals_keep_both_contacts(desk: Desk, tickets_api: Api) -> None:
    a = await _create(tickets_api, name="A", emails=[f"{unique('a')}@example.org"])
    b = await _create(tickets_api, name="B", emails=[f"{unique('b')}@example.org"])
    await _portal_login(tickets_api, a["id"])
    await _portal_login(tickets_api, b["id"])
    lead = await logged_in(tickets_api, "lead_specialist")
    specialist = await logged_in(tickets_api, "specialist")
    url = f"/api/v1/contacts/{a['id']}/merge-into/{b['id']}"
    for path, code, reason in (
        (f"/api/v1/contacts/{a['id']}/merge-into/{a['id']}", 422, "into itself"),
        (f"/api/v1/contacts/999999999/merge-into/{a['id']}", 404, "contact 999999999 not found"),
        (f"/api/v1/contacts/{a['id']}/merge-into/999999999", 404, "contact 999999999 not found"),
        (url, 409, "both have a portal account"),
    ):
        response = await tickets_api.post(path, headers=lead.headers)
        assert response.status_code == code, (path, response.text)
        assert reason in response.json()["detail"], response.text
    forbidden = await tickets_api.post(url, headers=specialist.headers)
    assert forbidden.status_code == 403, forbidden.text
    gone = await tickets_api.delete(f"/api/v1/contacts/{a['id']}", headers=specialist.headers)
    assert gone.status_code == 403
    for contact in (a, b):
        kept = await tickets_api.get(f"/api/v1/contacts/{contact['id']}")
        assert kept.status_code == 200 and kept.json()["emails"] == contact["emails"]
    # a lead merges (no portal login on the source): the lead is the audited agent
    c = await _create(tickets_api, name="C", emails=[f"{unique('c')}@example.org"])
    done = await tickets_api.post(
        f"/api/v1/contacts/{c['id']}/merge-into/{b['id']}", headers=lead.headers
    )
    assert done.status_code == 200, done.text
    audit = (await tickets_api.get(f"/api/v1/contacts/{c['id']}/audit")).json()["items"]
    assert [(r["action"], r["agent_id"]) for r in audit] == [("merged", lead.agent_id)]


async def test_delete_refuses_a_contact_with_tickets_and_removes_one_without(
    desk: Desk, tickets_api: Api
) -> None:
    busy_email = f"{unique('busy')}@example.org"
    await desk.ingest([webform(busy_email)])
    busy = await desk.ticket_of(busy_email)
    assert busy is not None
    refused = await tickets_api.delete(f"/api/v1/contacts/{busy['contact_id']}")
    assert refused.status_code == 409, refused.text
    detail = refused.json()["detail"]
    assert f"contact {busy['contact_id']} has 1 ticket" in detail and "merge-into" in detail
    assert (await tickets_api.get(f"/api/v1/contacts/{busy['contact_id']}")).status_code == 200

    email = f"{unique('idle')}@example.org"
    idle = await _create(tickets_api, name="Idle", emails=[email])
    await _portal_login(tickets_api, idle["id"])
    gone = await tickets_api.delete(f"/api/v1/contacts/{idle['id']}")
    assert gone.status_code == 204, gone.text
    assert (await tickets_api.get(f"/api/v1/contacts/{idle['id']}")).status_code == 404
    assert (await tickets_api.delete(f"/api/v1/contacts/{idle['id']}")).status_code == 404
    audit = (await tickets_api.get(f"/api/v1/contacts/{idle['id']}/audit")).json()["items"]
    assert [(r["action"], r["snapshot"]["email"]) for r in audit] == [("deleted", email)]
    login = await tickets_api.post(
        "/api/v1/portal/auth/login", json={"login": email, "password": PORTAL_PASSWORD}
    )
    assert login.status_code == 401
    # its identities went with it: the address is free for a new contact, and mail from
    # it finds that one
    again = await _create(tickets_api, name="Again", emails=[email])
    mail = _mail(email)
    await desk.ingest([mail])
    assert (await _stored(desk, mail))["author_contact_id"] == again["id"]
    assert (await tickets_api.get("/api/v1/contacts/999999999/audit")).status_code == 404
