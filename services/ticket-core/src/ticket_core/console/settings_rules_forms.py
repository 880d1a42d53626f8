"""The settings forms of routing rules, SLA rules, calendars, triggers, notification
templates and canned responses, read into the REST API's own request models (pure).

A value that does not parse, or that the API's model refuses, is a ``ConsoleError`` 422
whose text says which field and why; the page shows it above the re-rendered form.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from .. import canned_api, routing_schemas, sla_schemas, triggers_api
from ..sla_tickets import WEEKDAYS
from .forms import ConsoleError

Model = TypeVar("Model", bound=BaseModel)
EXCEPTION_KINDS = ("holiday", "shortened", "working")


def describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors()[:5]:
        where = ".".join(str(p) for p in item["loc"])
        parts.append(f"{where}: {item['msg']}" if where else str(item["msg"]))
    return "; ".join(parts)


def build(model: Callable[..., Model], values: dict[str, Any]) -> Model:
    try:
        return model(**values)
    except ValidationError as exc:
        raise ConsoleError(status_code=422, detail=describe(exc)) from None


def text(form: FormData, name: str) -> str:
    return str(form.get(name) or "").strip()


def optional_int(form: FormData, name: str) -> int | None:
    raw = text(form, name)
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise ConsoleError(status_code=422, detail=f"{name} must be a number") from exc


def ids(form: FormData, name: str) -> list[int]:
    out = []
    for raw in form.getlist(name):
        value = str(raw).strip()
        if not value:
            continue
        try:
            out.append(int(value))
        except ValueError as exc:
            raise ConsoleError(status_code=422, detail=f"{name} must be numbers") from exc
    return out


def checked(form: FormData, name: str) -> bool:
    return str(form.get(name) or "") in {"1", "on", "true"}


def words(raw: str) -> list[str]:
    """A comma- or line-separated list."""
    return [w.strip() for w in raw.replace("\n", ",").split(",") if w.strip()]


def json_field(form: FormData, name: str, default: Any) -> Any:
    raw = text(form, name)
    if not raw:
        return default
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConsoleError(
            status_code=422, detail=f"{name}: not valid JSON (line {exc.lineno}: {exc.msg})"
        ) from None


# --- routing -----------------------------------------------------------------------------


def attribute_lines(raw: str) -> dict[str, list[str]]:
    """``key: option, option`` per line."""
    found: dict[str, list[str]] = {}
    for line in raw.splitlines():
        if not line.strip():
            continue
        key, sep, options = line.partition(":")
        if not sep or not key.strip():
            raise ConsoleError(
                status_code=422, detail=f"attributes: write 'key: option, option' ({line!r})"
            )
        found[key.strip()] = words(options)
    return found


def routing_rule(form: FormData) -> routing_schemas.RuleIn:
    conditions: dict[str, Any] = {
        "type_ids": ids(form, "type_ids") or None,
        "priority_ids": ids(form, "priority_ids") or None,
        "channels": [str(c) for c in form.getlist("channels") if str(c)] or None,
        "channel_accounts": words(text(form, "channel_accounts")) or None,
        "company_category_ids": ids(form, "company_category_ids") or None,
        "attributes": attribute_lines(text(form, "attributes")),
    }
    if checked(form, "window_on"):
        conditions["time_window"] = {
            "weekdays": ids(form, "window_weekdays"),
            "start": text(form, "window_start"),
            "end": text(form, "window_end"),
            "timezone": text(form, "window_timezone"),
        }
    return build(
        routing_schemas.RuleIn,
        {
            "name": text(form, "name"),
            "enabled": checked(form, "enabled"),
            "conditions": conditions,
            "agent_id": optional_int(form, "agent_id"),
            "group_id": optional_int(form, "group_id"),
            "distribution": text(form, "distribution") or "none",
            "observer_agent_ids": ids(form, "observer_agent_ids"),
            "observer_group_ids": ids(form, "observer_group_ids"),
        },
    )


def routing_patch(rule: routing_schemas.RuleIn) -> routing_schemas.RulePatch:
    """The whole rule as a change (every field replaced; the position kept)."""
    return routing_schemas.RulePatch(**rule.model_dump(exclude={"position"}))


# --- SLA ---------------------------------------------------------------------------------


def sla_rule(form: FormData) -> sla_schemas.RuleIn:
    windows = []
    if checked(form, "window_on"):
        windows.append(
            {
                "weekdays": ids(form, "window_weekdays"),
                "start": text(form, "window_start") or "00:00",
                "end": text(form, "window_end") or "00:00",
                "timezone": text(form, "window_timezone") or None,
            }
        )
    return build(
        sla_schemas.RuleIn,
        {
            "name": text(form, "name"),
            "calendar_id": optional_int(form, "calendar_id"),
            "enabled": checked(form, "enabled"),
            "ticket_type_ids": ids(form, "ticket_type_ids"),
            "priority_ids": ids(form, "priority_ids"),
            "company_category_ids": ids(form, "company_category_ids"),
            "company_ids": ids(form, "company_ids"),
            "registered_within": windows,
            "reaction_minutes": optional_int(form, "reaction_minutes"),
            "resolution_minutes": optional_int(form, "resolution_minutes"),
            "warning_minutes": optional_int(form, "warning_minutes") or 0,
        },
    )


def exception_lines(raw: str) -> list[dict[str, str]]:
    """``YYYY-MM-DD holiday`` / ``YYYY-MM-DD shortened 09:00-14:00`` per line."""
    days = []
    for line in raw.splitlines():
        if not line.strip():
            continue
        parts = line.split(None, 2)
        if len(parts) < 2 or parts[1] not in EXCEPTION_KINDS:
            raise ConsoleError(
                status_code=422,
                detail=f"exception days: write 'YYYY-MM-DD holiday|shortened|working [hours]' "
                f"({line.strip()!r})",
            )
        days.append(
            {"date": parts[0], "kind": parts[1], "hours": parts[2] if len(parts) > 2 else ""}
        )
    return days


def calendar(form: FormData) -> sla_schemas.CalendarIn:
    return build(
        sla_schemas.CalendarIn,
        {
            "name": text(form, "name"),
            "timezone": text(form, "timezone"),
            "working_hours": {day: text(form, f"hours_{day}") for day in WEEKDAYS},
            "exception_days": exception_lines(text(form, "exception_days")),
        },
    )


def exception_text(days: list[dict[str, Any]]) -> str:
    return "\n".join(
        " ".join(p for p in (str(d["date"]), str(d["kind"]), str(d.get("hours") or "")) if p)
        for d in days
    )


# --- triggers ----------------------------------------------------------------------------


def quick_actions(form: FormData) -> list[dict[str, Any]]:
    """The common cases the form offers beside the JSON: tag, status, priority, assign."""
    actions: list[dict[str, Any]] = []
    if tag := text(form, "quick_tag"):
        actions.append({"type": "add_tag", "tag": tag})
    if (status_id := optional_int(form, "quick_status_id")) is not None:
        actions.append({"type": "set_status", "status_id": status_id})
    if (priority_id := optional_int(form, "quick_priority_id")) is not None:
        actions.append({"type": "set_priority", "priority_id": priority_id})
    agent_id, group_id = optional_int(form, "quick_agent_id"), optional_int(form, "quick_group_id")
    if agent_id is not None or group_id is not None:
        assign: dict[str, Any] = {"type": "assign"}
        if agent_id is not None:
            assign["agent_id"] = agent_id
        if group_id is not None:
            assign["group_id"] = group_id
        actions.append(assign)
    if note := text(form, "quick_note"):
        actions.append({"type": "add_note", "text": note})
    return actions


def trigger(form: FormData) -> triggers_api.TriggerIn:
    actions = json_field(form, "actions", [])
    if not isinstance(actions, list):
        raise ConsoleError(status_code=422, detail="actions: a JSON list of actions")
    conditions = json_field(form, "conditions", {"all": []})
    hours = text(form, "time_after_hours")
    try:
        after = float(hours) if hours else None
    except ValueError as exc:
        raise ConsoleError(status_code=422, detail="time_after_hours must be a number") from exc
    return build(
        triggers_api.TriggerIn,
        {
            "name": text(form, "name"),
            "event": text(form, "event"),
            "conditions": conditions,
            "actions": [*actions, *quick_actions(form)],
            "enabled": checked(form, "enabled"),
            "time_anchor": text(form, "time_anchor") or None,
            "time_after_hours": after,
        },
    )


# --- canned responses --------------------------------------------------------------------


def canned(form: FormData) -> canned_api.CannedIn:
    return build(
        canned_api.CannedIn,
        {
            "group_id": optional_int(form, "group_id"),
            "category": text(form, "category") or None,
            "title": text(form, "title"),
            "text": str(form.get("text") or ""),
        },
    )


# --- what the forms show -----------------------------------------------------------------


class FormValues:
    """The values a settings form shows: a stored row's, or what was just submitted."""

    def __init__(self, values: dict[str, list[str]] | None = None) -> None:
        self.values = values or {}

    @classmethod
    def submitted(cls, form: FormData) -> FormValues:
        found: dict[str, list[str]] = {}
        for key in form:
            found[key] = [str(v) for v in form.getlist(key) if isinstance(v, str)]
        return cls(found)

    @classmethod
    def of(cls, **values: Any) -> FormValues:
        found: dict[str, list[str]] = {}
        for key, value in values.items():
            if value is None or value is False:
                continue
            if value is True:
                found[key] = ["1"]
            elif isinstance(value, list | tuple | set):
                found[key] = [str(v) for v in value]
            else:
                found[key] = [str(value)]
        return cls(found)

    def get(self, name: str, default: str = "") -> str:
        given = self.values.get(name)
        return given[0] if given else default

    def has(self, name: str, value: Any = "1") -> bool:
        return str(value) in self.values.get(name, [])


