"""Routing of the tickets ingestion opens, against the real PostgreSQL: first match wins,
disabled rules are skipped, round-robin and least-loaded distribution over active members,
the default chain, default observers, the audit trail, and an idle table costing nothing.

Every rule here is limited to a channel account of its own, and is deleted afterwards, so
the routing table the other tests see stays as it was.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from helpdesk_common.records import (
    Channel,
    InboundMessage,
    SenderIdentity,
    ThreadHints,
    TicketEventKind,
)
from sqlalchemy import delete, event, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from ticket_core import crud
from ticket_core import routing_repo as rrepo
from ticket_core import workflow_repo as wrepo
from ticket_core.audit import Actor
from ticket_core.channel_accounts import table as channel_accounts
from ticket_core.ingest import ingest_batch
from ticket_core.models_org import agents, categories, companies, groups
from ticket_core.models_routing import round_robin, routing_rules, service_objects
from ticket_core.models_workflow import statuses
from ticket_core.org_repo import set_domains
from ticket_core.repository import contacts
from ticket_core.routing_cache import SNAPSHOTS, Snapshot, SnapshotCache
from ticket_core.routing_writer import reroute, route_new_tickets

from .conftest import WEEK, Desk, unique

RuleMaker = Callable[..., Awaitable[dict[str, Any]]]


def message(account: str, email: str | None = None, user_id: str | None = None) -> InboundMessage:
    email = email or f"{unique('c')}@example.com"
    peer = user_id or email
    return InboundMessage(
        idempotency_key=f"test:{uuid.uuid4().hex}",
        channel=Channel.WEBFORM,
        channel_account=account,
        sender=SenderIdentity(channel_user_id=peer, email=email, display_name="Ann"),
        thread=ThreadHints(conversation_id=peer),
        text="Help please",
    )


@pytest.fixture(autouse=True)
def fresh_snapshots() -> Any:
    """Every batch reads the routing table as it is (no cached copy between steps)."""
    ttl, SNAPSHOTS.ttl = SNAPSHOTS.ttl, 0.0
    yield
    SNAPSHOTS.ttl = ttl
    SNAPSHOTS.invalidate()


@pytest.fixture
async def rules(desk: Desk) -> AsyncIterator[RuleMaker]:
    made: list[int] = []

    async def make(**values: Any) -> dict[str, Any]:
        async with desk.sessions() as session, session.begin():
            row = await crud.create(
                session, routing_rules, {"name": unique("rule "), "position": 0, **values}
            )
        made.append(int(row["id"]))
        return row

    yield make
    async with desk.sessions() as session, session.begin():
        await session.execute(delete(routing_rules).where(routing_rules.c.id.in_(made)))


async def _set(desk: Desk, table: Any, row_id: int, **values: Any) -> None:
    async with desk.sessions() as session, session.begin():
        await session.execute(update(table).where(table.c.id == row_id).values(**values))


async def _tickets(desk: Desk, messages: list[InboundMessage]) -> list[dict[str, Any]]:
    """Ingest one batch; the tickets of the messages, in message order."""
    await desk.ingest(messages)
    found = []
    for m in messages:
        ticket = await desk.ticket_of(str(m.sender.email))
        assert ticket is not None
        found.append(ticket)
    return found


async def _observers(desk: Desk, ticket_id: int) -> set[int]:
    async with desk.sessions() as session:
        agents_, _ = (await wrepo.observers_of(session, [ticket_id]))[ticket_id]
    return set(agents_)


async def test_first_enabled_matching_rule_wins_and_is_audited_by_system(
    desk: Desk, rules: RuleMaker
) -> None:
    account, elsewhere = unique("acct"), unique("acct")
    first, second, watcher = await desk.agent(), await desk.agent(), await desk.agent()
    await rules(name=unique("disabled "), position=1, enabled=False, agent_id=first,
                conditions={"channel_accounts": [account]})  # fmt: skip
    winner = await rules(
        position=2,
        agent_id=second,
        observer_agent_ids=[watcher],
        conditions={"channel_accounts": [account], "channels": ["webform"]},
    )
    await rules(position=3, agent_id=first, conditions={"channel_accounts": [account]})
    await rules(position=0, agent_id=first, conditions={"channel_accounts": [account],
                                                        "channels": ["email"]})  # fmt: skip

    routed, other = message(account), message(elsewhere)
    result = await desk.ingest([routed, other])
    ticket = await desk.ticket_of(str(routed.sender.email))
    untouched = await desk.ticket_of(str(other.sender.email))
    assert ticket is not None and untouched is not None
    assert (ticket["responsible_agent_id"], ticket["responsible_group_id"]) == (second, None)
    assert await _observers(desk, ticket["id"]) == {watcher}
    assert (untouched["responsible_agent_id"], untouched["responsible_group_id"]) == (None, None)
    audit = {(r["field"], r["actor"], r["agent_id"], r["new_value"], r["reason"])
             for r in await desk.audit(ticket["id"])}  # fmt: skip
    assert audit == {
        ("responsible_agent_id", "system", None, str(second), winner["name"]),
        ("observer_agents", "system", None, str(watcher), winner["name"]),
    }
    assigned = [e for e in result.events if e.kind is TicketEventKind.RESPONSIBLE_CHANGED]
    assert [(e.ticket_id, e.details["reason"]) for e in assigned] == [
        (ticket["id"], winner["name"])
    ]
    assert assigned[0].details["responsible_agent_id"] == str(second)


async def test_round_robin_alternates_across_batches_and_skips_inactive_members(
    desk: Desk, rules: RuleMaker
) -> None:
    account = unique("acct")
    one, two, away = await desk.agent(), await desk.agent(), await desk.agent()
    group = await desk.group([one, two, away])
    await _set(desk, agents, away, active=False)
    await rules(group_id=group, distribution="round_robin",
                conditions={"channel_accounts": [account]})  # fmt: skip

    batch = await _tickets(desk, [message(account) for _ in range(3)])
    later = await _tickets(desk, [message(account)])
    picks = [t["responsible_agent_id"] for t in batch + later]
    assert picks == [one, two, one, two]
    assert {t["responsible_group_id"] for t in batch + later} == {group}
    async with desk.sessions() as session:
        pointer = await session.scalar(
            select(round_robin.c.last_agent_id).where(round_robin.c.group_id == group)
        )
    assert pointer == two


async def test_least_loaded_picks_the_least_loaded_active_member(
    desk: Desk, rules: RuleMaker
) -> None:
    """busy: 2 open tickets; light: 1 counted + 2 in a status that does not count; idle
    (deactivated) has none and is never picked."""
    account = unique("acct")
    lead = Actor.agent(await desk.agent("lead_specialist"))
    busy, light, idle = await desk.agent(), await desk.agent(), await desk.agent()
    group = await desk.group([busy, light, idle])
    async with desk.sessions() as session, session.begin():
        waiting = await crud.create(
            session,
            statuses,
            {"name": unique("On vendor "), "category": "open", "counts_toward_load": False},
        )
    existing = [t["id"] for t in await desk.tickets(5)]
    await desk.change(existing[:2], lead, responsible_agent_id=busy)
    await desk.change(existing[2:], lead, responsible_agent_id=light)
    await desk.change(existing[3:], lead, status_id=waiting["id"])
    await _set(desk, agents, idle, active=False)
    await rules(group_id=group, distribution="least_loaded",
                conditions={"channel_accounts": [account]})  # fmt: skip

    async with desk.sessions() as session:
        assert await rrepo.loads(session, [busy, light, idle]) == {busy: 2, light: 1}
    picked = await _tickets(desk, [message(account) for _ in range(3)])
    # light 1 -> 2; tie busy 2 / light 2 -> lower id (busy) -> 3; light 2 -> 3
    assert [t["responsible_agent_id"] for t in picked] == [light, busy, light]


async def test_default_chain_service_object_then_contact_then_company_then_account_group(
    desk: Desk,
) -> None:
    account = unique("acct")
    company_manager, contact_manager, object_manager = (
        await desk.agent(),
        await desk.agent(),
        await desk.agent(),
    )
    group = await desk.group([])
    domain = f"{unique('chain')}.test"
    async with desk.sessions() as session, session.begin():
        await crud.create(
            session,
            channel_accounts,
            {
                "channel": "webform",
                "name": account,
                "config": {"default_group_id": group},
                "secrets_encrypted": "",
            },
        )
        client = await session.scalar(select(categories.c.id).where(categories.c.name == "Client"))
        company = await crud.create(
            session,
            companies,
            {"name": unique("Chain "), "category_id": client, "manager_agent_id": company_manager},
        )
        await set_domains(session, company["id"], [domain])

    outsider, employee = message(account), message(account, f"{unique('c')}@{domain}")
    by_group, by_company = await _tickets(desk, [outsider, employee])
    assert (by_group["responsible_agent_id"], by_group["responsible_group_id"]) == (None, group)
    assert (by_company["responsible_agent_id"], by_company["responsible_group_id"]) == (
        company_manager,
        None,
    )
    assert [r["reason"] for r in await desk.audit(by_group["id"])] == [
        "routing default: channel account group"
    ]

    # The contact gets a manager: the contact's next ticket goes to that manager.
    await _set(desk, contacts, by_company["contact_id"], manager_agent_id=contact_manager)
    again = message(account, str(employee.sender.email), user_id=unique("peer"))
    (by_contact,) = await _tickets(desk, [again])
    assert by_contact["id"] != by_company["id"]
    assert by_contact["responsible_agent_id"] == contact_manager

    # A service object with a manager comes first; re-running routing on the ticket says so.
    async with desk.sessions() as session, session.begin():
        cafe = await crud.create(
            session,
            service_objects,
            {
                "name": unique("Cafe "),
                "company_id": company["id"],
                "manager_agent_id": object_manager,
            },
        )
    await desk.change(
        [by_contact["id"]], Actor.agent(company_manager), service_object_id=cafe["id"]
    )
    async with desk.sessions() as session, session.begin():
        result = await reroute(
            session,
            by_contact["id"],
            await SNAPSHOTS.get(session),
            now=datetime.now(UTC),
            auto_close_after=WEEK,
        )
    assert result is not None and result.assignment is not None
    assert result.assignment.source == "service_object"
    rerouted = await desk.ticket(by_contact["id"])
    assert rerouted["responsible_agent_id"] == object_manager
    last = (await desk.audit(by_contact["id"]))[-1]
    assert (last["field"], last["actor"], last["old_value"], last["new_value"], last["reason"]) == (
        "responsible_agent_id",
        "system",
        str(contact_manager),
        str(object_manager),
        "routing default: service object manager",
    )


async def test_default_observers_are_the_union_of_settings_company_and_contact_cards(
    desk: Desk, rules: RuleMaker
) -> None:
    account = unique("acct")
    everyone, company_watcher, contact_watcher, rule_agent = [await desk.agent() for _ in range(4)]
    domain = f"{unique('obs')}.test"
    async with desk.sessions() as session, session.begin():
        client = await session.scalar(select(categories.c.id).where(categories.c.name == "Client"))
        company = await crud.create(
            session,
            companies,
            {
                "name": unique("Watched "),
                "category_id": client,
                "default_observer_agent_ids": [company_watcher],
            },
        )
        await set_domains(session, company["id"], [domain])
    first = message(account, f"{unique('c')}@{domain}")
    (ticket,) = await _tickets(desk, [first])
    assert await _observers(desk, ticket["id"]) == {company_watcher}

    await _set(desk, contacts, ticket["contact_id"], default_observer_agent_ids=[contact_watcher])
    await rules(agent_id=rule_agent, conditions={"channel_accounts": [account]})
    async with desk.sessions() as session, session.begin():
        before = await rrepo.default_observers(session)
        await rrepo.set_default_observers(session, [everyone])
    try:
        again = message(account, str(first.sender.email), user_id=unique("peer"))
        (second,) = await _tickets(desk, [again])
    finally:
        async with desk.sessions() as session, session.begin():
            await rrepo.set_default_observers(session, before)
    assert second["responsible_agent_id"] == rule_agent
    assert await _observers(desk, second["id"]) == {everyone, company_watcher, contact_watcher}


async def test_an_idle_routing_table_costs_a_batch_no_statement(infra: Any, desk: Desk) -> None:
    engine = create_async_engine(infra.database_url)
    statements: list[str] = []
    event.listen(
        engine.sync_engine,
        "before_cursor_execute",
        lambda conn, cursor, statement, *args: statements.append(statement),
    )
    idle = SnapshotCache(ttl=float("inf"), preloaded=Snapshot())
    tickets = [
        {"id": -i, "contact_id": None, "company_id": None, "channel": "webform",
         "channel_account": "default", "created_at": datetime.now(UTC), "priority_id": 1}
        for i in range(1, 50)
    ]  # fmt: skip
    try:
        async with async_sessionmaker(engine, class_=AsyncSession)() as session:
            routing = await route_new_tickets(session, tickets, idle)
        assert routing.assignments == {} and statements == []
        assert all("responsible_agent_id" not in t for t in tickets)
    finally:
        await engine.dispose()


async def test_two_replicas_take_round_robin_turns_through_the_locked_row(
    desk: Desk, rules: RuleMaker
) -> None:
    """A batch still in its transaction holds the group's round-robin row: a second batch
    (another replica) waits for it, then continues from its pick instead of repeating it."""
    account = unique("acct")
    one, two = await desk.agent(), await desk.agent()
    group = await desk.group([one, two])
    await rules(group_id=group, distribution="round_robin",
                conditions={"channel_accounts": [account]})  # fmt: skip
    first, second = message(account), message(account)
    async with desk.sessions() as session, session.begin():
        await ingest_batch(session, [first], reopen_window=WEEK)
        other = asyncio.create_task(desk.ingest([second]))
        await asyncio.sleep(0.3)
        waited = not other.done()
    await other
    picks = [await desk.ticket_of(str(m.sender.email)) for m in (first, second)]
    assert waited
    assert [t["responsible_agent_id"] for t in picks if t] == [one, two]


async def test_a_rule_naming_a_deleted_observer_group_still_routes_the_batch(
    desk: Desk, rules: RuleMaker
) -> None:
    """Observer group ids in a rule are not foreign keys: a group deleted since is dropped
    from the assignment instead of failing (and dead-lettering) the batch."""
    account = unique("acct")
    agent, kept, gone = await desk.agent(), await desk.group([]), await desk.group([])
    await rules(agent_id=agent, observer_group_ids=[kept, gone],
                conditions={"channel_accounts": [account]})  # fmt: skip
    async with desk.sessions() as session, session.begin():
        await session.execute(delete(groups).where(groups.c.id == gone))
    (ticket,) = await _tickets(desk, [message(account)])
    assert ticket["responsible_agent_id"] == agent
    async with desk.sessions() as session:
        _, observing = (await wrepo.observers_of(session, [ticket["id"]]))[ticket["id"]]
    assert set(observing) == {kept}
