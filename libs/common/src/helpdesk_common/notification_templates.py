"""Notification types and their templates, shared by ticket-core (which stores and
validates what admins edit) and the notifier (which renders and sends).

Templates are Jinja2 in a ``SandboxedEnvironment`` (no access to Python internals from a
template). A type has a subject, a text body and an SMS text; email notifications wrap
the body in the admin-editable layout, which must keep a ``{{ content }}`` slot.
Variables every template may use: ``ticket``, ``contact``, ``company``, ``recipient``,
``actor``, ``event``, ``message``; some types add their own (``rating_url``, ``sla``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from jinja2 import TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape


class Audience(StrEnum):
    AGENT = "agent"
    CONTACT = "contact"


COMMON_VARIABLES: dict[str, str] = {
    "ticket": "number, subject, status (open|pending|resolved|closed), status_name, "
    "priority, type, channel, internal, created_at, responsible (the agent's name)",
    "contact": "name, email, phone (empty when the ticket has no contact)",
    "company": "name, email (empty when the contact has no company)",
    "recipient": "name, email, phone of whoever this copy goes to",
    "actor": "name of the agent who caused the event (empty for customers and the system)",
    "event": "kind, status, previous_status, previous_status_name, details (a dict)",
    "message": "kind (customer|public_reply|internal_note), text, author (empty when none)",
}
LAYOUT_VARIABLES: dict[str, str] = {
    "content": "the rendered body of the notification (required)",
    "subject": "the rendered subject",
    "ticket": COMMON_VARIABLES["ticket"],
    "recipient": COMMON_VARIABLES["recipient"],
}


@dataclass(frozen=True)
class NotificationType:
    key: str
    audience: Audience
    title: str
    subject: str
    body: str
    sms: str
    email_on: bool = True
    sms_on: bool = False
    enabled: bool = True
    extra_variables: tuple[tuple[str, str], ...] = ()

    def variables(self) -> dict[str, str]:
        return {**COMMON_VARIABLES, **dict(self.extra_variables)}


_TAG = "[#{{ ticket.number }}]"
_SLA = (("sla", "target (reaction|resolution), due_at"),)

DEFAULT_TYPES: tuple[NotificationType, ...] = (
    NotificationType(
        "agent.ticket_created",
        Audience.AGENT,
        "New ticket",
        f"New ticket: {{{{ ticket.subject }}}} {_TAG}",
        "Hello {{ recipient.name }},\n\nA new ticket #{{ ticket.number }} was registered"
        "{% if contact.name %} by {{ contact.name }}{% endif %}"
        "{% if company.name %} ({{ company.name }}){% endif %}.\n\n"
        "Subject: {{ ticket.subject }}\nPriority: {{ ticket.priority }}\n"
        "{% if message.text %}\n{{ message.text }}\n{% endif %}",
        "New ticket #{{ ticket.number }}: {{ ticket.subject }}",
        sms_on=True,
    ),
    NotificationType(
        "agent.responsible_changed",
        Audience.AGENT,
        "Responsible changed",
        f"Ticket assigned: {{{{ ticket.subject }}}} {_TAG}",
        'Hello {{ recipient.name }},\n\nTicket #{{ ticket.number }} "{{ ticket.subject }}" '
        "is now assigned to {{ ticket.responsible or 'you' }}"
        "{% if actor.name %} (by {{ actor.name }}){% endif %}.\n",
        "Ticket #{{ ticket.number }} assigned: {{ ticket.subject }}",
        sms_on=True,
    ),
    NotificationType(
        "agent.status_changed",
        Audience.AGENT,
        "Status changed",
        f"Status {{{{ ticket.status_name }}}}: {{{{ ticket.subject }}}} {_TAG}",
        'Hello {{ recipient.name }},\n\nTicket #{{ ticket.number }} "{{ ticket.subject }}" '
        "moved from {{ event.previous_status_name or event.previous_status }} to "
        "{{ ticket.status_name }}{% if actor.name %} (by {{ actor.name }}){% endif %}.\n",
        "Ticket #{{ ticket.number }} is {{ ticket.status_name }}",
    ),
    NotificationType(
        "agent.new_comment",
        Audience.AGENT,
        "New comment",
        f"New comment: {{{{ ticket.subject }}}} {_TAG}",
        "Hello {{ recipient.name }},\n\n{{ message.author or 'Someone' }} wrote on ticket "
        "#{{ ticket.number }}"
        "{% if message.kind == 'internal_note' %} (internal note){% endif %}:\n\n"
        "{{ message.text }}\n",
        "New comment on #{{ ticket.number }} from {{ message.author or 'someone' }}",
    ),
    NotificationType(
        "agent.mentioned",
        Audience.AGENT,
        "Mention",
        f"You were mentioned: {{{{ ticket.subject }}}} {_TAG}",
        "Hello {{ recipient.name }},\n\n{{ actor.name or 'A colleague' }} mentioned you on "
        'ticket #{{ ticket.number }} "{{ ticket.subject }}".\n'
        "{% if message.text %}\n{{ message.text }}\n{% endif %}",
        "{{ actor.name or 'A colleague' }} mentioned you on #{{ ticket.number }}",
        sms_on=True,
    ),
    NotificationType(
        "agent.sla_warning",
        Audience.AGENT,
        "SLA warning",
        f"SLA {{{{ sla.target }}}} due soon: {{{{ ticket.subject }}}} {_TAG}",
        "Hello {{ recipient.name }},\n\nThe {{ sla.target }} time of ticket "
        '#{{ ticket.number }} "{{ ticket.subject }}" runs out at {{ sla.due_at }}.\n',
        "SLA warning #{{ ticket.number }}: {{ sla.target }} due {{ sla.due_at }}",
        sms_on=True,
        extra_variables=_SLA,
    ),
    NotificationType(
        "agent.sla_breached",
        Audience.AGENT,
        "SLA breach",
        f"SLA {{{{ sla.target }}}} breached: {{{{ ticket.subject }}}} {_TAG}",
        "Hello {{ recipient.name }},\n\nThe {{ sla.target }} time of ticket "
        '#{{ ticket.number }} "{{ ticket.subject }}" ran out at {{ sla.due_at }}.\n',
        "SLA BREACHED #{{ ticket.number }}: {{ sla.target }} was due {{ sla.due_at }}",
        sms_on=True,
        extra_variables=_SLA,
    ),
    NotificationType(
        "agent.escalated",
        Audience.AGENT,
        "Second-line decision",
        "{% if event.details.line == '1' %}Returned to the first line"
        f"{{% else %}}Escalated to the second line{{% endif %}}: {{{{ ticket.subject }}}} {_TAG}",
        "Hello {{ recipient.name }},\n\n{{ actor.name or 'A colleague' }} "
        "{% if event.details.line == '1' %}returned ticket #{{ ticket.number }} "
        '"{{ ticket.subject }}" to the first line'
        "{% else %}passed ticket #{{ ticket.number }} "
        '"{{ ticket.subject }}" to the second line{% endif %}'
        "{% if ticket.responsible %} ({{ ticket.responsible }}){% endif %}.\n"
        "{% if message.text %}\n{{ message.text }}\n{% endif %}",
        "Ticket #{{ ticket.number }} "
        "{% if event.details.line == '1' %}returned to the first line"
        "{% else %}escalated to the second line{% endif %}",
        sms_on=True,
    ),
    NotificationType(
        "agent.trigger_requested",
        Audience.AGENT,
        "Requested by a trigger",
        f"{{{{ ticket.subject }}}} {_TAG}",
        "Hello {{ recipient.name }},\n\nA rule asks for your attention on ticket "
        '#{{ ticket.number }} "{{ ticket.subject }}" ({{ ticket.status_name }}).\n'
        "{% if event.details.text %}\n{{ event.details.text }}\n{% endif %}",
        "Ticket #{{ ticket.number }} needs attention",
    ),
    NotificationType(
        "contact.ticket_registered",
        Audience.CONTACT,
        "Ticket registered",
        f"Your request is registered: {{{{ ticket.subject }}}} {_TAG}",
        "Hello{% if recipient.name %} {{ recipient.name }}{% endif %},\n\n"
        "We have registered your request under number {{ ticket.number }}. "
        "We will answer as soon as possible.\n",
        "Your request is registered as #{{ ticket.number }}",
        enabled=False,
    ),
    NotificationType(
        "contact.agent_comment",
        Audience.CONTACT,
        "Agent comment",
        f"Re: {{{{ ticket.subject }}}} {_TAG}",
        "Hello{% if recipient.name %} {{ recipient.name }}{% endif %},\n\n{{ message.text }}\n",
        "Reply on #{{ ticket.number }}: {{ message.text[:100] }}",
        enabled=False,
    ),
    NotificationType(
        "contact.status_changed",
        Audience.CONTACT,
        "Status changed",
        f"Your request is {{{{ ticket.status_name }}}} {_TAG}",
        "Hello{% if recipient.name %} {{ recipient.name }}{% endif %},\n\n"
        'The status of your request #{{ ticket.number }} "{{ ticket.subject }}" is now '
        "{{ ticket.status_name }}.\n",
        "Request #{{ ticket.number }} is now {{ ticket.status_name }}",
        enabled=False,
    ),
    NotificationType(
        "contact.ticket_resolved",
        Audience.CONTACT,
        "Ticket resolved",
        f"Your request is resolved {_TAG}",
        "Hello{% if recipient.name %} {{ recipient.name }}{% endif %},\n\n"
        'Your request #{{ ticket.number }} "{{ ticket.subject }}" is resolved. '
        "If something is still wrong, just answer this message.\n"
        "{% if rating_url %}\nPlease rate our work: {{ rating_url }}\n{% endif %}",
        "Request #{{ ticket.number }} is resolved",
        enabled=False,
        extra_variables=(("rating_url", "link where the contact rates the work (may be empty)"),),
    ),
)
TYPES: dict[str, NotificationType] = {t.key: t for t in DEFAULT_TYPES}

DEFAULT_LAYOUT = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{{ subject }}</title></head>
<body style="font-family:Arial,sans-serif;font-size:14px;color:#222">
<div style="max-width:640px;margin:0 auto;padding:16px">
{{ content }}
<hr style="border:none;border-top:1px solid #ddd;margin-top:24px">
<p style="color:#888;font-size:12px">Ticket #{{ ticket.number }}</p>
</div>
</body></html>
"""


