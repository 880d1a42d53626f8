"""@mentions: who a text names, and the ``agent.mentioned`` events notes and replies
produce (internal notes still never leave the system)."""

from __future__ import annotations

from devstack.stack import Stack
from helpdesk_common.records import OutboundMessage, TicketEvent
from sqlalchemy import select
from ticket_core import repository as repo
from ticket_core.mentions import mentioned_names, resolve
from ticket_core.replies import ReplyRequest, ReplySettings, add_reply

from .collab_helpers import Api, new_agent, ticket_events
from .conftest import Desk, unique

SETTINGS = ReplySettings("helpdesk.test", "support")


def test_mentions_are_logins_or_addresses_not_addresses_in_prose() -> None:
    text = (
        "@ann, please ask @Bob.Smith@Corp.example. Mail carol@example.com, "
        "not @@dave; (@erin) and @frank. end"
    )
    assert mentioned_names(text) == {"ann", "bob.smith@corp.example", "erin", "frank"}
    assert mentioned_names("no mentions, see x@y.com") == set()


def test_resolution_ignores_unknown_and_ambiguous_logins() -> None:
    active = [(1, "ann@a.test"), (2, "Bob@B.test"), (3, "sam@a.test"), (4, "sam@b.test")]
    assert resolve({"ann", "bob@b.test", "nobody", "sam"}, active) == [1, 2]
    assert resolve({"sam@b.test"}, active) == [4]
    assert resolve({"zed"}, active) == []


async def _reply(desk: Desk, ticket_id: int, request: ReplyRequest) -> dict[str, list[str]]:
    async with desk.sessions() as session, session.begin():
        _, outbox_ids = await add_reply(session, ticket_id, request, SETTINGS)
        rows = await session.execute(
            select(repo.outbox.c.topic, repo.outbox.c.payload).where(
                repo.outbox.c.id.in_(outbox_ids)
            )
        )
        found: dict[str, list[str]] = {}
        for topic, payload in rows:
            found.setdefault(topic, []).append(payload)
        return found


def _mentions(outbox: dict[str, list[str]]) -> list[TicketEvent]:
    events = [TicketEvent.model_validate_json(p) for p in outbox.get("ticket.events.v1", [])]
    return [e for e in events if e.kind == "agent.mentioned"]


async def test_notes_and_replies_announce_the_agents_they_mention(
    desk: Desk, tickets_api: Api
) -> None:
    ann_login, bob_login = unique("ann"), unique("bob")
    ann = await new_agent(tickets_api, login=ann_login)
    bob = await new_agent(tickets_api, login=bob_login)
    gone = await new_agent(tickets_api)
    assert (
        await tickets_api.patch(f"/api/v1/agents/{gone['id']}", json={"active": False})
    ).status_code == 200
    (ticket,) = await desk.tickets()

    text = f"@{ann_login} and @{bob['email'].upper()}: see @{gone['email']} and @nobody{unique()}"
    outbox = await _reply(desk, ticket["id"], ReplyRequest(text, internal=True))
    assert "outbound.messages.v1" not in outbox  # a note never leaves the system
    (mention,) = _mentions(outbox)
    assert mention.details == {
        "agent_ids": f"{min(ann['id'], bob['id'])},{max(ann['id'], bob['id'])}"
    }
    assert mention.ticket_id == ticket["id"] and mention.message_id is not None

    # A public reply goes out as usual and announces its mentions too; the author is not
    # notified of their own name.
    outbox = await _reply(
        desk,
        ticket["id"],
        ReplyRequest(f"cc @{ann_login} @{bob_login}", author_agent_id=ann["id"]),
    )
    (outbound,) = [OutboundMessage.model_validate_json(p) for p in outbox["outbound.messages.v1"]]
    async with desk.sessions() as session:
        contact = await repo.contact_by_id(session, ticket["contact_id"])
    assert contact is not None and outbound.recipient == contact["email"]
    (mention,) = _mentions(outbox)
    assert mention.details == {"agent_ids": str(bob["id"])}
    assert mention.actor_agent_id == ann["id"]

    assert (
        _mentions(
            await _reply(desk, ticket["id"], ReplyRequest(f"hi @nobody{unique()}", internal=True))
        )
        == []
    )


async def test_a_note_through_the_api_notifies_the_mentioned_agent(
    desk: Desk, tickets_api: Api, running: Stack
) -> None:
    login = unique("eve")
    eve = await new_agent(tickets_api, login=login)
    (ticket,) = await desk.tickets()
    async with ticket_events(running) as events:
        response = await tickets_api.post(
            f"/api/v1/tickets/{ticket['id']}/replies",
            json={"text": f"@{login} can you check?", "internal": True},
        )
        assert response.status_code == 201, response.text
        assert response.json()["kind"] == "internal_note"
        (mention,) = await events.wait_for(ticket["id"], "agent.mentioned")
    assert mention.details == {"agent_ids": str(eve["id"])}
    assert mention.message_id == response.json()["id"]
