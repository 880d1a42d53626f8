"""The console's inbox query against the real PostgreSQL: each filter, the text search,
sorting by priority, bold rows and the specialist's visibility (the browser tests in
tests/console cover the pages themselves)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from ticket_core.audit import Actor
from ticket_core.console.inbox_repo import InboxQuery, inbox_page
from ticket_core.console.views import is_bold
from ticket_core.models_workflow import priorities
from ticket_core.replies import ReplyRequest, ReplySettings, add_reply

from .conftest import Desk, unique


async def test_inbox_filters_search_sort_bold_and_visibility(desk: Desk) -> None:
    domain = f"{unique('inbox')}.example"
    mine, waiting, urgent = await desk.tickets(3, domain=domain)
    me, colleague = await desk.agent("specialist"), await desk.agent("specialist")
    admin = await desk.agent("administrator")
    async with desk.sessions() as session:
        high = await session.scalar(select(priorities.c.id).where(priorities.c.name == "high"))
    assert high is not None
    assert not (await desk.change([mine["id"]], Actor.agent(admin), responsible_agent_id=me)).failed
    later = datetime.now(UTC) + timedelta(days=1)
    assert not (
        await desk.change(
            [waiting["id"]], Actor.agent(admin), status="pending", pending_until=later
        )
    ).failed
    assert not (await desk.change([urgent["id"]], Actor.agent(admin), priority_id=high)).failed
    async with desk.sessions() as session, session.begin():
        await add_reply(
            session,
            mine["id"],
            ReplyRequest("On it", author_agent_id=me),
            ReplySettings("desk.test", "support"),
        )

    async def ids(agent: int = admin, sees_all: bool = True, **filters: object) -> list[int]:
        async with desk.sessions() as session:
            total, rows = await inbox_page(
                session,
                InboxQuery(q=domain, **filters),  # type: ignore[arg-type]
                agent,
                sees_all=sees_all,
                now=datetime.now(UTC),
            )
        assert total == len(rows) or "offset" in filters  # the total counts every page
        return [int(r["id"]) for r in rows]

    every = {mine["id"], waiting["id"], urgent["id"]}
    assert set(await ids()) == every
    assert await ids(agent=me, mine=True) == [mine["id"]]
    assert set(await ids(unassigned=True)) == {waiting["id"], urgent["id"]}
    assert await ids(pending=True) == [waiting["id"]]
    assert await ids(status="pending") == [waiting["id"]]
    assert await ids(priority_id=high) == [urgent["id"]]
    assert (await ids(sort="priority"))[0] == urgent["id"]
    assert await ids(sort="oldest") == sorted(every)
    assert await ids(limit=2, offset=2, sort="oldest") == [max(every)]
    assert await ids(channel="email") == []
    # Specialists: only what concerns them.
    assert await ids(agent=me, sees_all=False) == [mine["id"]]
    assert await ids(agent=colleague, sees_all=False) == []
    # Bold: new or the customer spoke last; the answered ticket is not.
    async with desk.sessions() as session:
        _, rows = await inbox_page(
            session, InboxQuery(q=domain), admin, sees_all=True, now=datetime.now(UTC)
        )
    bold = {int(r["id"]): is_bold(r) for r in rows}
    assert bold == {mine["id"]: False, waiting["id"]: True, urgent["id"]: True}
    # Search by number too.
    async with desk.sessions() as session:
        _, rows = await inbox_page(
            session,
            InboxQuery(q=f"#{urgent['number']}"),
            admin,
            sees_all=True,
            now=datetime.now(UTC),
        )
    assert [int(r["id"]) for r in rows] == [urgent["id"]]
