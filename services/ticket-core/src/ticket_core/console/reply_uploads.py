"""Files attached in the ticket page's reply box (multipart field ``files``): checked with
the REST upload's rules (``attachment_rules``: size limit 413, programs and scripts 415,
empty 422, at most ``MAX_FILES_PER_REPLY``), then stored in the blob store and returned as
the reply's ``AttachmentRef``s, so they travel with the ``OutboundMessage`` as the API's
attachments do (email attachments, messenger media, MMS or links on SMS).

Every file is checked before any is stored: a refused file stores nothing.
"""

from __future__ import annotations

from helpdesk_common.blobstore import BlobStore
from helpdesk_common.records import AttachmentRef
from starlette.datastructures import FormData, UploadFile

from ..attachment_rules import MAX_FILES_PER_REPLY, UploadRefused, check

FIELD = "files"
_CHUNK = 64 * 1024


async def read_capped(upload: UploadFile, limit: int) -> bytes:
    """The bytes, reading at most one chunk past ``limit`` (``check`` then refuses it)."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await upload.read(_CHUNK):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    return b"".join(chunks)


def chosen(form: FormData) -> list[UploadFile]:
    """The files picked (an empty file input still sends one nameless, empty part)."""
    return [
        value
        for value in form.getlist(FIELD)
        if isinstance(value, UploadFile) and (value.filename or value.size)
    ]


async def stored_files(
    form: FormData, blobs: BlobStore | None, limit: int
) -> tuple[AttachmentRef, ...]:
    uploads = chosen(form)
    if not uploads:
        return ()
    if len(uploads) > MAX_FILES_PER_REPLY:
        raise UploadRefused(422, f"at most {MAX_FILES_PER_REPLY} files per reply")
    if blobs is None:
        raise UploadRefused(503, "file uploads are not available")
    checked = []
    for upload in uploads:
        data = await read_capped(upload, limit)
        checked.append((check(upload.filename, upload.content_type, data, limit), data))
    refs = []
    for file, data in checked:
        blob = await blobs.put(data, file.content_type)
        refs.append(
            AttachmentRef(
                filename=file.filename, content_type=file.content_type, size=blob.size, blob=blob
            )
        )
    return tuple(refs)
