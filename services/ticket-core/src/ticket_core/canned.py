"""Canned responses: reply templates with placeholders, checked when saved, filled per ticket.

Templates are Jinja2 in a sandbox (no attribute access beyond the values given, no
Python calls) with ``StrictUndefined``. The placeholders are fixed: ``contact.name``,
``contact.email``, ``ticket.number``, ``ticket.subject``, ``agent.name``, ``agent.email``.
A template that does not parse, or names anything else, is refused when it is saved, so
rendering a stored template only fails if a value it needs is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateError, nodes
from jinja2.sandbox import SandboxedEnvironment

PLACEHOLDERS: dict[str, frozenset[str]] = {
    "contact": frozenset({"name", "email"}),
    "ticket": frozenset({"number", "subject"}),
    "agent": frozenset({"name", "email"}),
}
_ALLOWED = ", ".join(
    f"{root}.{attr}" for root, attrs in PLACEHOLDERS.items() for attr in sorted(attrs)
)

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


class TemplateRefused(ValueError):
    """The template cannot be used (the API answers 422 with this text)."""


def _check_names(tree: nodes.Template) -> None:
    local = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    checked: set[int] = set()
    for node in tree.find_all(nodes.Getattr):
        if node.attr.startswith("_"):
            raise TemplateRefused(f"{node.attr} is not allowed in a template")
        if isinstance(node.node, nodes.Name) and node.node.name in PLACEHOLDERS:
            checked.add(id(node.node))
            if node.attr not in PLACEHOLDERS[node.node.name]:
                raise TemplateRefused(
                    f"unknown placeholder {node.node.name}.{node.attr} (known: {_ALLOWED})"
                )
    for name in tree.find_all(nodes.Name):
        if name.ctx != "load" or id(name) in checked or name.name in local:
            continue
        raise TemplateRefused(f"unknown placeholder {name.name} (known: {_ALLOWED})")
    for item in tree.find_all(nodes.Getitem):
        if isinstance(item.node, nodes.Name) and item.node.name in PLACEHOLDERS:
            raise TemplateRefused(f"write {item.node.name}.<field>, not {item.node.name}[...]")


def validate(text: str) -> None:
    """Raise ``TemplateRefused`` unless the text parses and names only known placeholders."""
    try:
        tree = _ENV.parse(text)
        _check_names(tree)
        _ENV.from_string(tree)  # compiles: unknown filters and tests fail here
    except TemplateRefused:
        raise
    except TemplateError as exc:
        raise TemplateRefused(f"the template does not parse: {exc.message or exc}") from exc


@dataclass(frozen=True)
class RenderValues:
    contact_name: str
    contact_email: str
    ticket_number: int
    ticket_subject: str
    agent_name: str | None = None  # no acting agent: templates naming the agent fail
    agent_email: str | None = None

    def context(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            "contact": {"name": self.contact_name, "email": self.contact_email},
            "ticket": {"number": self.ticket_number, "subject": self.ticket_subject},
        }
        if self.agent_name is not None:
            values["agent"] = {"name": self.agent_name, "email": self.agent_email or ""}
        return values


def render(text: str, values: RenderValues) -> str:
    """The template filled in (``TemplateRefused`` if it is invalid or cannot be filled)."""
    validate(text)
    try:
        return _ENV.from_string(text).render(values.context())
    except TemplateError as exc:
        raise TemplateRefused(f"the template cannot be filled: {exc.message or exc}") from exc
