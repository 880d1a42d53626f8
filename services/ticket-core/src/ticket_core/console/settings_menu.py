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
]
