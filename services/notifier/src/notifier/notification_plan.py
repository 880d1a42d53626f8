"""Which notifications a ticket event causes, to whom, on which channel, with what text.

Pure: the event, the ticket's notification context and the configuration (both from
ticket-core's internal API) in, a list of ``Notice`` out. Rules:

- event kind -> notification types (``types_for``); a message event depends on the
  message's kind (a customer message, a public reply, an internal note) and the first
  message of a new ticket is announced by ``ticket.created`` only;
- agents: the responsible agent, observers, and the notify lists of the responsible and
  observing groups (mentions: the mentioned agents); never the agent who acted,
  never a deactivated agent;
- contacts (never on internal tickets, nor about auto-replies and bounces): the contact's
  email, else the company's email (``fallback_to_company_email``); a copy to the company
  (``company_copy``: always / when the contact has no email / when the ticket has no
  contact) and to the event's author (``copy_to_author``);
- channels: email when the type and the person allow it and there is an address; SMS
  likewise with a mobile number. One notice per (channel, address).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from helpdesk_common.logs import get_logger
from helpdesk_common.notification_templates import TYPES, Audience, render_text
from helpdesk_common.records import Channel, TicketEvent, TicketEventKind

Json = dict[str, Any]
K = TicketEventKind
log = get_logger(__name__)


@dataclass(frozen=True)
class Recipient:
    role: str  # responsible | observer | group | mentioned | contact | company | author
    name: str = ""
    email: str | None = None
    phone: str | None = None
    agent_id: int | None = None
    sms_ok: bool = True
    email_ok: bool = True


@dataclass(frozen=True)
class Notice:
    type_key: str
    channel: Channel
    address: str
    recipient: Recipient
    subject: str = ""
    text: str = ""
    variables: Mapping[str, Any] = field(default_factory=dict)

    def outbound_id(self, event_id: str) -> str:
        """Stable per (event, type, channel, recipient): the idempotency key of the send."""
        raw = f"{event_id}|{self.type_key}|{self.channel.value}|{self.address.lower()}"
        return "ntf-" + hashlib.sha256(raw.encode()).hexdigest()[:40]


_BY_KIND: dict[TicketEventKind, tuple[str, ...]] = {
    K.TICKET_CREATED: ("agent.ticket_created", "contact.ticket_registered"),
    K.RESPONSIBLE_CHANGED: ("agent.responsible_changed",),
    K.STATUS_CHANGED: ("agent.status_changed", "contact.status_changed", "contact.ticket_resolved"),
    K.MESSAGE_ADDED: ("agent.new_comment", "contact.agent_comment"),
    K.AGENT_MENTIONED: ("agent.mentioned",),
    K.SLA_WARNING: ("agent.sla_warning",),
    K.SLA_BREACHED: ("agent.sla_breached",),
    K.NOTIFY_REQUESTED: ("agent.trigger_requested",),
    K.ESCALATED: ("agent.escalated",),
}


def candidate_types(event: TicketEvent) -> tuple[str, ...]:
    """Types the event may cause, before looking at the ticket (no lookup when empty)."""
    if event.kind is K.NOTIFY_REQUESTED:
        wanted = event.details.get("template", "")
        return (wanted,) if wanted in TYPES else ("agent.trigger_requested",)
    return _BY_KIND.get(event.kind, ())


def mentioned_ids(event: TicketEvent) -> list[int]:
    raw = event.details.get("agent_ids", "") if event.kind is K.AGENT_MENTIONED else ""
    return [int(p) for p in raw.replace(" ", "").split(",") if p.isdigit()]


def event_ticket(event: TicketEvent, context: Json) -> Json:
    """The ticket as the event left it: a status change renders (and selects by) the
    status it moved to (``details.status_id``), not the one the ticket has by the time
    the event is handled."""
    ticket = dict(context["ticket"])
    status_id = event.details.get("status_id", "") if event.kind is K.STATUS_CHANGED else ""
    if status_id.isdigit():
        statuses = context.get("statuses", {})
        ticket["status_id"] = int(status_id)
        ticket["status"] = event.status or ticket["status"]
        ticket["status_name"] = statuses.get(status_id) or ticket["status"]
    return ticket


def types_for(event: TicketEvent, context: Json, enabled: Mapping[str, Json]) -> list[Json]:
    """The enabled types this event causes on this ticket."""
    message = context.get("message") or {}
    chosen = []
    for key in candidate_types(event):
        config = enabled.get(key)
        if config is None:
            continue
        if event.kind is K.MESSAGE_ADDED:
            kind = message.get("kind")
            if key == "agent.new_comment" and (
                kind not in ("customer", "public_reply", "internal_note")
                or (kind == "customer" and message.get("id") == context.get("first_message_id"))
            ):
                continue
            if key == "contact.agent_comment" and kind != "public_reply":
                continue
        if key == "contact.status_changed" and (
            event_ticket(event, context)["status_id"] not in set(config.get("status_ids") or ())
        ):
            continue
        if key == "contact.ticket_resolved" and event.status != "resolved":
            continue
        chosen.append(config)
    return chosen


def _agent(context: Json, agent_id: int | None, role: str) -> Recipient | None:
    found = context.get("agents", {}).get(str(agent_id)) if agent_id is not None else None
    if not found or not found.get("active", True):
        return None
    return Recipient(
        role,
        found.get("name") or "",
        found.get("email"),
        found.get("phone"),
        int(found["id"]),
        sms_ok=bool(found.get("sms_on", True)),
        email_ok=bool(found.get("email_on", True)),
    )


def agent_recipients(key: str, event: TicketEvent, context: Json) -> list[Recipient]:
    pairs: list[tuple[int | None, str]]
    if key == "agent.mentioned":
        pairs = [(a, "mentioned") for a in mentioned_ids(event)]
    else:
        pairs = [(context.get("responsible_agent_id"), "responsible")]
        pairs += [(a, "observer") for a in context.get("observer_agent_ids", [])]
        pairs += [(a, "group") for a in context.get("group_agent_ids", [])]
    seen: set[int] = set()
    found = []
    for agent_id, role in pairs:
        if agent_id is None or agent_id in seen or agent_id == event.actor_agent_id:
            continue
        seen.add(agent_id)
        recipient = _agent(context, agent_id, role)
        if recipient is not None:
            found.append(recipient)
    return found


def contact_recipients(event: TicketEvent, context: Json, settings: Json) -> list[Recipient]:
    message = context.get("message") or {}
    if event.internal or context["ticket"].get("internal") or message.get("automatic"):
        return []
    contact = context.get("contact")
    company = context.get("company") or {}
    company_email = company.get("email")
    found: list[Recipient] = []
    if contact is not None:
        email = contact.get("email")
        if not email and settings.get("fallback_to_company_email") and company_email:
            email = company_email
        found.append(Recipient("contact", contact.get("name") or "", email, contact.get("phone")))
    copy = settings.get("company_copy", "never")
    if company_email and (
        copy == "always"
        or (copy == "no_contact_email" and contact is not None and not contact.get("email"))
        or (copy == "no_contact" and contact is None)
    ):
        found.append(Recipient("company", company.get("name") or "", company_email))
    if settings.get("copy_to_author"):
        author = message.get("author")
        if author and author.get("id") != (contact or {}).get("id"):
            found.append(Recipient("author", author.get("name") or "", author.get("email")))
        elif event.actor_agent_id is not None:
            actor = _agent(context, event.actor_agent_id, "author")
            if actor is not None:
                found.append(Recipient("author", actor.name, actor.email))
    return found


def _variables(event: TicketEvent, context: Json, recipient: Recipient) -> Json:
    agents = context.get("agents", {})
    ticket = event_ticket(event, context)
    responsible = agents.get(str(context.get("responsible_agent_id")), {})
    ticket["responsible"] = responsible.get("name", "")
    message = context.get("message") or {}
    author = message.get("author") or {}
    statuses = context.get("statuses", {})
    previous = event.previous_status or ""
    actor = agents.get(str(event.actor_agent_id), {}) if event.actor_agent_id else {}
    variables: Json = {
        "ticket": ticket,
        "contact": context.get("contact") or {},
        "company": context.get("company") or {},
        "recipient": {"name": recipient.name, "email": recipient.email, "phone": recipient.phone},
        "actor": {"name": actor.get("name", "")},
        "event": {
            "kind": event.kind.value,
            "status": event.status,
            "previous_status": previous,
            "previous_status_name": statuses.get(
                event.details.get("previous_status_id", ""), previous
            ),
            "details": dict(event.details),
        },
        "message": {
            "kind": message.get("kind", ""),
            "text": message.get("text", ""),
            "author": author.get("name") or author.get("email") or "",
        },
        "rating_url": context.get("rating_url") or "",
        "sla": {
            "target": event.details.get("target", ""),
            "due_at": event.details.get("due_at", ""),
        },
    }
    if (
        message.get("kind") in ("public_reply", "internal_note")
        and not variables["message"]["author"]
    ):
        variables["message"]["author"] = actor.get("name", "")
    return variables


def plan(event: TicketEvent, context: Json, config: Json) -> list[Notice]:
    """Every notice this event causes (rendered), one per (type, channel, address)."""
    enabled = {t["key"]: t for t in config.get("types", []) if t.get("enabled")}
    settings = config.get("settings", {})
    notices: list[Notice] = []
    for type_config in types_for(event, context, enabled):
        key = type_config["key"]
        audience = TYPES[key].audience
        if audience is Audience.AGENT:
            recipients = agent_recipients(key, event, context)
        else:
            recipients = contact_recipients(event, context, settings)
        replied_to = (
            {r.lower() for r in (context.get("message") or {}).get("recipients", [])}
            if key == "contact.agent_comment"
            else set()
        )
        seen: set[tuple[Channel, str]] = set()
        for recipient in recipients:
            for channel, address in _channels(type_config, recipient):
                if (channel, address.lower()) in seen or address.lower() in replied_to:
                    continue  # a public reply already reached that address itself
                seen.add((channel, address.lower()))
                variables = _variables(event, context, recipient)
                try:
                    subject = _one_line(render_text(type_config["subject"], variables))
                    text = render_text(
                        type_config["body" if channel is Channel.EMAIL else "sms"], variables
                    ).strip()
                except Exception as exc:
                    # Checked at save, yet a template can still fail on some data (1/0, a
                    # sandbox refusal): that notice is skipped, the event is not poison.
                    log.warning("notification_render_failed", type=key, error=repr(exc)[:300])
                    continue
                notices.append(Notice(key, channel, address, recipient, subject, text, variables))
    return notices


def _channels(type_config: Json, recipient: Recipient) -> Sequence[tuple[Channel, str]]:
    found = []
    if type_config.get("email_on") and recipient.email_ok and recipient.email:
        found.append((Channel.EMAIL, recipient.email))
    if type_config.get("sms_on") and recipient.sms_ok and recipient.phone:
        found.append((Channel.SMS, recipient.phone))
    return found


def _one_line(text: str) -> str:
    return " ".join(text.split())[:998]
