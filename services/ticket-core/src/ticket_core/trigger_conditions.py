"""The condition language of triggers, pure: parse (validate) JSON, evaluate against a context.

A condition is JSON::

    {"all": [<condition>, ...]}          every one holds (an empty list holds)
    {"any": [<condition>, ...]}          at least one holds
    {"field": "ticket.status_id", "op": "eq", "value": 3}

Fields are ``<scope>.<column>``: ``ticket``, ``contact``, ``company`` and ``message``
name the columns of their tables (so a column added to ``tickets`` is usable at once),
``event`` the facts of the event (``kind``, ``status``, ``previous_status``,
``actor_agent_id``, ``trigger_depth``, ``channel``, ``details.<key>``). Operators:
``eq``, ``ne``, ``in``, ``not_in``, ``contains`` (substring, case-insensitive, of a text;
member of a list such as ``ticket.tags``), ``gt``, ``lt`` (numbers, times as ISO-8601
with a timezone), ``is_set`` (``true``: not null and not empty). A field that is absent
(a ticket without company) is null: only ``ne``, ``not_in`` and ``is_set: false`` hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ARRAY, Boolean, DateTime, Float, Integer, Table
from sqlalchemy.dialects.postgresql import JSONB

from .models_org import companies
from .repository import contacts, messages, tickets

Kind = Literal["int", "float", "str", "bool", "datetime", "list", "json"]
OPERATORS = ("eq", "ne", "in", "not_in", "contains", "gt", "lt", "is_set")
MAX_DEPTH = 8
MAX_NODES = 200


class ConditionError(ValueError):
    """The condition is malformed; the message says where and why (the API answers 422)."""


def _kind_of(column: Any) -> Kind:
    kind = column.type
    if isinstance(kind, Boolean):
        return "bool"
    if isinstance(kind, Integer):
        return "int"
    if isinstance(kind, Float):
        return "float"
    if isinstance(kind, DateTime):
        return "datetime"
    if isinstance(kind, ARRAY):
        return "list"
    if isinstance(kind, JSONB):
        return "json"
    return "str"


def _columns(table: Table) -> dict[str, Kind]:
    return {c.name: _kind_of(c) for c in table.columns}


EVENT_FIELDS: dict[str, Kind] = {
    "kind": "str",
    "status": "str",
    "previous_status": "str",
    "actor_agent_id": "int",
    "trigger_depth": "int",
    "channel": "str",
}


def field_kinds() -> dict[str, dict[str, Kind]]:
    return {
        "ticket": _columns(tickets),
        "contact": _columns(contacts),
        "company": _columns(companies),
        "message": _columns(messages),
        "event": EVENT_FIELDS,
    }


_FIELDS = field_kinds()


def kind_of_field(path: str) -> Kind:
    """The type of a field path; raises ``ConditionError`` for an unknown one."""
    scope, _, name = path.partition(".")
    if scope == "event" and name.startswith("details.") and len(name) > len("details."):
        return "str"
    known = _FIELDS.get(scope)
    if known is None or name not in known:
        raise ConditionError(f"unknown field {path!r}")
    return known[name]


@dataclass(frozen=True)
class Leaf:
    field: str
    op: str
    value: Any
    kind: Kind


@dataclass(frozen=True)
class Group:
    mode: Literal["all", "any"]
    items: tuple[Condition, ...]


Condition = Leaf | Group
ALWAYS = Group("all", ())


def _time(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise ConditionError(f"{where}: expected an ISO-8601 time, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ConditionError(f"{where}: {value!r} is not an ISO-8601 time") from exc
    if parsed.tzinfo is None:
        raise ConditionError(f"{where}: the time {value!r} needs a timezone")
    return parsed


def _scalar(value: Any, kind: Kind, where: str) -> Any:
    """The JSON value as the field's type, or a ``ConditionError``."""
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == "float" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if kind in ("str", "list") and isinstance(value, str):
        return value
    if kind == "datetime":
        return _time(value, where)
    expected = {"list": "str", "json": "nothing (use is_set)"}.get(kind, kind)
    raise ConditionError(f"{where}: expected a value of type {expected}, got {value!r}")


