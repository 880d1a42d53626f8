"""Notification configuration over HTTP (admins), and the internal lookups the notifier
reads: the configuration, and the notification context of tickets."""

from __future__ import annotations

import secrets as pysecrets
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Response
from helpdesk_common.notification_templates import (
    LAYOUT_VARIABLES,
    TYPES,
    TemplateProblem,
    check_layout,
    check_template,
)
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import notification_context as context
from . import notifications_repo as nrepo
from . import workflow_repo as wrepo
from .api_common import Limit, Offset, Page, bearer_auth, not_found
from .catalog import load_catalog
from .channel_accounts_api import ChannelAccountSettings
from .models_org import agents
from .org import OrgError, normalise_email
from .settings import TicketCoreSettings

INTERNAL_PREFIX = "/internal/v1/notifications"
Template = Annotated[str, Field(max_length=20_000)]


class TypeOut(BaseModel):
    key: str
    audience: str
    title: str
    enabled: bool
    email_on: bool
    sms_on: bool
    subject: str
    body: str
    sms: str
    status_ids: list[int] = Field(
        description="contact.status_changed: the statuses that notify (empty: none)."
    )
    customised: bool = Field(description="false: the built-in default.")
    variables: dict[str, str]


class TypePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool | None = None
    email_on: bool | None = None
    sms_on: bool | None = None
    subject: Annotated[str, Field(min_length=1, max_length=998)] | None = None
    body: Template | None = None
    sms: Annotated[str, Field(max_length=1600)] | None = None
    status_ids: list[int] | None = Field(default=None, max_length=200)


CompanyCopy = Literal["never", "always", "no_contact_email", "no_contact"]


class SettingsOut(BaseModel):
    sender_name: str
    reply_to: str | None
    layout: str
    fallback_to_company_email: bool
    company_copy: CompanyCopy
    copy_to_author: bool
    sms_account: str | None
    layout_variables: dict[str, str] = LAYOUT_VARIABLES


class SettingsPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sender_name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    reply_to: Annotated[str, Field(max_length=254)] | None = None
    layout: Template | None = None
    fallback_to_company_email: bool | None = None
    company_copy: CompanyCopy | None = None
    copy_to_author: bool | None = None
    sms_account: Annotated[str, Field(max_length=64)] | None = None


class ProfileIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mobile_phone: Annotated[str, Field(max_length=32)] | None = None
    email_on: bool = True
    sms_on: bool = True


class ProfileOut(ProfileIn):
    agent_id: int