def routing_values(row: dict[str, Any]) -> FormValues:
    c = row.get("conditions") or {}
    window = c.get("time_window") or {}
    return FormValues.of(
        name=row["name"],
        enabled=bool(row["enabled"]),
        type_ids=c.get("type_ids") or [],
        priority_ids=c.get("priority_ids") or [],
        channels=c.get("channels") or [],
        channel_accounts=", ".join(c.get("channel_accounts") or []),
        company_category_ids=c.get("company_category_ids") or [],
        attributes="\n".join(
            f"{k}: {', '.join(v)}" for k, v in (c.get("attributes") or {}).items()
        ),
        window_on=bool(window),
        window_weekdays=window.get("weekdays") or [],
        window_start=window.get("start"),
        window_end=window.get("end"),
        window_timezone=window.get("timezone"),
        agent_id=row.get("agent_id"),
        group_id=row.get("group_id"),
        distribution=row.get("distribution") or "none",
        observer_agent_ids=row.get("observer_agent_ids") or [],
        observer_group_ids=row.get("observer_group_ids") or [],
    )


def sla_values(row: dict[str, Any]) -> FormValues:
    windows = row.get("registered_within") or []
    window = windows[0] if windows else {}
    return FormValues.of(
        name=row["name"],
        enabled=bool(row["enabled"]),
        calendar_id=row["calendar_id"],
        ticket_type_ids=row["ticket_type_ids"],
        priority_ids=row["priority_ids"],
        company_category_ids=row["company_category_ids"],
        company_ids=row["company_ids"],
        window_on=bool(window),
        window_weekdays=window.get("weekdays") or [],
        window_start=window.get("start"),
        window_end=window.get("end"),
        window_timezone=window.get("timezone"),
        reaction_minutes=row["reaction_minutes"],
        resolution_minutes=row["resolution_minutes"],
        warning_minutes=row["warning_minutes"],
    )


def calendar_values(row: dict[str, Any]) -> FormValues:
    hours = row.get("working_hours") or {}
    return FormValues.of(
        name=row["name"],
        timezone=row["timezone"],
        exception_days=exception_text(row.get("exception_days") or []),
        **{f"hours_{day}": hours.get(day, "") for day in WEEKDAYS},
    )


def trigger_values(row: dict[str, Any]) -> FormValues:
    return FormValues.of(
        name=row["name"],
        event=row["event"],
        enabled=bool(row["enabled"]),
        conditions=json.dumps(row["conditions"], indent=2),
        actions=json.dumps(row["actions"], indent=2),
        time_anchor=row.get("time_anchor"),
        time_after_hours=row.get("time_after_hours"),
    )


def canned_values(row: dict[str, Any]) -> FormValues:
    return FormValues.of(
        group_id=row.get("group_id"),
        category=row.get("category"),
        title=row["title"],
        text=row["text"],
    )
