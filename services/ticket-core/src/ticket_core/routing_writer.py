"""Applying routing: to the tickets a batch opens (ingestion) and to one ticket on demand
(``POST /tickets/{id}/route``).

Set-based: whatever the number of tickets, a batch costs at most the cards of its
contacts and companies, the managers of its service objects, the active agents named,
the groups involved with their active members, the loads of those members and the
round-robin rows (locked FOR UPDATE in the batch's transaction); each only when needed,
nothing at all when the snapshot is idle. Changes are audited by ``system`` with the
rule's name (or the default chain's step) as the reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from . import routing_repo as rrepo
from . import workflow_repo as wrepo
from .audit import SYSTEM, FieldChange, audit_rows
from .routing import (
    Assignment,
    Defaults,
    Distribution,
    GroupPicker,
    TicketFacts,
    first_match,
    route,
)
from .routing_cache import Snapshot, SnapshotCache
from .workflow import KEEP, ChangeRequest, Outcome, apply_changes

Ticket = dict[str, Any]


async def plan_routes(
    session: AsyncSession, tickets: Sequence[Ticket], snapshot: Snapshot
) -> dict[int, Assignment]:
    """ticket id -> assignment, for the tickets routing has something to say about."""
    with_objects = [t["service_object_id"] for t in tickets if t.get("service_object_id")]
    if not tickets or (snapshot.idle and not with_objects):
        return {}
    contacts = (
        await rrepo.contact_cards(session, (t["contact_id"] for t in tickets if t["contact_id"]))
        if snapshot.contact_cards
        else {}
    )
    companies = (
        await rrepo.company_cards(session, (t["company_id"] for t in tickets if t["company_id"]))
        if snapshot.company_cards or snapshot.uses_company_category
        else {}
    )
    objects = await rrepo.service_object_managers(session, with_objects)
    facts: dict[int, TicketFacts] = {}
    defaults: dict[int, Defaults] = {}
    for ticket in tickets:
        contact: tuple[int | None, list[int]] = contacts.get(ticket["contact_id"], (None, []))
        company: tuple[int | None, int | None, list[int]] = companies.get(
            ticket["company_id"], (None, None, [])
        )
        facts[ticket["id"]] = TicketFacts(
            type_id=ticket.get("type_id"),
            priority_id=ticket.get("priority_id"),
            channel=ticket["channel"],
            channel_account=ticket["channel_account"],
            company_category_id=company[0],
            created_at=ticket["created_at"],
            attributes=ticket.get("custom_attributes") or {},
        )
        defaults[ticket["id"]] = Defaults(
            service_object_manager=objects.get(ticket.get("service_object_id") or 0),
            contact_manager=contact[0],
            company_manager=company[1],
            account_group=snapshot.account_groups.get(
                (ticket["channel"], ticket["channel_account"])
            ),
            observer_agent_ids=frozenset(contact[1]) | frozenset(company[2]),
        )
    rules = snapshot.rules
    matched = {tid: first_match(rules, f) for tid, f in facts.items()}
    named = set(snapshot.default_observers)
    for tid, rule in matched.items():
        named |= defaults[tid].agents() | (rule.agents() if rule else set())
    active = await wrepo.active_agents(session, named)

    distributing = {
        r.group_id: r.distribution
        for r in matched.values()
        if r and r.group_id is not None and r.distribution is not Distribution.NONE
    }
    wanted_groups = set(distributing) | {d.account_group for d in defaults.values()}
    for rule in matched.values():
        if rule is not None:
            wanted_groups |= {rule.group_id, *rule.observer_group_ids}
    members = await rrepo.active_members(session, {g for g in wanted_groups if g is not None})
    least = {g for g, how in distributing.items() if how is Distribution.LEAST_LOADED}
    least_members = {a for g in least for a in members.get(g or 0, [])}
    rotating = [g for g, how in distributing.items() if how is Distribution.ROUND_ROBIN]
    picker = GroupPicker(
        members,
        loads=await rrepo.loads(session, least_members),
        last=await rrepo.lock_round_robin(session, (g for g in rotating if g is not None)),
    )
    planned: dict[int, Assignment] = {}
    for ticket in tickets:
        tid = ticket["id"]
        found = route(rules, facts[tid], defaults[tid], snapshot.default_observers, active, picker)
        if found is not None and not found.observer_group_ids <= set(members):
            found = replace(found, observer_group_ids=found.observer_group_ids & set(members))
        if found is not None and found.group_id is not None and found.group_id not in members:
            found = _without_group(found)  # the account's default group no longer exists
        if found is not None:
            planned[tid] = found
    await rrepo.save_round_robin(session, {g: picker.last[g] for g in picker.turned})
    return planned


def _without_group(found: Assignment) -> Assignment | None:
    if not found.observer_agent_ids:
        return None
    return Assignment(found.reason, "observers", observer_agent_ids=found.observer_agent_ids)


@dataclass
class NewTicketRouting:
    """Routing of the tickets a batch opens: set on the rows before they are inserted;
    observers, audit rows and event details follow."""

    assignments: dict[int, Assignment] = field(default_factory=dict)

    def apply(self, tickets: Sequence[Ticket]) -> None:
        for ticket in tickets:
            found = self.assignments.get(ticket["id"])
            ticket["responsible_agent_id"] = found.agent_id if found else None
            ticket["responsible_group_id"] = found.group_id if found else None

    async def write_after_insert(
        self, session: AsyncSession, audit: list[dict[str, Any]], now: datetime
    ) -> None:
        agents = {
            t: a.observer_agent_ids for t, a in self.assignments.items() if a.observer_agent_ids
        }
        groups = {
            t: a.observer_group_ids for t, a in self.assignments.items() if a.observer_group_ids
        }
        await wrepo.replace_observers(session, "agent", agents)
        await wrepo.replace_observers(session, "group", groups)
        for ticket_id, found in self.assignments.items():
            changes = [
                FieldChange(name, None, value)
                for name, value in (
                    ("responsible_agent_id", found.agent_id),
                    ("responsible_group_id", found.group_id),
                    ("observer_agents", found.observer_agent_ids or None),
                    ("observer_groups", found.observer_group_ids or None),
                )
                if value is not None
            ]
            audit.extend(audit_rows(ticket_id, SYSTEM, changes, now, found.reason))

    def details(self, ticket_id: int) -> dict[str, str] | None:
        """The responsible.changed event's details, or None when nobody was assigned."""
        found = self.assignments.get(ticket_id)
        if found is None or (found.agent_id is None and found.group_id is None):
            return None
        details = {"reason": found.reason, "source": found.source}
        if found.agent_id is not None:
            details["responsible_agent_id"] = str(found.agent_id)
        if found.group_id is not None:
            details["responsible_group_id"] = str(found.group_id)
        return details


