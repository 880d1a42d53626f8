"""Branding: the administrators' page ``/console/settings/branding`` (main colour, console
and portal titles, logo and favicon uploads) and what every console page loads from it:
``/console/branding.css`` (the colour as CSS custom properties) and the images at
``/console/branding/{logo|favicon}``.

Writes use the REST API's rules and repository: ``BrandingIn`` validation (hex colour,
titles of 1-120 characters), ``desk_settings.checked_image`` (type from the bytes: PNG,
JPEG, GIF, ICO, WebP; SVG is refused since it can carry script; at most 1 MiB) and
``desk_settings_repo.change_branding``. The images and the stylesheet are public (the
login page shows them too, and ``/branding/...`` of the API serves the same bytes to
anyone); their URLs carry a version, so they are cached for a year and change when the
image or colour does.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from helpdesk_common.blobstore import BlobNotFound
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.responses import RedirectResponse, Response

from ..desk_settings import (
    MAX_IMAGE_BYTES,
    Branding,
    BrandingIn,
    ImageRef,
    ImageRefused,
    checked_image,
)
from ..desk_settings_repo import change_branding
from .branding_view import colour_of, stylesheet
from .console_auth import ConsoleAgent
from .forms import PREFIX, ConsoleError
from .kit import ConsoleKit
from .reply_uploads import read_capped

IMAGES: tuple[Literal["logo", "favicon"], ...] = ("logo", "favicon")
_YEAR = "public, max-age=31536000, immutable"
_SHORT = "public, max-age=300"
_FIELDS = {
    "main_colour": "Main colour",
    "console_title": "Console title",
    "portal_title": "Portal title",
}


def _problems(exc: ValidationError) -> list[str]:
    out = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        name = _FIELDS.get(field, field)
        if field == "main_colour":
            out.append(f"{name}: give a colour as #rrggbb, e.g. #1f6feb.")
        else:
            out.append(f"{name}: {error['msg']}.")
    return out


def _picked(form: FormData, name: str) -> UploadFile | None:
    value = form.get(name)
    if isinstance(value, UploadFile) and (value.filename or value.size):
        return value
    return None


def branding_router(kit: ConsoleKit) -> APIRouter:
    router = kit.router()

    def current() -> Branding:
        return kit.looks.current if kit.looks else Branding()

    def page(
        request: Request,
        agent: ConsoleAgent,
        values: dict[str, Any] | None = None,
        errors: list[str] | None = None,
        status_code: int = 200,
    ) -> Response:
        branding = current()
        context = {
            "values": values or branding.model_dump(include=set(_FIELDS)),
            "errors": errors or [],
            "saved": request.query_params.get("saved") == "1" and not errors,
            "logo": branding.logo is not None,
            "favicon": branding.favicon is not None,
            "max_image_bytes": MAX_IMAGE_BYTES,
        }
        return kit.page(request, "settings/branding.html", context, agent, status_code)

    @router.get("/settings/branding", include_in_schema=False)
    async def branding_form(request: Request) -> Response:
        agent = await kit.administrator(request)
        return page(request, agent)

    @router.post("/settings/branding", include_in_schema=False)
    async def save(request: Request) -> Response:
        agent = await kit.administrator(request)
        form = await kit.checked_form(request, agent)
        values = {name: str(form.get(name) or "").strip() for name in _FIELDS}
        try:
            text = BrandingIn.model_validate({k: v for k, v in values.items() if v})
        except ValidationError as exc:
            return page(request, agent, values, _problems(exc), 422)
        missing = [f"{_FIELDS[k]}: required." for k, v in values.items() if not v]
        if missing:
            return page(request, agent, values, missing, 422)
        update: dict[str, Any] = text.model_dump(exclude_none=True)
        images: dict[str, tuple[bytes, str]] = {}
        for image_name in IMAGES:
            upload = _picked(form, image_name)
            if upload is not None:
                data = await read_capped(upload, MAX_IMAGE_BYTES)
                try:
                    images[image_name] = (data, checked_image(data))
                except ImageRefused as exc:
                    problem = f"{image_name.capitalize()}: {exc.detail}."
                    return page(request, agent, values, [problem], exc.status_code)
            elif form.get(f"remove_{image_name}"):
                update[image_name] = None
        if images and kit.blobs is None:
            raise ConsoleError(status_code=503, detail="image uploads are not available")
        for name, (data, content_type) in images.items():
            assert kit.blobs is not None
            blob = await kit.blobs.put(data, content_type)
            update[name] = ImageRef(sha256=blob.sha256, content_type=content_type)
        async with kit.sessions() as db, db.begin():
            changed = await change_branding(db, update)
        if kit.looks is not None:
            kit.looks.replace(changed)
        return RedirectResponse(f"{PREFIX}/settings/branding?saved=1", status_code=303)

    @router.get("/branding.css", include_in_schema=False)
    async def branding_css(request: Request) -> Response:
        branding = current()
        fresh = request.query_params.get("v") == colour_of(branding)[1:]
        return Response(
            stylesheet(branding),
            media_type="text/css",
            headers={"Cache-Control": _YEAR if fresh else "no-cache"},
        )

    @router.get("/branding/{name}", include_in_schema=False)
    async def image(request: Request, name: str) -> Response:
        if name not in IMAGES:
            raise ConsoleError(status_code=404, detail="no such image")
        ref: ImageRef | None = getattr(current(), name)
        if ref is None or kit.blobs is None:
            raise ConsoleError(status_code=404, detail=f"no {name} is set")
        try:
            data = await kit.blobs.get(ref.sha256)
        except BlobNotFound as exc:
            raise ConsoleError(status_code=404, detail=f"the {name} file is missing") from exc
        fresh = request.query_params.get("v") == ref.sha256[:16]
        return Response(
            data,
            media_type=ref.content_type,
            headers={"Cache-Control": _YEAR if fresh else _SHORT},
        )

    return router
