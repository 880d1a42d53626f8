"""Custom ticket attributes: definitions, validation of values, visibility per role. Pure.

Values live in ``tickets.custom_attributes`` (JSONB) as: string -> str, number -> int or
float, date -> ``YYYY-MM-DD``, list -> one of the definition's options.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_STRING = 2000


class AttributeKind(StrEnum):
    STRING = "string"
    NUMBER = "number"
    DATE = "date"
    LIST = "list"


class InvalidAttribute(ValueError):
    """A value that does not fit its definition (422 with this text)."""


@dataclass(frozen=True)
class AttributeDef:
    key: str
    label: str
    kind: AttributeKind
    options: tuple[str, ...] = ()
    required_on_create: bool = False
    visible_to_roles: frozenset[str] = frozenset({"administrator", "lead_specialist", "specialist"})
    visible_to_contact: bool = False

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> AttributeDef:
        return cls(
            key=str(row["key"]),
            label=str(row["label"]),
            kind=AttributeKind(row["kind"]),
            options=tuple(row.get("options") or ()),
            required_on_create=bool(row.get("required_on_create")),
            visible_to_roles=frozenset(row.get("visible_to_roles") or ()),
            visible_to_contact=bool(row.get("visible_to_contact")),
        )


def check_definition(kind: AttributeKind, options: Iterable[str], key: str) -> tuple[str, ...]:
    """The options of a definition, checked: a list needs distinct non-empty options, other
    kinds take none."""
    if not KEY.match(key):
        raise InvalidAttribute(
            f"key {key!r} must start with a letter and hold only a-z, 0-9 and _ (64 at most)"
        )
    found = tuple(options)
    if kind is AttributeKind.LIST:
        if not found:
            raise InvalidAttribute("a list attribute needs options")
        if len(set(found)) != len(found) or any(not o.strip() for o in found):
            raise InvalidAttribute("list options must be distinct and not empty")
    elif found:
        raise InvalidAttribute(f"a {kind.value} attribute takes no options")
    return found


def coerce(definition: AttributeDef, value: Any) -> Any:
    """The stored form of ``value`` or ``InvalidAttribute`` saying why it does not fit."""
    key, kind = definition.key, definition.kind
    if kind is AttributeKind.STRING:
        if not isinstance(value, str):
            raise InvalidAttribute(f"attribute {key!r} takes a string")
        if len(value) > MAX_STRING:
            raise InvalidAttribute(f"attribute {key!r} is longer than {MAX_STRING} characters")
        return value
    if kind is AttributeKind.NUMBER:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidAttribute(f"attribute {key!r} takes a number")
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidAttribute(f"attribute {key!r} takes a finite number")
        return value
    if kind is AttributeKind.DATE:
        try:
            if isinstance(value, str) and len(value) == 10:
                return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
        raise InvalidAttribute(f"attribute {key!r} takes a date (YYYY-MM-DD)")
    if not isinstance(value, str) or value not in definition.options:
        raise InvalidAttribute(
            f"attribute {key!r}: {value!r} is not one of {', '.join(definition.options)}"
        )
    return value


def apply_patch(
    definitions: Mapping[str, AttributeDef],
    current: Mapping[str, Any],
    patch: Mapping[str, Any],
    *,
    role: str | None = None,
) -> dict[str, Any]:
    """The ticket's attributes after ``patch`` (a ``null`` value removes the key). Unknown
    keys, values of the wrong kind, options not in the list, attributes hidden from the
    acting ``role`` and removing a required attribute are refused."""
    after = dict(current)
    for key, value in patch.items():
        definition = definitions.get(key)
        if definition is None:
            raise InvalidAttribute(f"attribute {key!r} is not defined")
        if role is not None and role not in definition.visible_to_roles:
            raise InvalidAttribute(f"attribute {key!r} is not visible to the role {role}")
        if value is None:
            if definition.required_on_create:
                raise InvalidAttribute(f"attribute {key!r} is required and cannot be removed")
            after.pop(key, None)
        else:
            after[key] = coerce(definition, value)
    return after


def check_new(definitions: Mapping[str, AttributeDef], values: Mapping[str, Any]) -> dict[str, Any]:
    """The attributes of a ticket being created: valid, and every required one given."""
    stored = apply_patch(definitions, {}, values)
    missing = sorted(
        k for k, d in definitions.items() if d.required_on_create and stored.get(k) is None
    )
    if missing:
        raise InvalidAttribute(f"required attribute(s) missing: {', '.join(missing)}")
    return stored


def visible(
    definitions: Mapping[str, AttributeDef], values: Mapping[str, Any], role: str | None
) -> dict[str, Any]:
    """The values ``role`` may see. Without a role (no acting agent named), only the
    attributes every agent role may see."""
    everyone = {"administrator", "lead_specialist", "specialist"}
    shown = {}
    for key, value in values.items():
        definition = definitions.get(key)
        if definition is None:
            continue
        roles = definition.visible_to_roles
        if (role is None and everyone <= roles) or (role is not None and role in roles):
            shown[key] = value
    return shown


def visible_to_contact(
    definitions: Mapping[str, AttributeDef], values: Mapping[str, Any]
) -> dict[str, Any]:
    """The values a customer may see (for a customer-facing view; none exists yet)."""
    return {
        k: v for k, v in values.items() if k in definitions and definitions[k].visible_to_contact
    }
