"""Switching a status, ticket type or priority on and off from its settings page
(``POST /console/settings/<kind>/<id>/active`` with ``active`` = 1 or 0).

Administrators only (403 for others), CSRF-checked. The write is the REST API's
(``catalog_api.save_row`` with ``{"active": ...}``), so its rules hold: a default status
or priority cannot be switched off (422, shown on the error page with the reason). An
inactive row is no longer offered for new choices; tickets that have it keep it.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from starlette.responses import RedirectResponse, Response

from .. import catalog_api as api
from .forms import PREFIX, ConsoleError
from .kit import ConsoleKit
from .settings_routes import KINDS


def settings_active_router(kit: ConsoleKit) -> APIRouter:
    router = kit.router()

    def toggle(slug: str) -> object:
        kind = KINDS[slug]

        async def switch(request: Request, row_id: int) -> Response:
            agent = await kit.administrator(request)
            form = await kit.checked_form(request, agent)
            wanted = str(form.get("active") or "")
            if wanted not in ("0", "1"):
                raise ConsoleError(status_code=422, detail="active must be 1 or 0")
            try:
                await api.save_row(
                    kit.sessions, kind.table, kind.what, row_id, {"active": wanted == "1"}
                )
            except HTTPException as exc:
                raise ConsoleError(status_code=exc.status_code, detail=str(exc.detail)) from exc
            what = "activated" if wanted == "1" else "deactivated"
            return RedirectResponse(f"{PREFIX}/settings/{slug}?done={what}", status_code=303)

        return switch

    # Explicit paths per kind, as settings_routes registers its own.
    for slug in KINDS:
        router.add_api_route(
            f"/settings/{slug}/{{row_id}}/active",
            toggle(slug),  # type: ignore[arg-type]
            methods=["POST"],
            include_in_schema=False,
        )
    return router
