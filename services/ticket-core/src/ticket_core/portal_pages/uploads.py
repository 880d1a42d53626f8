"""Files a contact attaches to a message in the portal: into the blob store, within the
limits (at most ``MAX_FILES`` files, each at most ``TICKET_CORE_MAX_UPLOAD_BYTES``, the
agents' upload limit), as the ``AttachmentRef``s the message carries through ingestion.
And the one file of a ticket's public thread a contact may download."""

from __future__ import annotations

from typing import Any

from helpdesk_common.blobstore import BlobStore
from helpdesk_common.records import AttachmentRef
from starlette.datastructures import FormData, UploadFile

from ..console import views
from .forms import PortalError

FIELD = "files"
MAX_FILES = 5
_CHUNK = 64 * 1024


def _name(raw: str | None) -> str:
    name = (raw or "file").replace("/", "_").replace("\\", "_").strip()[:255]
    return name or "file"


async def _read_capped(upload: UploadFile, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := await upload.read(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise PortalError(
                status_code=413,
                detail=f"{_name(upload.filename)} is larger than {limit // 1024} KB",
            )
        chunks.append(chunk)
    return b"".join(chunks)


def chosen(form: FormData) -> list[UploadFile]:
    """The files picked in the form (an empty file input sends a nameless empty part)."""
    return [f for f in form.getlist(FIELD) if isinstance(f, UploadFile) and f.filename]


async def store(form: FormData, blobs: BlobStore, limit: int) -> list[AttachmentRef]:
    """Check every chosen file first (count, size, not empty), then store them."""
    files = chosen(form)
    if len(files) > MAX_FILES:
        raise PortalError(status_code=422, detail=f"attach at most {MAX_FILES} files")
    contents = []
    for upload in files:
        data = await _read_capped(upload, limit)
        if not data:
            raise PortalError(status_code=422, detail=f"{_name(upload.filename)} is empty")
        contents.append((upload, data))
    refs = []
    for upload, data in contents:
        content_type = (upload.content_type or "application/octet-stream")[:255]
        blob = await blobs.put(data, content_type)
        refs.append(
            AttachmentRef(
                filename=_name(upload.filename),
                content_type=content_type,
                size=len(data),
                blob=blob,
            )
        )
    return refs


def find_file(messages: list[dict[str, Any]], sha256: str) -> dict[str, Any] | None:
    """The attachment with this blob on one of the (public) messages given, if any."""
    for message in messages:
        for item in message.get("attachments") or []:
            blob = item.get("blob") or {}
            if isinstance(blob, dict) and blob.get("sha256") == sha256:
                return dict(item)
    return None


def file_links(ticket_id: int, attachments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A message's files with the portal's download paths (stored ones only)."""
    return views.file_links(attachments or [], f"/portal/tickets/{ticket_id}/files/")