def _leaf(raw: Mapping[str, Any], where: str) -> Leaf:
    extra = set(raw) - {"field", "op", "value"}
    if extra:
        raise ConditionError(f"{where}: unknown key(s) {sorted(extra)}")
    path, op = raw.get("field"), raw.get("op")
    if not isinstance(path, str):
        raise ConditionError(f"{where}: 'field' must be a text")
    try:
        kind = kind_of_field(path)
    except ConditionError as exc:
        raise ConditionError(f"{where}: {exc}") from None
    if op not in OPERATORS:
        raise ConditionError(f"{where}: unknown operator {op!r} (one of {', '.join(OPERATORS)})")
    if "value" not in raw:
        raise ConditionError(f"{where}: 'value' is missing")
    value = raw["value"]
    if op == "is_set":
        if not isinstance(value, bool):
            raise ConditionError(f"{where}: is_set takes true or false")
        return Leaf(path, op, value, kind)
    if kind == "json":
        raise ConditionError(f"{where}: {path} can only be tested with is_set")
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value or len(value) > 500:
            raise ConditionError(f"{where}: {op} takes a list of 1 to 500 values")
        item_kind: Kind = "str" if kind == "list" else kind
        items = tuple(_scalar(v, item_kind, f"{where}.value[{i}]") for i, v in enumerate(value))
        return Leaf(path, op, items, kind)
    if op == "contains":
        if kind not in ("str", "list") or not isinstance(value, str):
            raise ConditionError(f"{where}: contains takes a text, on a text or list field")
        return Leaf(path, op, value, kind)
    if op in ("gt", "lt") and kind not in ("int", "float", "datetime"):
        raise ConditionError(f"{where}: {op} compares numbers and times, not {kind}")
    if op in ("eq", "ne") and kind == "list":
        raise ConditionError(f"{where}: use contains on the list field {path}")
    scalar_kind: Kind = "float" if op in ("gt", "lt") and kind == "int" else kind
    return Leaf(path, op, _scalar(value, scalar_kind, where), kind)


def parse(raw: Any, where: str = "conditions", depth: int = 0) -> Condition:
    """Validate and compile a JSON condition; raises ``ConditionError`` with the path."""
    if depth > MAX_DEPTH:
        raise ConditionError(f"{where}: nested deeper than {MAX_DEPTH}")
    if not isinstance(raw, Mapping):
        raise ConditionError(f"{where}: expected an object")
    modes = [m for m in ("all", "any") if m in raw]
    if modes:
        if len(raw) != 1:
            raise ConditionError(f"{where}: a group has exactly one key, 'all' or 'any'")
        mode = modes[0]
        items = raw[mode]
        if not isinstance(items, list) or len(items) > MAX_NODES:
            raise ConditionError(f"{where}.{mode}: expected a list of up to {MAX_NODES}")
        return Group(
            "all" if mode == "all" else "any",
            tuple(parse(c, f"{where}.{mode}[{i}]", depth + 1) for i, c in enumerate(items)),
        )
    return _leaf(raw, where)


def lookup(context: Mapping[str, Mapping[str, Any] | None], path: str) -> Any:
    scope, _, name = path.partition(".")
    values = context.get(scope)
    if values is None:
        return None
    if scope == "event" and name.startswith("details."):
        details = values.get("details") or {}
        return details.get(name.removeprefix("details."))
    return values.get(name)


def _empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, list | tuple) and not value)


def _leaf_holds(leaf: Leaf, actual: Any) -> bool:
    op, value = leaf.op, leaf.value
    if op == "is_set":
        return bool(value) is not _empty(actual)
    if op == "ne":
        return bool(actual != value)
    if op == "not_in":
        return bool(actual not in value)
    if actual is None:
        return False
    if op == "eq":
        return bool(actual == value)
    if op == "in":
        return bool(actual in value)
    if op == "contains":
        if isinstance(actual, list | tuple):
            return bool(value in actual)
        return value.casefold() in str(actual).casefold()
    if op == "gt":
        return bool(actual > value)
    return bool(actual < value)  # lt


def scopes(condition: Condition) -> set[str]:
    """The context scopes (``ticket``, ``contact``, ``company``, ``message``, ``event``) the
    condition reads: the others need not be loaded to evaluate it."""
    if isinstance(condition, Leaf):
        return {condition.field.partition(".")[0]}
    return set().union(*(scopes(c) for c in condition.items))


def matches(condition: Condition, context: Mapping[str, Mapping[str, Any] | None]) -> bool:
    """Whether the condition holds for the context (scope -> field values)."""
    if isinstance(condition, Leaf):
        return _leaf_holds(condition, lookup(context, condition.field))
    results = (matches(c, context) for c in condition.items)
    return all(results) if condition.mode == "all" else any(results)
