"""Form and query-string fields that the console and the portal read alike (pure): the
page to return to after a login, and a whole number that names a row.

Each site passes its own path prefix and its own refusal class (``ConsoleError``,
``PortalError``: an ``HTTPException`` shown as a page), so a bad value is a 422 page of
that site, never a 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import HTTPException


def safe_next(raw: str | None, prefix: str) -> str:
    """``raw`` when it is a path under ``prefix`` (no open redirect), else ``prefix/``."""
    if raw and raw.startswith(prefix + "/") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return prefix + "/"


def int_field(values: Mapping[str, Any], name: str, refusal: type[HTTPException]) -> int | None:
    """``values[name]`` as a whole number from 0 to 2**62 (None when absent or blank);
    anything else is a 422 ``refusal``."""
    raw = values.get(name)
    if raw is None or str(raw).strip() == "":
        return None
    try:
        value = int(str(raw))
    except ValueError as exc:
        raise refusal(status_code=422, detail=f"{name} must be a number") from exc
    if not 0 <= value < 2**62:
        raise refusal(status_code=422, detail=f"{name} is out of range")
    return value
