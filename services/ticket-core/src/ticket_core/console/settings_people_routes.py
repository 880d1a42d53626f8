"""Settings for administrators: agents (create with an initial password, role, phone
extension, deactivate, reset password) and groups (members, who is notified).

Writes go through the REST API's functions and schemas (``agents_api.create_agent_row``/
``change_agent``/``create_group_row``/``change_group``, ``auth_api.set_agent_credentials``,
``notifications_api.save_notify_members``): the same validation, the same refusals (a
deactivation is refused with the API's message while the agent has open tickets).
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import ValidationError
from sqlalchemy import select
from starlette.responses import RedirectResponse, Response

from .. import agents_api, auth_api, notifications_api, passwords
from ..models_org import AgentRole, agents, groups
from ..notifications_repo import notify_members
from ..org_repo import members_of
from .console_auth import ConsoleAgent
from .forms import PREFIX, ConsoleError
from .kit import ConsoleKit
from .settings_forms import FormRefused, text, validation_text

ROLES = [r.value for r in AgentRole]
SHOWN_KEY = "console:initial-password:{}"


def _ids(values: list[Any]) -> list[int]:
    try:
        return [int(str(v)) for v in values[:1000] if str(v).strip()]
    except ValueError as exc:
        raise FormRefused("pick agents from the list") from exc


def settings_people_router(kit: ConsoleKit) -> APIRouter:
    router = kit.router()

    async def all_agents() -> list[dict[str, Any]]:
        async with kit.sessions() as db:
            rows = await db.execute(select(agents).order_by(agents.c.name, agents.c.id))
            return [dict(r) for r in rows.mappings()]

    # --- agents -------------------------------------------------------------------------

    async def agents_page(
        request: Request,
        agent: ConsoleAgent,
        *,
        error: str | None = None,
        status_code: int = 200,
        draft: dict[str, Any] | None = None,
        shown_password: str | None = None,
    ) -> Response:
        context = {
            "agents": await all_agents(),
            "roles": ROLES,
            "error": error,
            "done": request.query_params.get("done"),
            "draft": draft or {},
            "shown_password": shown_password,
        }
        return kit.page(request, "settings/agents.html", context, agent, status_code)

    @router.get("/settings/agents", include_in_schema=False)
    async def agents_list(request: Request) -> Response:
        agent = await kit.administrator(request)
        shown = request.query_params.get("shown", "")
        if shown:  # a generated password, readable once (a reload shows nothing)
            found = await kit.access.store.redis.getdel(SHOWN_KEY.format(shown[:64]))
            if found:
                raw = found.decode() if isinstance(found, bytes) else str(found)
                name, _, password = raw.partition("\n")
                return await agents_page(
                    request, agent, shown_password=password, draft={"created": name}
                )
        return await agents_page(request, agent)

    @router.post("/settings/agents", include_in_schema=False)
    async def agent_create(request: Request) -> Response:
        agent = await kit.administrator(request)
        form = await kit.checked_form(request, agent)
        draft = {k: v for k, v in form.items() if k != "password"}
        try:
            body = agents_api.AgentIn.model_validate(
                {
                    "name": text(form, "name", 200),
                    "email": text(form, "email", 254),
                    "role": text(form, "role", 40) or AgentRole.SPECIALIST.value,
                    "phone_extension": text(form, "phone_extension", 16) or None,
                }
            )
            credentials = auth_api.CredentialsIn.model_validate(
                {
                    "login": text(form, "login", 64) or None,
                    "password": str(form.get("password") or "") or None,
                }
            )
        except FormRefused as exc:
            return await agents_page(request, agent, error=str(exc), status_code=422, draft=draft)
        except ValidationError as exc:
            return await agents_page(
                request, agent, error=validation_text(exc), status_code=422, draft=draft
            )
        generated = not credentials.password
        password = credentials.password or secrets.token_urlsafe(12)
        try:
            passwords.check_policy(password)
        except passwords.WeakPassword as exc:
            return await agents_page(request, agent, error=str(exc), status_code=422, draft=draft)
        try:
            created = await agents_api.create_agent_row(kit.sessions, body)
        except HTTPException as exc:
            return await agents_page(
                request, agent, error=str(exc.detail), status_code=exc.status_code, draft=draft
            )
        credentials = credentials.model_copy(update={"password": password})
        try:
            await auth_api.set_agent_credentials(
                kit.sessions, kit.access.store, created.id, credentials
            )
        except HTTPException:
            # the agent exists; the login (taken, malformed) can be set on their page
            return RedirectResponse(
                f"{PREFIX}/settings/agents/{created.id}?error=credentials", status_code=303
            )
        if generated:  # kept briefly under a random key, shown on the next page only
            token = secrets.token_urlsafe(24)
            await kit.access.store.redis.set(
                SHOWN_KEY.format(token), f"{body.name}\n{password}", ex=300
            )
            return RedirectResponse(f"{PREFIX}/settings/agents?shown={token}", status_code=303)
        return RedirectResponse(f"{PREFIX}/settings/agents?done=created", status_code=303)

    async def agent_page(
        request: Request,
        agent: ConsoleAgent,
        agent_id: int,
        *,
        error: str | None = None,
        status_code: int = 200,
        shown_password: str | None = None,
    ) -> Response:
        async with kit.sessions() as db:
            row = (
                (await db.execute(select(agents).where(agents.c.id == agent_id))).mappings().first()
            )
        if row is None:
            raise ConsoleError(status_code=404, detail=f"agent {agent_id} not found")
        if request.query_params.get("error") == "credentials" and error is None:
            error = "The agent was created, but the login was refused: set it here."
        context = {
            "person": dict(row),
            "roles": ROLES,
            "error": error,
            "done": request.query_params.get("done"),
            "shown_password": shown_password,
        }
        return kit.page(request, "settings/agent.html", context, agent, status_code)

    @router.get("/settings/agents/{agent_id}", include_in_schema=False)
    async def agent_edit(request: Request, agent_id: int) -> Response:
        agent = await kit.administrator(request)
        return await agent_page(request, agent, agent_id)

    @router.post("/settings/agents/{agent_id}", include_in_schema=False)
    async def agent_change(request: Request, agent_id: int) -> Response:
        """Name, email, role, extension, active (deactivation refused with open tickets)."""
        agent = await kit.administrator(request)
        form = await kit.checked_form(request, agent)
        try:
            values: dict[str, Any] = {
                "name": text(form, "name", 200),
                "email": text(form, "email", 254),
                "role": text(form, "role", 40),
                "phone_extension": text(form, "phone_extension", 16) or None,
            }
            if "active" in form:
                values["active"] = str(form.get("active")) == "1"
            body = agents_api.AgentPatch.model_validate(values)
        except FormRefused as exc:
            return await agent_page(request, agent, agent_id, error=str(exc), status_code=422)
        except ValidationError as exc:
            return await agent_page(
                request, agent, agent_id, error=validation_text(exc), status_code=422
            )
        try:
            await agents_api.change_agent(kit.sessions, agent_id, body, kit.access.agent_changed)
        except HTTPException as exc:
            return await agent_page(
                request, agent, agent_id, error=str(exc.detail), status_code=exc.status_code
            )
        return RedirectResponse(f"{PREFIX}/settings/agents/{agent_id}?done=saved", status_code=303)

    @router.post("/settings/agents/{agent_id}/credentials", include_in_schema=False)
    async def agent_credentials(request: Request, agent_id: int) -> Response:
        """Set the login and/or a new password (the agent's sessions end)."""
        agent = await kit.administrator(request)
        form = await kit.checked_form(request, agent)
        values: dict[str, Any] = {}
        login = str(form.get("login") or "").strip()
        if login:
            values["login"] = login[:64]
        password = str(form.get("password") or "")
        if password:
            values["password"] = password
        try:
            body = auth_api.CredentialsIn.model_validate(values)
            await auth_api.set_agent_credentials(kit.sessions, kit.access.store, agent_id, body)
        except ValidationError as exc:
            return await agent_page(
                request, agent, agent_id, error=validation_text(exc), status_code=422
            )
        except HTTPException as exc:
            return await agent_page(
                request, agent, agent_id, error=str(exc.detail), status_code=exc.status_code
            )
        return RedirectResponse(
            f"{PREFIX}/settings/agents/{agent_id}?done=credentials", status_code=303
        )

    # --- groups -------------------------------------------------------------------------

    async def groups_page(
        request: Request,
        agent: ConsoleAgent,
        *,
        error: str | None = None,
        status_code: int = 200,
        editing: int | None = None,
    ) -> Response:
        async with kit.sessions() as db:
            rows = [
                dict(r)
                for r in (
                    await db.execute(select(groups).order_by(groups.c.name, groups.c.id))
                ).mappings()
            ]
            ids = [r["id"] for r in rows]
            members = await members_of(db, ids)
            notified = await notify_members(db, ids)
        people = await all_agents()
        names = {p["id"]: p["name"] for p in people}
        for row in rows:
            row["members"] = members.get(row["id"], [])
            row["notified"] = notified.get(row["id"], [])
        context = {
            "groups": rows,
            "people": people,
            "names": names,
            "editing": editing,
            "error": error,
            "done": request.query_params.get("done"),
        }
        return kit.page(request, "settings/groups.html", context, agent, status_code)

    @router.get("/settings/groups", include_in_schema=False)
    async def groups_list(request: Request) -> Response:
        agent = await kit.administrator(request)
        editing = request.query_params.get("edit")
        return await groups_page(
            request, agent, editing=int(editing) if editing and editing.isdigit() else None
        )

    @router.post("/settings/groups", include_in_schema=False)
    async def group_create(request: Request) -> Response:
        agent = await kit.administrator(request)
        form = await kit.checked_form(request, agent)
        try:
            body = agents_api.GroupIn.model_validate(
                {"name": text(form, "name", 200), "member_ids": _ids(form.getlist("member_ids"))}
            )
            await agents_api.create_group_row(kit.sessions, body)
        except FormRefused as exc:
            return await groups_page(request, agent, error=str(exc), status_code=422)
        except ValidationError as exc:
            return await groups_page(request, agent, error=validation_text(exc), status_code=422)
        except HTTPException as exc:
            return await groups_page(
                request, agent, error=str(exc.detail), status_code=exc.status_code
            )
        return RedirectResponse(f"{PREFIX}/settings/groups?done=created", status_code=303)

    @router.post("/settings/groups/{group_id}", include_in_schema=False)
    async def group_change(request: Request, group_id: int) -> Response:
        agent = await kit.administrator(request)
        form = await kit.checked_form(request, agent)
        try:
            body = agents_api.GroupPatch.model_validate(
                {"name": text(form, "name", 200), "member_ids": _ids(form.getlist("member_ids"))}
            )
            notified = _ids(form.getlist("notify_ids"))
            await agents_api.change_group(kit.sessions, group_id, body)
            await notifications_api.save_notify_members(kit.sessions, group_id, notified)
        except FormRefused as exc:
            return await groups_page(
                request, agent, error=str(exc), status_code=422, editing=group_id
            )
        except ValidationError as exc:
            return await groups_page(
                request, agent, error=validation_text(exc), status_code=422, editing=group_id
            )
        except HTTPException as exc:
            return await groups_page(
                request,
                agent,
                error=str(exc.detail),
                status_code=exc.status_code,
                editing=group_id,
            )
        return RedirectResponse(f"{PREFIX}/settings/groups?done=saved", status_code=303)

    return router
