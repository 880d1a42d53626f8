"""One ordered-table pattern for the settings pages whose rows run top-down (routing
rules, SLA rules, triggers): reorder by drag and drop (``ordered_table.js`` posts the
whole order) or by up/down buttons (plain forms, no JS needed), and enable/disable.

A page module describes its table with an ``OrderedTable`` (how to read the ids in
order, how to save an order, how to switch a row) and calls ``add_order_routes``; the
template macro ``settings_rules/_ordered.html`` renders the matching markup.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from .forms import PREFIX, ConsoleError
from .kit import ConsoleKit
from .settings_pages import as_page_refusal

MAX_ROWS = 10_000


def parse_order(raw: Any) -> list[int]:
    """``"3,1,2"`` (the JS's form field) as ids; anything else is a 422."""
    text = str(raw or "").strip()
    if not text:
        raise ConsoleError(status_code=422, detail="the new order is empty")
    try:
        ids = [int(part) for part in text.split(",")]
    except ValueError as exc:
        raise ConsoleError(
            status_code=422, detail="the order must be ids separated by commas"
        ) from exc
    if len(ids) > MAX_ROWS or any(not 0 < i < 2**62 for i in ids):
        raise ConsoleError(status_code=422, detail="the order is out of range")
    return ids


def moved(ids: list[int], row_id: int, direction: str) -> list[int]:
    """The order with ``row_id`` one place up or down (unchanged at either end)."""
    if direction not in {"up", "down"}:
        raise ConsoleError(status_code=422, detail="direction must be up or down")
    if row_id not in ids:
        raise ConsoleError(status_code=404, detail=f"row {row_id} not found")
    order = list(ids)
    at = order.index(row_id)
    to = at - 1 if direction == "up" else at + 1
    if 0 <= to < len(order):
        order[at], order[to] = order[to], order[at]
    return order


def wants_enabled(values: Mapping[str, Any]) -> bool:
    raw = str(values.get("enabled", ""))
    if raw not in {"0", "1"}:
        raise ConsoleError(status_code=422, detail="enabled must be 0 or 1")
    return raw == "1"


@dataclass(frozen=True)
class OrderedTable:
    """``path``: the list page under ``/console`` (e.g. ``/settings/routing``)."""

    path: str
    ids: Callable[[], Awaitable[list[int]]]
    save_order: Callable[[list[int]], Awaitable[None]]
    set_enabled: Callable[[int, bool], Awaitable[None]]


def add_order_routes(router: APIRouter, kit: ConsoleKit, table: OrderedTable) -> None:
    """POST ``<path>/order`` (``order=3,1,2``: 204 for the JS, else a redirect),
    ``<path>/{id}/move`` (``direction=up|down``) and ``<path>/{id}/enabled`` (``0|1``),
    administrators only, CSRF-checked; a refusal of the domain is a 422/404 page."""

    def back(done: str) -> Response:
        return RedirectResponse(f"{PREFIX}{table.path}?done={done}", status_code=303)

    @router.post(table.path + "/order", include_in_schema=False)
    async def save_order(request: Request) -> Response:
        agent = await kit.administrator(request)
        form = await kit.checked_form(request, agent)
        await as_page_refusal(table.save_order(parse_order(form.get("order"))))
        if request.headers.get("x-requested-with") == "ordered-table":
            return Response(status_code=204)
        return back("reordered")

    @router.post(table.path + "/{row_id}/move", include_in_schema=False)
    async def move(request: Request, row_id: int) -> Response:
        agent = await kit.administrator(request)
        form = await kit.checked_form(request, agent)
        order = moved(await table.ids(), row_id, str(form.get("direction") or ""))
        await as_page_refusal(table.save_order(order))
        return back("reordered")

    @router.post(table.path + "/{row_id}/enabled", include_in_schema=False)
    async def switch(request: Request, row_id: int) -> Response:
        agent = await kit.administrator(request)
        form = await kit.checked_form(request, agent)
        enabled = wants_enabled(form)
        await as_page_refusal(table.set_enabled(row_id, enabled))
        return back("enabled" if enabled else "disabled")
