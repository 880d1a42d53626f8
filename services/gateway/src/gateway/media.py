"""``GET /media/<sha256>/<file name>?exp=&sig=``: blobs behind expiring signed links.

Viber fetches reply pictures and files by URL; the notifier signs links to blobs with
``MEDIA_LINK_KEY`` and this endpoint serves them (404 for anything else, no listing).
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response
from helpdesk_common.blobstore import BlobNotFound, BlobStore
from helpdesk_common.media_links import PATH_PREFIX, MediaLinks


def media_router(links: MediaLinks, blobs: BlobStore) -> APIRouter:
    router = APIRouter(prefix=PATH_PREFIX, tags=["media"])

    @router.get("/{sha256}/{filename}")
    async def media(sha256: str, filename: str, exp: int = 0, sig: str = "") -> Response:
        if not links.valid(sha256, filename, exp, sig):
            raise HTTPException(status_code=404, detail="not found")
        try:
            data = await blobs.get(sha256)
        except (BlobNotFound, ValueError) as exc:
            raise HTTPException(status_code=404, detail="not found") from exc
        return Response(
            data,
            media_type="application/octet-stream",
            headers={"Content-Disposition": "attachment", "Cache-Control": "private"},
        )

    return router
