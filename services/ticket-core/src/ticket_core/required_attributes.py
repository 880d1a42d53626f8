"""Custom attributes required when a person creates a ticket, pure.

Who creates decides what is required (``Audience``):

* an agent (its role): the attributes ``required_on_create`` that its role may see;
* a contact (the portal): the attributes ``required_on_create`` that are visible to
  contacts; a contact may set only attributes visible to contacts;
* channels (email, messengers, SMS, calls) never refuse a customer: their tickets are
  created without the values, and ``missing_required`` tells which are missing (the
  ticket list's ``missing_required`` filter, see ``required_attributes_repo.py``).

Form posts (the console) carry strings: ``from_form`` turns ``attr_<key>`` fields into
values of the attribute's kind (blank = not given).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .custom_attributes import AttributeDef, AttributeKind, InvalidAttribute, coerce

FORM_PREFIX = "attr_"


@dataclass(frozen=True)
class Audience:
    """Who creates the ticket: an agent of ``role``, or a contact (``contact=True``)."""

    role: str | None = None
    contact: bool = False

    def sees(self, definition: AttributeDef) -> bool:
        if self.contact:
            return definition.visible_to_contact
        return self.role is None or self.role in definition.visible_to_roles


CONTACT = Audience(contact=True)


class MissingRequired(InvalidAttribute):
    """Required attributes without a value (422 naming them)."""

    def __init__(self, missing: list[AttributeDef]) -> None:
        self.keys = [d.key for d in missing]
        names = ", ".join(f"{d.key!r} ({d.label})" for d in missing)
        noun = "attribute" if len(missing) == 1 else "attributes"
        super().__init__(f"required {noun} {names} missing")


def required_for(definitions: Mapping[str, AttributeDef], audience: Audience) -> list[AttributeDef]:
    return sorted(
        (d for d in definitions.values() if d.required_on_create and audience.sees(d)),
        key=lambda d: d.key,
    )


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def check_on_create(
    definitions: Mapping[str, AttributeDef], values: Mapping[str, Any], audience: Audience
) -> dict[str, Any]:
    """The stored attributes of a ticket ``audience`` creates with ``values``: each one
    defined, visible to the audience and of its kind (blank = not given), and every
    attribute required from the audience given. Raises ``InvalidAttribute`` (a missing
    one: ``MissingRequired``) naming the attribute."""
    stored: dict[str, Any] = {}
    for key, value in values.items():
        definition = definitions.get(key)
        if definition is None:
            raise InvalidAttribute(f"attribute {key!r} is not defined")
        if not audience.sees(definition):
            who = "contacts" if audience.contact else f"the role {audience.role}"
            raise InvalidAttribute(f"attribute {key!r} is not visible to {who}")
        if not _blank(value):
            stored[key] = coerce(definition, value)
    missing = [d for d in required_for(definitions, audience) if d.key not in stored]
    if missing:
        raise MissingRequired(missing)
    return stored


def missing_required(
    definitions: Mapping[str, AttributeDef], values: Mapping[str, Any]
) -> list[str]:
    """Keys of the attributes required on creation (for anyone) that ``values`` lacks."""
    return sorted(
        k for k, d in definitions.items() if d.required_on_create and _blank(values.get(k))
    )


def _number(definition: AttributeDef, text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError as exc:
        raise InvalidAttribute(f"attribute {definition.key!r} takes a number") from exc


def from_form(definitions: Mapping[str, AttributeDef], form: Mapping[str, Any]) -> dict[str, Any]:
    """The attribute values of a form post (``attr_<key>`` fields; unknown keys are kept
    for ``check_on_create`` to refuse, blank ones dropped); numbers parsed."""
    values: dict[str, Any] = {}
    for name, raw in form.items():
        if not name.startswith(FORM_PREFIX):
            continue
        key, text = name[len(FORM_PREFIX) :], str(raw).strip()
        if not text:
            continue
        definition = definitions.get(key)
        if definition is not None and definition.kind is AttributeKind.NUMBER:
            values[key] = _number(definition, text)
        else:
            values[key] = text
    return values


def form_fields(
    definitions: Mapping[str, AttributeDef], audience: Audience, entered: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The inputs of a "new ticket" form: every attribute the audience sees, required ones
    first, with what was entered (a form re-rendered after an error keeps it)."""
    shown = [d for d in definitions.values() if audience.sees(d)]
    shown.sort(key=lambda d: (not d.required_on_create, d.label.lower(), d.key))
    return [
        {
            "name": f"{FORM_PREFIX}{d.key}",
            "key": d.key,
            "label": d.label,
            "kind": d.kind.value,
            "options": list(d.options),
            "required": d.required_on_create,
            "value": str(entered.get(f"{FORM_PREFIX}{d.key}") or "")[:2000],
        }
        for d in shown
    ]
