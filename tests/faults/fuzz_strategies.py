"""Hypothesis strategies shared by the hostile-input tests: JSON of any shape, valid
payloads with fields replaced, retyped or deleted, hostile strings (NUL, huge, unicode
digits, control characters) and raw bodies that are not what they claim to be."""

from __future__ import annotations

import copy
import json
import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))  # scales every fuzz test
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["", "0", "-1", "1e999", "https://x/y", "\x00", "private", "photo"])
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


@st.composite
def mutated(draw: st.DrawFn, seeds: list[dict[str, Any]]) -> Any:
    """A valid payload with one to four of its fields replaced, retyped or deleted."""
    value: Any = copy.deepcopy(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(_paths(value)))
        if not path:
            value = draw(JSON) if draw(st.integers(0, 9)) == 0 else value
            continue
        parent = value
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["replace", "scalar", "delete", "wrap"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "wrap":
            parent[path[-1]] = [parent[path[-1]]]
        else:
            parent[path[-1]] = draw(JSON if action == "replace" else SCALARS)
    return value


def body_of(value: Any) -> str:
    return json.dumps(value, allow_nan=True)


BODIES = st.one_of(
    st.text(max_size=200),  # not JSON at all, or JSON of the wrong kind
    JSON.map(body_of),
    st.integers(1, 20_000).map(lambda depth: "[" * depth),  # nesting bombs
    st.integers(1, 20_000).map(lambda depth: '{"a":' * depth),
)


# Strings a provider (or someone holding a leaked secret) may put in any field.
HOSTILE_TEXT = (
    st.text(max_size=24)
    | st.text(st.characters(codec="utf-8"), max_size=12)  # any code point but surrogates
    | st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "+7\x00916",
            "\u202e\u200b",
            "٣٤٥٦٧٨٩٠١٢٣",  # Arabic-Indic digits
            "²³",  # digits by str.isdigit, not by int()
            "+",
            "++79161234567",
            "+7 916 123-45-67",
            "8 (916) 123 45 67",
            "-1",
            "-86400",
            "1e999",
            "nan",
            "99999999999999999999",
            "9" * 5000,  # over int()'s digit limit
            "x" * 70_000,
            "sms_status",
            "\n",
            "\r\n\r\n",
            "%",
            "&=&",
            "https://x/y",
            "javascript:alert(1)",
            "http://[::1",
        ]
    )
)


@st.composite
def mutated_form(draw: st.DrawFn, seeds: list[dict[str, str]]) -> list[tuple[str, str]]:
    """A valid form with one to four fields deleted, replaced, repeated or added."""
    pairs = list(draw(st.sampled_from(seeds)).items())
    names = [name for name, _ in pairs]
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["delete", "replace", "repeat", "add"]))
        if action == "add" or not pairs:
            name = draw(st.sampled_from(names) | HOSTILE_TEXT)
            pairs.insert(draw(st.integers(0, len(pairs))), (name, draw(HOSTILE_TEXT)))
            continue
        index = draw(st.integers(0, len(pairs) - 1))
        if action == "delete":
            del pairs[index]
        elif action == "replace":
            pairs[index] = (pairs[index][0], draw(HOSTILE_TEXT))
        else:
            pairs.append((pairs[index][0], draw(HOSTILE_TEXT)))
    return pairs


@st.composite
def damaged(draw: st.DrawFn, body: str) -> str:
    """``body`` with a few characters inserted, deleted or overwritten."""
    chars = list(body)
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(chars)))
        piece = draw(st.sampled_from(["%", "%ZZ", "%00", "%ED%A0%80", "&", "=", "\x00", "+"]))
        action = draw(st.sampled_from(["insert", "delete", "overwrite"]))
        if action == "insert" or at == len(chars):
            chars[at:at] = list(piece)
        elif action == "delete":
            del chars[at]
        else:
            chars[at : at + len(piece)] = list(piece)
    return "".join(chars)


def mostly(values: list[str]) -> st.SearchStrategy[str]:
    """One of ``values`` three times in four, else a hostile string."""
    return st.integers(0, 3).flatmap(
        lambda n: st.sampled_from(values) if n else HOSTILE_TEXT  # type: ignore[arg-type]
    )
