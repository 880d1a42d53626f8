"""Desk settings over HTTP.

Settings class (every agent reads, administrators change):
``GET/PUT /api/v1/settings/branding`` (main colour, page titles),
``POST/DELETE /api/v1/settings/branding/{logo|favicon}`` (multipart ``file``: PNG, JPEG,
GIF, ICO or WebP up to 1 MiB, into the blob store), ``GET/PUT /api/v1/settings/desk``
(timezone), ``GET/PUT /api/v1/settings/portal`` (types and priorities portal users may
pick).

Public (the console's and the portal's pages, before login): ``GET /api/v1/branding`` and
the images at ``GET /branding/{logo|favicon}``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, HTTPException, UploadFile
from fastapi.responses import Response
from helpdesk_common.blobstore import BlobNotFound, BlobStore
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import desk_settings_repo as repo
from .api_common import bearer_auth
from .attachments_api import _read_capped
from .catalog import load_catalog
from .desk_settings import (
    MAX_IMAGE_BYTES,
    Branding,
    BrandingIn,
    DeskOptions,
    ImageRef,
    ImageRefused,
    PortalOptions,
    checked_image,
)
from .settings import TicketCoreSettings

Image = Literal["logo", "favicon"]


class BrandingOut(BaseModel):
    main_colour: str
    console_title: str
    portal_title: str
    logo_url: str | None
    favicon_url: str | None


def _public(branding: Branding) -> BrandingOut:
    def url(name: Image, ref: ImageRef | None) -> str | None:
        return f"/branding/{name}?v={ref.sha256[:16]}" if ref else None

    return BrandingOut(
        main_colour=branding.main_colour,
        console_title=branding.console_title,
        portal_title=branding.portal_title,
        logo_url=url("logo", branding.logo),
        favicon_url=url("favicon", branding.favicon),
    )


def desk_settings_routers(
    settings: TicketCoreSettings, sessions: async_sessionmaker[AsyncSession], blobs: BlobStore
) -> tuple[APIRouter, APIRouter]:
    """(settings-class router, public router)."""
    admin = APIRouter(
        prefix="/api/v1/settings",
        tags=["desk settings"],
        dependencies=[Depends(bearer_auth(settings))],
    )
    public = APIRouter(tags=["branding (public)"])

    @admin.get("/branding", response_model=Branding)
    async def get_branding() -> Branding:
        async with sessions() as session:
            return await repo.branding(session)

    @admin.put("/branding", response_model=Branding)
    async def put_branding(body: BrandingIn) -> Branding:
        async with sessions() as session, session.begin():
            return await repo.change_branding(session, body.model_dump(exclude_none=True))

    @admin.post("/branding/{image}", response_model=Branding)
    async def upload_image(image: Image, file: Annotated[UploadFile, File()]) -> Branding:
        data = await _read_capped(file, MAX_IMAGE_BYTES)
        try:
            content_type = checked_image(data)
        except ImageRefused as exc:
            raise HTTPException(status_code=exc.status_code, detail=exc.detail) from exc
        blob = await blobs.put(data, content_type)
        ref = ImageRef(sha256=blob.sha256, content_type=content_type)
        async with sessions() as session, session.begin():
            return await repo.change_branding(session, {image: ref})

    @admin.delete("/branding/{image}", response_model=Branding)
    async def remove_image(image: Image) -> Branding:
        async with sessions() as session, session.begin():
            return await repo.change_branding(session, {image: None})

    @admin.get("/desk", response_model=DeskOptions)
    async def get_desk() -> DeskOptions:
        async with sessions() as session:
            return await repo.desk_options(session)

    @admin.put("/desk", response_model=DeskOptions)
    async def put_desk(body: DeskOptions) -> DeskOptions:
        async with sessions() as session, session.begin():
            await repo.save(session, "desk", body)
        return body

    @admin.get("/portal", response_model=PortalOptions)
    async def get_portal() -> PortalOptions:
        async with sessions() as session:
            return await repo.portal_options(session)

    @admin.put("/portal", response_model=PortalOptions)
    async def put_portal(body: PortalOptions) -> PortalOptions:
        async with sessions() as session, session.begin():
            catalog = await load_catalog(session)
            for type_id in body.type_ids:
                if type_id not in catalog.types:
                    raise HTTPException(422, f"ticket type {type_id} does not exist")
                if catalog.is_internal(type_id):
                    raise HTTPException(422, f"ticket type {type_id} is internal")
            for priority_id in body.priority_ids:
                if priority_id not in catalog.priorities:
                    raise HTTPException(422, f"priority {priority_id} does not exist")
            await repo.save(session, "portal", body)
        return body

    @public.get("/api/v1/branding", response_model=BrandingOut)
    async def branding() -> BrandingOut:
        async with sessions() as session:
            return _public(await repo.branding(session))

    @public.get("/branding/{image}")
    async def image(image: Image) -> Response:
        async with sessions() as session:
            ref: ImageRef | None = getattr(await repo.branding(session), image)
        if ref is None:
            raise HTTPException(status_code=404, detail=f"no {image} is set")
        try:
            data = await blobs.get(ref.sha256)
        except BlobNotFound as exc:
            raise HTTPException(status_code=404, detail=f"the {image} file is missing") from exc
        return Response(
            data,
            media_type=ref.content_type,
            headers={
                "Cache-Control": "public, max-age=300",
                "X-Content-Type-Options": "nosniff",
                "Content-Security-Policy": "default-src 'none'",
            },
        )

    return admin, public