async def route_new_tickets(
    session: AsyncSession,
    tickets: Sequence[Ticket],
    snapshots: SnapshotCache,
    account_groups: Mapping[tuple[str, str], int] | None = None,
) -> NewTicketRouting:
    """Decide the batch's new tickets (they have ids, not yet inserted) and set their
    responsible columns; the caller inserts them, then ``write_after_insert``.
    ``account_groups``: the accounts' default groups as read in the batch's transaction
    (fresher than the cached snapshot's, and only groups that still exist)."""
    if not tickets:
        return NewTicketRouting()
    snapshot = await snapshots.get(session)
    if account_groups is not None:
        snapshot = replace(snapshot, account_groups=account_groups)
    routing = NewTicketRouting(await plan_routes(session, tickets, snapshot))
    if routing.assignments:
        routing.apply(tickets)
    return routing


@dataclass(frozen=True)
class RerouteResult:
    assignment: Assignment | None
    outcome: Outcome | None


async def reroute(
    session: AsyncSession,
    ticket_id: int,
    snapshot: Snapshot,
    *,
    now: datetime,
    auto_close_after: timedelta,
) -> RerouteResult | None:
    """Run routing again on an existing ticket (None: no such ticket). The observers it
    names are added to the ticket's; the responsible ones replaced when routing names one."""
    locked = await wrepo.lock_tickets(session, [ticket_id])
    if ticket_id not in locked:
        return None
    found = (await plan_routes(session, [locked[ticket_id]], snapshot)).get(ticket_id)
    if found is None:
        return RerouteResult(None, None)
    agents, groups = (await wrepo.observers_of(session, [ticket_id]))[ticket_id]
    assigns = found.agent_id is not None or found.group_id is not None
    request = ChangeRequest(
        responsible_agent_id=found.agent_id if assigns else KEEP,
        responsible_group_id=found.group_id if assigns else KEEP,
        observer_agent_ids=agents | found.observer_agent_ids,
        observer_group_ids=groups | found.observer_group_ids,
        reason=found.reason,
    )
    outcome = await apply_changes(
        session, [ticket_id], request, SYSTEM, now=now, auto_close_after=auto_close_after
    )
    return RerouteResult(found, outcome)
