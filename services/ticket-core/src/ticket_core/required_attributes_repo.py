"""The ticket list's ``missing_required`` filter: tickets lacking a value for an attribute
required on creation (channel tickets are created without them; see
``required_attributes.py``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import false, or_
from sqlalchemy.ext.asyncio import AsyncSession

from .repository import tickets
from .ticket_fields import load_definitions

MISSING_REQUIRED_DOC = (
    "true: tickets without a value for an attribute required on creation (created by a "
    "channel, which never refuses a customer); false: tickets with every such value."
)


async def missing_clause(session: AsyncSession, missing: bool) -> Any:
    """WHERE clause of ``missing_required=<missing>`` (one statement: the definitions)."""
    definitions = await load_definitions(session)
    keys = sorted(k for k, d in definitions.items() if d.required_on_create)
    lacking = or_(false(), *(~tickets.c.custom_attributes.has_key(k) for k in keys))
    return lacking if missing else ~lacking