class TemplateProblem(ValueError):
    """A template does not parse, uses an unknown variable, or (a layout) has no slot."""


_text_env = SandboxedEnvironment(autoescape=False, keep_trailing_newline=True)
_html_env = SandboxedEnvironment(autoescape=True, keep_trailing_newline=True)


def check_template(source: str, allowed: Mapping[str, str], what: str) -> set[str]:
    """Parse ``source``; refuse syntax errors and variables not in ``allowed``.
    Returns the variables it uses."""
    try:
        parsed = _text_env.parse(source)
        used = set(meta.find_undeclared_variables(parsed))  # compiles: unknown filters fail
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"{what}: syntax error on line {exc.lineno}: {exc.message}") from exc
    unknown = sorted(used - set(allowed))
    if unknown:
        raise TemplateProblem(
            f"{what}: unknown variable(s) {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )
    return used


def check_layout(source: str) -> None:
    used = check_template(source, LAYOUT_VARIABLES, "layout")
    if "content" not in used:
        raise TemplateProblem("layout: it must keep the {{ content }} slot")


def render_text(source: str, variables: Mapping[str, Any]) -> str:
    return _text_env.from_string(source).render(variables)


def text_to_html(text: str) -> Markup:
    """Plain text as HTML paragraphs (escaped, line breaks kept)."""
    paragraphs = [p for p in text.strip().split("\n\n") if p.strip()]
    return Markup("\n").join(
        Markup("<p>")
        + Markup("<br>\n").join(escape(line) for line in p.split("\n"))
        + Markup("</p>")
        for p in paragraphs
    )


def render_layout(layout: str, body_text: str, variables: Mapping[str, Any]) -> str:
    """The layout with the body (as escaped HTML) in its ``{{ content }}`` slot."""
    return _html_env.from_string(layout).render({**variables, "content": text_to_html(body_text)})
