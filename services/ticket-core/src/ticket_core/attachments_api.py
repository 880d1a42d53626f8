"""Files agents attach to replies: upload into the blob store, download from a ticket.

``POST /api/v1/attachments`` (multipart, field ``file``) stores the bytes in the
content-addressed blob store (the same one the channels write inbound media to) and
returns the reference a reply names in ``attachments``. A file over
``TICKET_CORE_MAX_UPLOAD_BYTES`` is refused with 413 before it is stored, programs and
scripts with 415 (``attachment_rules``, the console's reply box applies the same).

``GET /api/v1/tickets/{id}/attachments/{sha256}`` serves a file only if a message of that
ticket carries it, always as a download (``Content-Disposition: attachment``, ``nosniff``)
so that an HTML or SVG file a customer sent cannot run script in the console's origin.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, HTTPException, Path, UploadFile
from fastapi.responses import Response
from helpdesk_common.blobstore import BlobNotFound, BlobStore
from helpdesk_common.records import AttachmentRef, BlobRef
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from . import attachment_rules
from . import repository as repo
from .api_common import bearer_auth, not_found
from .settings import TicketCoreSettings

Sha256Path = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]
_CHUNK = 64 * 1024


class AttachmentIn(BaseModel):
    """A file to send with a reply: an uploaded blob and the name it goes out under."""

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    filename: str = Field(min_length=1, max_length=255)
    content_type: str = Field(default="application/octet-stream", max_length=255)


class AttachmentOut(AttachmentIn):
    size: int


async def _read_capped(upload: UploadFile, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := await upload.read(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise HTTPException(status_code=413, detail=f"the file is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def attachments_router(
    settings: TicketCoreSettings, sessions: async_sessionmaker[AsyncSession], blobs: BlobStore
) -> APIRouter:
    router = APIRouter(
        prefix="/api/v1", tags=["attachments"], dependencies=[Depends(bearer_auth(settings))]
    )

    @router.post("/attachments", response_model=AttachmentOut, status_code=201)
    async def upload(file: Annotated[UploadFile, File()]) -> AttachmentOut:
        data = await _read_capped(file, settings.max_upload_bytes)
        try:
            checked = attachment_rules.check(
                file.filename, file.content_type, data, settings.max_upload_bytes
            )
        except attachment_rules.UploadRefused as exc:
            raise HTTPException(status_code=exc.status_code, detail=exc.detail) from exc
        blob = await blobs.put(data, checked.content_type)
        return AttachmentOut(
            sha256=blob.sha256,
            filename=checked.filename,
            content_type=checked.content_type,
            size=len(data),
        )

    @router.get("/tickets/{ticket_id}/attachments/{sha256}")
    async def download(ticket_id: int, sha256: Sha256Path) -> Response:
        m = repo.messages
        async with sessions() as session:
            carried = await session.scalar(
                select(m.c.attachments)
                .where(m.c.ticket_id == ticket_id)
                .where(m.c.attachments.contains([{"blob": {"sha256": sha256}}]))
                .limit(1)
            )
        found = next(
            (a for a in carried or [] if (a.get("blob") or {}).get("sha256") == sha256), None
        )
        if found is None:
            not_found("attachment", sha256)
        try:
            data = await blobs.get(sha256)
        except BlobNotFound:
            not_found("attachment", sha256)
        filename = str(found.get("filename") or "file")
        return Response(
            content=data,
            media_type="application/octet-stream",
            headers={
                "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
                "X-Content-Type-Options": "nosniff",
                "X-Original-Content-Type": str(found.get("content_type") or ""),
            },
        )

    return router


async def verified(blobs: BlobStore, attachments: list[AttachmentIn]) -> list[AttachmentRef]:
    """The references of a reply's attachments; each must have been uploaded (422)."""
    refs = []
    for item in attachments:
        try:
            size = len(await blobs.get(item.sha256))
        except BlobNotFound:
            raise HTTPException(
                status_code=422, detail=f"attachment {item.filename!r} was not uploaded"
            ) from None
        blob = BlobRef(sha256=item.sha256, size=size, content_type=item.content_type)
        refs.append(
            AttachmentRef(
                filename=item.filename, content_type=item.content_type, size=size, blob=blob
            )
        )
    return refs
