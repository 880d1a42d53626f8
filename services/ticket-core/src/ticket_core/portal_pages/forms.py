"""What the portal's forms and query strings mean: parsing and checking them (pure).

A bad value is a ``PortalError`` (a page with the reason, 422), never a 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import HTTPException

from .. import form_fields
from ..ratings import Rating
from ..satisfaction import COMMENT_MAX

PREFIX = "/portal"
PAGE_SIZE = 20
MAX_TEXT = 100_000
MAX_SUBJECT = 250

# What customers read for a status category (the desk's custom status names are for agents).
CUSTOMER_STATUS = {
    "open": "In progress",
    "pending": "Waiting",
    "resolved": "Resolved",
    "closed": "Closed",
}
SCOPES = ("mine", "company")


class PortalError(HTTPException):
    """A refusal shown as a page (or as the form with the reason)."""


def int_field(values: Mapping[str, Any], name: str) -> int | None:
    return form_fields.int_field(values, name, PortalError)


@dataclass(frozen=True)
class ListQuery:
    status: str | None = None
    scope: str = "mine"  # mine | company (company: only with company access)
    offset: int = 0

    def query_string(self, **override: Any) -> str:
        values: dict[str, Any] = {
            "status": self.status,
            "scope": self.scope if self.scope != "mine" else None,
            "offset": self.offset or None,
        }
        values.update(override)
        return urlencode({k: v for k, v in values.items() if v not in (None, "", 0)})


def list_query(params: Mapping[str, Any], company_access: bool) -> ListQuery:
    status = params.get("status") or None
    if status is not None and status not in CUSTOMER_STATUS:
        raise PortalError(status_code=422, detail="unknown status")
    scope = params.get("scope") or ("company" if company_access else "mine")
    if scope not in SCOPES or (scope == "company" and not company_access):
        raise PortalError(status_code=422, detail="unknown ticket filter")
    return ListQuery(status=status, scope=scope, offset=int_field(params, "offset") or 0)


def text_field(values: Mapping[str, Any], name: str, label: str, limit: int) -> str:
    """A required text: stripped, not empty, not longer than ``limit`` (422 otherwise)."""
    text = str(values.get(name) or "").strip()
    if not text:
        raise PortalError(status_code=422, detail=f"{label} is empty")
    if len(text) > limit:
        raise PortalError(status_code=422, detail=f"{label} is longer than {limit} characters")
    return text


def rating_fields(values: Mapping[str, Any]) -> tuple[Rating | None, str | None]:
    raw = str(values.get("rating") or "").strip()
    try:
        rating = Rating(raw) if raw else None
    except ValueError as exc:
        raise PortalError(status_code=422, detail="choose good, neutral or bad") from exc
    comment = str(values.get("comment") or "")
    if len(comment) > COMMENT_MAX:
        raise PortalError(
            status_code=422, detail=f"the comment is longer than {COMMENT_MAX} characters"
        )
    return rating, comment.strip() or None