class NotifyMembers(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agent_ids: list[int] = Field(max_length=500)


class ContextRequest(BaseModel):
    ticket_id: int
    message_id: int | None = None
    agent_ids: list[int] = Field(default_factory=list, max_length=100)
    first_message: bool = False


class ContextsIn(BaseModel):
    items: list[ContextRequest] = Field(max_length=500)


def _type_out(item: dict[str, Any]) -> TypeOut:
    return TypeOut(**item, variables=TYPES[item["key"]].variables())


def _checked(item: dict[str, Any]) -> dict[str, Any]:
    allowed = TYPES[item["key"]].variables()
    try:
        for field in ("subject", "body", "sms"):
            check_template(item[field], allowed, field)
    except TemplateProblem as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from exc
    return item


def _phone(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    bare = value.strip()
    digits = bare.lstrip("+").replace(" ", "").replace("-", "")
    if not digits.isdigit() or not 7 <= len(digits) <= 15:
        raise HTTPException(status_code=422, detail=f"not a phone number: {value!r}")
    return ("+" if bare.startswith("+") else "") + digits


async def change_type(
    sessions: async_sessionmaker[AsyncSession], key: str, body: TypePatch
) -> TypeOut:
    """Change a notification type's switches and templates (checked: 422 with the reason)."""
    if key not in TYPES:
        not_found("notification type", key)
    async with sessions() as session, session.begin():
        item = await nrepo.type_by_key(session, key)
        assert item is not None
        item.update(body.model_dump(exclude_unset=True, exclude_none=True))
        _checked(item)
        if body.status_ids:
            known = (await load_catalog(session)).statuses
            missing = sorted(set(body.status_ids) - set(known))
            if missing:
                raise HTTPException(422, f"status(es) {missing} do not exist")
        await nrepo.save_type(session, item)
        item["customised"] = True
    return _type_out(item)


async def change_settings(
    sessions: async_sessionmaker[AsyncSession], body: SettingsPatch
) -> SettingsOut:
    """Change the notification settings (a layout must keep its ``{{ content }}`` slot)."""
    changes = body.model_dump(exclude_unset=True)
    if changes.get("layout") is not None:
        try:
            check_layout(changes["layout"])
        except TemplateProblem as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
    if changes.get("reply_to"):
        try:
            changes["reply_to"] = normalise_email(changes["reply_to"])
        except OrgError as exc:
            raise HTTPException(status_code=422, detail=str(exc)) from exc
    for required in ("sender_name", "layout", "fallback_to_company_email", "company_copy"):
        if required in changes and changes[required] is None:
            raise HTTPException(422, f"{required} cannot be null")
    async with sessions() as session, session.begin():
        values = {**await nrepo.settings(session), **changes}
        await nrepo.save_settings(session, values)
    return SettingsOut(**values)


async def save_notify_members(
    sessions: async_sessionmaker[AsyncSession], group_id: int, agent_ids: list[int]
) -> list[int]:
    """Who of a group is notified about its tickets (the API's and the console's path):
    404 for no such group, 422 for unknown or deactivated agents."""
    wanted = list(dict.fromkeys(agent_ids))
    async with sessions() as session, session.begin():
        if not await wrepo.existing_groups(session, [group_id]):
            not_found("group", group_id)
        missing = set(wanted) - await wrepo.active_agents(session, wanted)
        if missing:
            raise HTTPException(422, f"agent(s) {sorted(missing)} do not exist or are deactivated")
        await nrepo.set_notify_members(session, group_id, wanted)
    return wanted


def notifications_router(
    settings: TicketCoreSettings, sessions: async_sessionmaker[AsyncSession]
) -> APIRouter:
    own = ChannelAccountSettings()

    async def service(authorization: Annotated[str | None, Header()] = None) -> None:
        if not own.internal_token:
            raise HTTPException(503, "TICKET_CORE_INTERNAL_TOKEN is not set")
        expected = f"Bearer {own.internal_token}"
        if authorization is None or not pysecrets.compare_digest(authorization, expected):
            raise HTTPException(status_code=401, detail="missing or wrong internal token")

    router = APIRouter()
    public = APIRouter(
        prefix="/api/v1/notifications",
        tags=["notifications"],
        dependencies=[Depends(bearer_auth(settings))],
    )
    internal = APIRouter(prefix=INTERNAL_PREFIX, tags=["internal"], dependencies=[Depends(service)])

    @public.get("/types", response_model=Page[TypeOut])
    async def list_types(limit: Limit = 50, offset: Offset = 0) -> Page[TypeOut]:
        async with sessions() as session:
            items = await nrepo.types(session)
        return Page(total=len(items), items=[_type_out(i) for i in items[offset : offset + limit]])

    @public.get("/types/{key}", response_model=TypeOut)
    async def get_type(key: str) -> TypeOut:
        async with sessions() as session:
            item = await nrepo.type_by_key(session, key)
        if item is None:
            not_found("notification type", key)
        return _type_out(item)

    @public.patch("/types/{key}", response_model=TypeOut)
    async def patch_type(key: str, body: TypePatch) -> TypeOut:
        return await change_type(sessions, key, body)

    @public.delete("/types/{key}", status_code=204)
    async def reset_type(key: str) -> Response:
        if key not in TYPES:
            not_found("notification type", key)
        async with sessions() as session, session.begin():
            await nrepo.reset_type(session, key)
        return Response(status_code=204)

    @public.get("/settings", response_model=SettingsOut)
    async def get_settings() -> SettingsOut:
        async with sessions() as session:
            return SettingsOut(**await nrepo.settings(session))

    @public.patch("/settings", response_model=SettingsOut)
    async def patch_settings(body: SettingsPatch) -> SettingsOut:
        return await change_settings(sessions, body)

    async def _agent_exists(session: AsyncSession, agent_id: int) -> None:
        if await session.scalar(select(agents.c.id).where(agents.c.id == agent_id)) is None:
            not_found("agent", agent_id)

    @public.get("/agents/{agent_id}", response_model=ProfileOut)
    async def get_profile(agent_id: int) -> ProfileOut:
        async with sessions() as session:
            await _agent_exists(session, agent_id)
            return ProfileOut(**await nrepo.profile(session, agent_id))

    @public.put("/agents/{agent_id}", response_model=ProfileOut)
    async def put_profile(agent_id: int, body: ProfileIn) -> ProfileOut:
        values = body.model_dump() | {
            "agent_id": agent_id,
            "mobile_phone": _phone(body.mobile_phone),
        }
        async with sessions() as session, session.begin():
            await _agent_exists(session, agent_id)
            await nrepo.save_profile(session, values)
        return ProfileOut(**values)

    @public.get("/groups/{group_id}/members", response_model=NotifyMembers)
    async def get_notify_members(group_id: int) -> NotifyMembers:
        async with sessions() as session:
            if not await wrepo.existing_groups(session, [group_id]):
                not_found("group", group_id)
            found = await nrepo.notify_members(session, [group_id])
        return NotifyMembers(agent_ids=found.get(group_id, []))

    @public.put("/groups/{group_id}/members", response_model=NotifyMembers)
    async def put_notify_members(group_id: int, body: NotifyMembers) -> NotifyMembers:
        return NotifyMembers(
            agent_ids=await save_notify_members(sessions, group_id, body.agent_ids)
        )

    @internal.get("/config")
    async def config() -> dict[str, Any]:
        async with sessions() as session:
            return {
                "settings": await nrepo.settings(session),
                "types": await nrepo.types(session),
            }

    @internal.post("/contexts")
    async def contexts(body: ContextsIn) -> dict[str, Any]:
        """Contexts of the asked tickets (a missing ticket: null)."""
        requests = [
            context.ContextRequest(i.ticket_id, i.message_id, tuple(i.agent_ids), i.first_message)
            for i in body.items
        ]
        async with sessions() as session:
            return {"items": await context.contexts(session, requests)}

    router.include_router(public)
    router.include_router(internal)
    return router
