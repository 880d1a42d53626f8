"""A notification template rendered with sample values, through the notifier's own
sandboxed renderer (``helpdesk_common.notification_templates``), pure.

``preview`` raises ``TemplateProblem`` with the checker's or the renderer's message: a
template that does not parse, names an unknown variable, fails to render (an unknown
filter, a call the sandbox forbids) or, for the layout, drops the ``{{ content }}`` slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from helpdesk_common.notification_templates import (
    TYPES,
    TemplateProblem,
    check_layout,
    check_template,
    render_layout,
    render_text,
)
from jinja2 import TemplateError

SAMPLE: dict[str, Any] = {
    "ticket": {
        "number": 1042,
        "subject": "Printer does not print",
        "status": "open",
        "status_name": "Open",
        "priority": "Normal",
        "type": "Incident",
        "channel": "email",
        "internal": False,
        "created_at": "2026-11-26 09:30 UTC",
        "responsible": "Anna Agent",
    },
    "contact": {"name": "Carla Customer", "email": "carla@example.com", "phone": "+15550100"},
    "company": {"name": "Example Ltd", "email": "office@example.com"},
    "recipient": {"name": "Carla Customer", "email": "carla@example.com", "phone": "+15550100"},
    "actor": {"name": "Anna Agent"},
    "event": {
        "kind": "status.changed",
        "status": "resolved",
        "previous_status": "open",
        "previous_status_name": "Open",
        "details": {},
    },
    "message": {"kind": "public_reply", "text": "We replaced the toner.", "author": "Anna Agent"},
    "rating_url": "https://desk.example.com/rate/sample",
    "sla": {"target": "reaction", "due_at": "2026-11-26 11:30 UTC"},
}


@dataclass(frozen=True)
class Preview:
    subject: str
    body: str
    sms: str
    html: str


def _render(source: str, what: str) -> str:
    try:
        return render_text(source, SAMPLE)
    except TemplateError as exc:
        raise TemplateProblem(f"{what}: {exc.message or exc}") from exc
    except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
        raise TemplateProblem(f"{what}: {exc}") from exc


def preview(key: str, subject: str, body: str, sms: str, layout: str) -> Preview:
    """Check and render a type's templates in the layout; ``TemplateProblem`` if any fails."""
    allowed = TYPES[key].variables()
    for source, what in ((subject, "subject"), (body, "body"), (sms, "sms")):
        check_template(source, allowed, what)
    check_layout(layout)
    rendered = Preview(_render(subject, "subject"), _render(body, "body"), _render(sms, "sms"), "")
    try:
        html = render_layout(layout, rendered.body, {**SAMPLE, "subject": rendered.subject})
    except TemplateError as exc:
        raise TemplateProblem(f"layout: {exc.message or exc}") from exc
    except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
        raise TemplateProblem(f"layout: {exc}") from exc
    return Preview(rendered.subject, rendered.body, rendered.sms, html)
