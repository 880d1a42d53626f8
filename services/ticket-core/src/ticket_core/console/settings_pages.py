"""What the rule settings pages share: the admin check plus CSRF in one call, the
redirect after a write and its notice, the API's refusal shown as a page."""

from __future__ import annotations

from collections.abc import Awaitable

from fastapi import HTTPException, Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from .console_auth import ConsoleAgent
from .forms import PREFIX, ConsoleError
from .kit import ConsoleKit


async def admin_form(kit: ConsoleKit, request: Request) -> tuple[ConsoleAgent, FormData]:
    """The administrator and their form, CSRF-checked (403 for anyone else)."""
    agent = await kit.administrator(request)
    return agent, await kit.checked_form(request, agent)


def done(path: str, what: str) -> Response:
    return RedirectResponse(f"{PREFIX}{path}?done={what}", status_code=303)


def notice(request: Request) -> str:
    return str(request.query_params.get("done") or "")[:40]


async def as_page_refusal(call: Awaitable[None]) -> None:
    """Await a write of the REST API's domain functions; their refusal (an
    ``HTTPException``) becomes a ``ConsoleError``, shown as a page with the reason."""
    try:
        await call
    except ConsoleError:
        raise
    except HTTPException as exc:
        raise ConsoleError(status_code=exc.status_code, detail=str(exc.detail)) from exc
