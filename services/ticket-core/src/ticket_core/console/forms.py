"""What the console's forms and query strings mean: parsing and checking them (pure).

A bad value is a ``ConsoleError`` (shown as a page with the reason), never a 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from fastapi import HTTPException
from starlette.datastructures import FormData

from .. import form_fields
from ..workflow import KEEP, ChangeRequest
from . import inbox_repo, views

PREFIX = "/console"


class ConsoleError(HTTPException):
    """A refusal shown as a page (or as the ticket page with the reason)."""


def int_field(values: Mapping[str, Any], name: str) -> int | None:
    return form_fields.int_field(values, name, ConsoleError)


def flag(values: Mapping[str, Any], name: str) -> bool:
    return str(values.get(name, "")).lower() in {"1", "true", "on", "yes"}


def inbox_query(params: Mapping[str, Any]) -> inbox_repo.InboxQuery:
    status = params.get("status") or None
    if status is not None and status not in inbox_repo.CATEGORIES:
        raise ConsoleError(status_code=422, detail="unknown status")
    channel = params.get("channel") or None
    if channel is not None and channel not in views.CHANNELS:
        raise ConsoleError(status_code=422, detail="unknown channel")
    sort = params.get("sort") or "updated"
    if sort not in inbox_repo.SORTS:
        raise ConsoleError(status_code=422, detail="unknown sort order")
    q = (params.get("q") or "").strip()
    if len(q) > 200:
        raise ConsoleError(status_code=422, detail="the search text is too long")
    return inbox_repo.InboxQuery(
        mine=flag(params, "mine"),
        unassigned=flag(params, "unassigned"),
        overdue=flag(params, "overdue"),
        pending=flag(params, "pending"),
        status=status,
        priority_id=int_field(params, "priority_id"),
        type_id=int_field(params, "type_id"),
        channel=channel,
        company_id=int_field(params, "company_id"),
        q=q or None,
        sort=sort,
        offset=int_field(params, "offset") or 0,
    )


def query_string(query: inbox_repo.InboxQuery, **override: Any) -> str:
    values: dict[str, Any] = {
        "mine": "1" if query.mine else None,
        "unassigned": "1" if query.unassigned else None,
        "overdue": "1" if query.overdue else None,
        "pending": "1" if query.pending else None,
        "status": query.status,
        "priority_id": query.priority_id,
        "type_id": query.type_id,
        "channel": query.channel,
        "company_id": query.company_id,
        "q": query.q,
        "sort": query.sort if query.sort != "updated" else None,
        "offset": query.offset or None,
    }
    values.update(override)
    return urlencode({k: v for k, v in values.items() if v not in (None, "", 0)})


def ids(form: FormData, name: str) -> frozenset[int] | None:
    """A multi-select's ids; None when the form has no such field (``name`` + ``_given``
    marks an empty selection as "none")."""
    if f"{name}_given" not in form:
        return None
    values = [v for v in form.getlist(name) if str(v).strip()]
    if len(values) > 100:
        raise ConsoleError(status_code=422, detail=f"too many {name}")
    return frozenset(int_field({"id": v}, "id") or 0 for v in values)


def only_changed(change: ChangeRequest, current: dict[str, Any]) -> ChangeRequest:
    """The form posts every field: keep only those that differ from the ticket."""
    values: dict[str, Any] = {}
    for name in ("status_id", "priority_id"):
        if getattr(change, name) == current.get(name):
            values[name] = None
    for name in ("type_id", "responsible_agent_id", "responsible_group_id"):
        if getattr(change, name) == current.get(name):
            values[name] = KEEP
    for name in ("observer_agent_ids", "observer_group_ids"):
        given = getattr(change, name)
        if given is not None and given == frozenset(current.get(name) or ()):
            values[name] = None
    if values.get("status_id", change.status_id) is None:
        values["pending_until"] = None
    return replace(change, **values)
