"""The sections of the administrators' settings index (``/console/settings``).

One line per section: (title, url, description). Other settings pages add their entry
here; the index lists them in this order.
"""

from __future__ import annotations

from typing import NamedTuple


class MenuEntry(NamedTuple):
    title: str
    url: str
    description: str


SETTINGS_MENU: list[MenuEntry] = [
    MenuEntry(
        "Channel accounts",
        "/console/settings/channels",
        "Mailboxes, Telegram/Viber/VK bots, SMS providers, telephony; test each connection.",
    ),
    MenuEntry(
        "Statuses", "/console/settings/statuses", "Custom statuses mapped onto the categories."
    ),
    MenuEntry(
        "Ticket types", "/console/settings/types", "Incident, question, internal and your own."
    ),
    MenuEntry("Priorities", "/console/settings/priorities", "Order and colour of priorities."),
    MenuEntry("Agents", "/console/settings/agents", "Accounts, roles, passwords, deactivation."),
    MenuEntry("Groups", "/console/settings/groups", "Agent groups and their members."),
    MenuEntry(
        "Routing rules",
        "/console/settings/routing",
        "Who gets a new ticket: ordered rules, distribution, statuses not counted as load.",
    ),
    MenuEntry(
        "SLA rules",
        "/console/settings/sla",
        "Reaction and resolution targets per type, priority, client and registration time.",
    ),
    MenuEntry(
        "Service calendars",
        "/console/settings/calendars",
        "Working hours per weekday, holidays and shortened days, timezone.",
    ),
    MenuEntry("Triggers", "/console/settings/triggers", "Event, conditions and actions, in order."),
    MenuEntry(
        "Notification templates",
        "/console/settings/notifications",
        "Subject, email body and SMS text of each notification, with a preview.",
    ),
    MenuEntry(
        "Canned responses",
        "/console/settings/canned",
        "Reply templates per agent group, with placeholders.",
    ),
    MenuEntry("Branding", "/console/settings/branding", "Main colour, logo, page title, favicon."),
]
