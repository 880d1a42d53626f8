"""Ingestion and the workflow: company linking by mail domain (in bulk), defaults of new
tickets, internal tickets' events, and a fixed number of statements per batch."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from helpdesk_common.records import TicketEventKind
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from ticket_core import batch_repo as batch
from ticket_core import crud
from ticket_core import repository as repo
from ticket_core.audit import Actor
from ticket_core.models_org import categories, companies
from ticket_core.models_workflow import priorities, statuses, ticket_types
from ticket_core.org_repo import set_domains
from ticket_core.routing_cache import SNAPSHOTS
from ticket_core.workflow import ChangeRequest, apply_changes

from .conftest import Desk, unique, webform


async def _company(desk: Desk, *domains: str) -> int:
    async with desk.sessions() as session, session.begin():
        client = await session.scalar(select(categories.c.id).where(categories.c.name == "Client"))
        row = await crud.create(
            session, companies, {"name": unique("Acme "), "category_id": client}
        )
        await set_domains(session, row["id"], list(domains))
    return int(row["id"])


async def _contact_company(desk: Desk, email: str) -> Any:
    async with desk.sessions() as session:
        return await session.scalar(
            select(repo.contacts.c.company_id).where(
                func.lower(repo.contacts.c.email) == email.lower()
            )
        )


async def test_new_senders_at_a_company_domain_join_the_company(desk: Desk) -> None:
    domain, other = f"{unique('acme')}.test", f"{unique('else')}.test"
    company = await _company(desk, domain)
    senders = [f"{unique('c')}@{domain}", f"{unique('c')}@{domain.upper()}", f"x@{other}"]
    await desk.ingest([webform(s) for s in senders])
    assert [await _contact_company(desk, s.lower()) for s in senders] == [company, company, None]
    for sender, expected in zip(senders, (company, company, None), strict=True):
        ticket = await desk.ticket_of(sender)
        assert ticket is not None and ticket["company_id"] == expected


async def test_a_company_given_a_domain_adopts_its_contacts_without_a_company(desk: Desk) -> None:
    domain = f"{unique('late')}.test"
    sender = f"{unique('c')}@{domain}"
    await desk.ingest([webform(sender)])
    assert await _contact_company(desk, sender) is None
    company = await _company(desk, domain)
    assert await _contact_company(desk, sender) == company
    await desk.ingest([webform(sender, "a second request")])  # an existing contact's ticket
    ticket = await desk.ticket_of(sender)
    assert ticket is not None and ticket["company_id"] == company


async def test_new_tickets_get_the_default_status_and_priority(desk: Desk) -> None:
    (ticket,) = await desk.tickets()
    async with desk.sessions() as session:
        status = await session.scalar(
            select(statuses.c.name).where(statuses.c.id == ticket["status_id"])
        )
        priority = await session.scalar(
            select(priorities.c.name).where(priorities.c.id == ticket["priority_id"])
        )
    assert (status, priority, ticket["type_id"]) == ("Open", "normal", None)
    assert (ticket["reopen_count"], ticket["worked_seconds"]) == (0, 0.0)


async def test_customer_messages_on_internal_tickets_are_internal_events(desk: Desk) -> None:
    async with desk.sessions() as session:
        internal = await session.scalar(
            select(ticket_types.c.id).where(ticket_types.c.name == "internal")
        )
    agent = Actor.agent(await desk.agent())
    (ticket,) = await desk.tickets()
    await desk.change([ticket["id"]], agent, type_id=internal, status="resolved")
    async with desk.sessions() as session:
        contact = await repo.contact_by_id(session, ticket["contact_id"])
    assert contact is not None
    result = await desk.ingest([webform(contact["email"], "still broken")])
    assert {e.kind for e in result.events} == {
        TicketEventKind.STATUS_CHANGED,
        TicketEventKind.MESSAGE_ADDED,
    }
    assert all(e.internal and e.ticket_id == ticket["id"] for e in result.events)


@pytest.fixture
async def counted(infra) -> AsyncIterator[tuple[AsyncEngine, list[str]]]:  # type: ignore[no-untyped-def]
    """An engine of its own that records every statement it sends."""
    engine = create_async_engine(infra.database_url)
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    yield engine, statements
    await engine.dispose()


async def test_a_batch_costs_the_same_statements_whatever_its_size(
    desk: Desk, counted: tuple[AsyncEngine, list[str]]
) -> None:
    """New senders at a company domain, then reopenings: the number of statements does not
    grow with the batch (audit rows are one statement; the company domains and the catalogue
    come from the cached configuration)."""
    engine, statements = counted
    counted_desk = Desk(async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False))
    agent = Actor.agent(await desk.agent())
    domain = f"{unique('bulk')}.test"
    await _company(desk, domain)
    costs = []
    # The routing snapshot is read once per ttl, not per batch: read it once, before counting.
    ttl, SNAPSHOTS.ttl = SNAPSHOTS.ttl, float("inf")
    SNAPSHOTS.invalidate()
    async with desk.sessions() as session:
        await SNAPSHOTS.get(session)
    # The configuration is read once per version (ingest_config.py): load it before too.
    await desk.tickets(1)
    for size in (2, 25):
        senders = [f"{unique('c')}@{domain}" for _ in range(size)]
        statements.clear()
        await counted_desk.ingest([webform(s) for s in senders])
        created = len(statements)
        tickets = [await desk.ticket_of(s) for s in senders]
        await desk.change([t["id"] for t in tickets if t], agent, status="resolved")
        statements.clear()
        result = await counted_desk.ingest([webform(s, "again") for s in senders])
        assert result.reopened == size
        costs.append((created, len(statements)))
    SNAPSHOTS.ttl = ttl
    assert costs[0] == costs[1], costs


async def test_new_senders_cost_one_id_allocation_and_one_contact_insert(
    desk: Desk, counted: tuple[AsyncEngine, list[str]]
) -> None:
    """New contacts take their ids with the batch's tickets and messages (one ``nextval``
    statement), and the contacts and their identities go in with one statement."""
    engine, statements = counted
    counted_desk = Desk(async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False))
    senders = [f"{unique('n')}@example.org" for _ in range(3)]
    await desk.tickets(1)  # the configuration, loaded before counting (ingest_config.py)
    statements.clear()
    result = await counted_desk.ingest([webform(s) for s in senders])
    assert result.created == 3
    assert sum("nextval" in s for s in statements) == 1
    inserts = [s for s in statements if "INSERT INTO contact" in s]
    assert len(inserts) == 1 and "INSERT INTO contact_identities" in inserts[0]
    for sender in senders:
        ticket = await desk.ticket_of(sender)
        assert ticket is not None
        async with desk.sessions() as session:
            contact = await repo.contact_by_id(session, ticket["contact_id"])
            owners = await batch.contacts_by_identities(
                session, [("email", sender), ("webform", sender)]
            )
        assert contact is not None and contact["email"] == sender
        assert owners == {("email", sender): contact["id"], ("webform", sender): contact["id"]}


async def _in_flight(desk: Desk, ticket_id: int, agent: Actor, email: str) -> tuple[bool, Any]:
    """Resolve the ticket in a transaction that a customer's message overtakes: returns
    whether the batch had to wait for the agent's commit, and the batch's result."""
    async with desk.sessions() as session, session.begin():
        await apply_changes(
            session,
            [ticket_id],
            ChangeRequest(status="resolved"),
            agent,
            now=datetime.now(UTC),
            auto_close_after=timedelta(days=7),
        )
        batch = asyncio.create_task(desk.ingest([webform(email, "one more thing")]))
        await asyncio.sleep(0.3)
        waited = not batch.done()
    return waited, await batch


async def _email(desk: Desk, ticket: dict[str, Any]) -> str:
    async with desk.sessions() as session:
        contact = await repo.contact_by_id(session, ticket["contact_id"])
    assert contact is not None
    return str(contact["email"])


async def test_agent_changes_and_messages_racing_never_lose_an_update(desk: Desk) -> None:
    """An open ticket: the message only touches its timestamps, so the agent's resolution
    stands (as if the message came first). A pending ticket, whose status the message
    changes: the batch waits for the agent, reads it fresh and reopens it."""
    agent = Actor.agent(await desk.agent())
    open_ticket, pending_ticket = await desk.tickets(2)
    _, result = await _in_flight(desk, open_ticket["id"], agent, await _email(desk, open_ticket))
    assert (result.appended, result.reopened) == (1, 0)
    after = await desk.ticket(open_ticket["id"])
    assert (after["status"], after["resolved_at"] is not None) == ("resolved", True)
    assert after["last_customer_message_at"] is not None

    until = datetime.now(UTC) + timedelta(days=1)
    await desk.change([pending_ticket["id"]], agent, status="pending", pending_until=until)
    waited, result = await _in_flight(
        desk, pending_ticket["id"], agent, await _email(desk, pending_ticket)
    )
    assert (waited, result.reopened) == (True, 1)
    after = await desk.ticket(pending_ticket["id"])
    assert (after["status"], after["reopen_count"], after["resolved_at"]) == ("open", 1, None)
    statuses = [
        (r["actor"], r["new_value"])
        for r in await desk.audit(pending_ticket["id"])
        if r["field"] == "status"
    ]
    assert statuses == [("agent", "pending"), ("agent", "resolved"), ("customer", "open")]
