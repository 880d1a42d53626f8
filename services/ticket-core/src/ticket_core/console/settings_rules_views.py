"""One-line summaries of rules for the ordered tables (pure)."""

from __future__ import annotations

from typing import Any

from .settings_rules_repo import Choices

WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _names(ids: list[int] | None, names: dict[int, str]) -> str:
    return ", ".join(names.get(int(i), f"#{i}") for i in ids or [])


def _days(days: list[int], first: int) -> str:
    """Weekday numbers (ISO 1..7 for routing, 0..6 for SLA) as names."""
    if len(days) == 7:
        return "every day"
    return ", ".join(WEEKDAY_NAMES[(d - first) % 7] for d in sorted(days))


def routing_conditions(c: dict[str, Any], choices: Choices) -> str:
    parts = []
    if c.get("type_ids"):
        parts.append("type " + _names(c["type_ids"], choices.names("types")))
    if c.get("priority_ids"):
        parts.append("priority " + _names(c["priority_ids"], choices.names("priorities")))
    if c.get("channels"):
        parts.append("channel " + ", ".join(c["channels"]))
    if c.get("channel_accounts"):
        parts.append("account " + ", ".join(c["channel_accounts"]))
    if c.get("company_category_ids"):
        parts.append("client " + _names(c["company_category_ids"], choices.names("categories")))
    if w := c.get("time_window"):
        parts.append(f"{_days(w['weekdays'], 1)} {w['start']}-{w['end']} {w['timezone']}")
    for key, options in (c.get("attributes") or {}).items():
        parts.append(f"{key} in {', '.join(options)}")
    return "; ".join(parts) or "every ticket"


def routing_action(rule: dict[str, Any], choices: Choices) -> str:
    parts = []
    agents, groups = choices.names("agents"), choices.names("groups")
    if rule.get("group_id") is not None:
        parts.append("group " + groups.get(rule["group_id"], f"#{rule['group_id']}"))
    if rule.get("agent_id") is not None:
        parts.append("agent " + agents.get(rule["agent_id"], f"#{rule['agent_id']}"))
    distribution = str(rule.get("distribution") or "none")
    if distribution != "none":
        parts.append(distribution.replace("_", " "))
    if rule.get("observer_agent_ids") or rule.get("observer_group_ids"):
        observers = [
            _names(rule.get("observer_agent_ids"), agents),
            _names(rule.get("observer_group_ids"), groups),
        ]
        parts.append("observers " + ", ".join(o for o in observers if o))
    return "; ".join(parts) or "nothing"


def sla_conditions(rule: dict[str, Any], choices: Choices) -> str:
    parts = []
    if rule["ticket_type_ids"]:
        parts.append("type " + _names(rule["ticket_type_ids"], choices.names("types")))
    if rule["priority_ids"]:
        parts.append("priority " + _names(rule["priority_ids"], choices.names("priorities")))
    if rule["company_category_ids"]:
        parts.append(
            "category " + _names(rule["company_category_ids"], choices.names("categories"))
        )
    if rule["company_ids"]:
        parts.append("client " + _names(rule["company_ids"], choices.names("companies")))
    for w in rule["registered_within"]:
        parts.append(f"{_days(w['weekdays'], 0)} {w['start']}-{w['end']}")
    return "; ".join(parts) or "every ticket"


def minutes(value: int) -> str:
    hours, rest = divmod(int(value), 60)
    return f"{hours}h {rest}m" if hours and rest else (f"{hours}h" if hours else f"{rest}m")


def sla_targets(rule: dict[str, Any], choices: Choices) -> str:
    calendar = choices.names("calendars").get(rule["calendar_id"], f"#{rule['calendar_id']}")
    return (
        f"reaction {minutes(rule['reaction_minutes'])}, "
        f"resolution {minutes(rule['resolution_minutes'])} ({calendar})"
    )


def trigger_conditions(conditions: dict[str, Any]) -> str:
    items = conditions.get("all", conditions.get("any"))
    if isinstance(items, list) and not items:
        return "always"
    text = str(conditions)
    return text if len(text) <= 80 else text[:77] + "..."


def trigger_actions(actions: list[dict[str, Any]]) -> str:
    out = []
    for action in actions:
        detail = {k: v for k, v in action.items() if k != "type"}
        out.append(
            action["type"]
            + (" " + ", ".join(f"{k}={v}" for k, v in detail.items()) if detail else "")
        )
    text = "; ".join(out)
    return text if len(text) <= 100 else text[:97] + "..."
