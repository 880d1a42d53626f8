"""Settings: notification templates. Every type with its switches (enabled, email, SMS)
and its subject, email body and SMS text; the email layout. A preview renders them with
sample values through the notifier's sandboxed renderer; a template that fails to render,
or a layout without ``{{ content }}``, is refused with the renderer's message. Saving goes
through ``notifications_api``'s functions (the REST API's checks)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from helpdesk_common.notification_templates import TYPES, TemplateProblem
from starlette.responses import Response

from .. import notifications_api
from .. import notifications_repo as nrepo
from . import notification_preview
from .forms import ConsoleError
from .kit import ConsoleKit
from .settings_pages import admin_form, done, notice

PATH = "/settings/notifications"


def _known(key: str) -> None:
    if key not in TYPES:
        raise ConsoleError(status_code=404, detail=f"notification type {key} not found")


def notification_settings_router(kit: ConsoleKit) -> APIRouter:
    router = kit.router()

    @router.get(PATH, include_in_schema=False)
    async def types(request: Request) -> Response:
        agent = await kit.administrator(request)
        async with kit.sessions() as db:
            items = await nrepo.types(db)
            settings = await nrepo.settings(db)
        context = {
            "types": items,
            "layout": settings["layout"],
            "path": PATH,
            "done": notice(request),
        }
        return kit.page(request, "settings_rules/notifications.html", context, agent)

    async def editor(
        request: Request,
        key: str,
        item: dict[str, Any],
        layout: str,
        *,
        error: str | None = None,
        status: int = 200,
        shown: notification_preview.Preview | None = None,
    ) -> Response:
        agent = await kit.administrator(request)
        context: dict[str, Any] = {
            "key": key,
            "item": item,
            "title": TYPES[key].title,
            "variables": TYPES[key].variables(),
            "layout": layout,
            "preview": shown,
            "error": error,
            "path": PATH,
        }
        return kit.page(request, "settings_rules/notification_edit.html", context, agent, status)

    @router.get(PATH + "/types/{key}", include_in_schema=False)
    async def edit(request: Request, key: str) -> Response:
        await kit.administrator(request)
        _known(key)
        async with kit.sessions() as db:
            item = await nrepo.type_by_key(db, key)
            layout = (await nrepo.settings(db))["layout"]
        assert item is not None
        return await editor(request, key, item, layout)

    @router.post(PATH + "/types/{key}", include_in_schema=False)
    async def save(request: Request, key: str) -> Response:
        """``action=preview`` renders only; ``action=save`` renders, then saves."""
        _, form = await admin_form(kit, request)
        _known(key)
        async with kit.sessions() as db:
            layout = (await nrepo.settings(db))["layout"]
        item: dict[str, Any] = {
            "key": key,
            "enabled": form.get("enabled") == "1",
            "email_on": form.get("email_on") == "1",
            "sms_on": form.get("sms_on") == "1",
            "subject": str(form.get("subject") or ""),
            "body": str(form.get("body") or ""),
            "sms": str(form.get("sms") or ""),
        }
        try:
            shown = notification_preview.preview(
                key, item["subject"], item["body"], item["sms"], layout
            )
        except TemplateProblem as exc:
            return await editor(request, key, item, layout, error=str(exc), status=422)
        if form.get("action") == "preview":
            return await editor(request, key, item, layout, shown=shown)
        try:
            patch = notifications_api.TypePatch(
                **{k: item[k] for k in ("enabled", "email_on", "sms_on", "subject", "body", "sms")}
            )
            await notifications_api.change_type(kit.sessions, key, patch)
        except HTTPException as exc:
            return await editor(
                request, key, item, layout, error=str(exc.detail), status=exc.status_code
            )
        except ValueError as exc:  # the patch model's limits
            return await editor(request, key, item, layout, error=str(exc), status=422)
        return done(PATH, "saved")

    @router.post(PATH + "/layout", include_in_schema=False)
    async def save_layout(request: Request) -> Response:
        agent, form = await admin_form(kit, request)
        layout = str(form.get("layout") or "")
        try:
            key = next(iter(TYPES))
            sample = TYPES[key]
            notification_preview.preview(key, sample.subject, sample.body, sample.sms, layout)
            patch = notifications_api.SettingsPatch(layout=layout)
            await notifications_api.change_settings(kit.sessions, patch)
        except (TemplateProblem, ValueError) as exc:
            error = str(exc)
        except HTTPException as exc:
            error = str(exc.detail)
        else:
            return done(PATH, "layout saved")
        async with kit.sessions() as db:
            items = await nrepo.types(db)
        context = {"types": items, "layout": layout, "path": PATH, "done": "", "error": error}
        return kit.page(request, "settings_rules/notifications.html", context, agent, 422)

    return router
