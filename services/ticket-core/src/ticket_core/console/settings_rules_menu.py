"""The settings pages of part B (rules and texts), as (title, url, description) entries.

Part A's ``settings_menu.py`` lists the index's other entries; the two lists are joined
on ``/console/settings``."""

from __future__ import annotations

SETTINGS_RULES_MENU: list[tuple[str, str, str]] = [
    (
        "Routing rules",
        "/console/settings/routing",
        "Who gets a new ticket: ordered rules, distribution, statuses not counted as load.",
    ),
    (
        "SLA rules",
        "/console/settings/sla",
        "Reaction and resolution targets per type, priority, client and registration time.",
    ),
    (
        "Service calendars",
        "/console/settings/calendars",
        "Working hours per weekday, holidays and shortened days, timezone.",
    ),
    ("Triggers", "/console/settings/triggers", "Event, conditions and actions, in order."),
    (
        "Notification templates",
        "/console/settings/notifications",
        "Subject, email body and SMS text of each notification, with a preview.",
    ),
    (
        "Canned responses",
        "/console/settings/canned",
        "Reply templates per agent group, with placeholders.",
    ),
]
