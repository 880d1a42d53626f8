"""What an agent may attach to a reply (the REST upload and the console's reply box apply
the same rules). Pure.

- Size: at most ``TICKET_CORE_MAX_UPLOAD_BYTES`` (413); an empty file is 422.
- Type (415): programs and scripts are refused, by name (``.exe``, ``.bat``, ``.js``,
  ``.ps1``...) and by content (Windows ``MZ`` and ELF executables), since mail gateways
  drop them and a customer should never receive one from the desk.
- The name loses path separators and control characters (at most 255 characters); the
  content type must look like ``type/subtype``, else ``application/octet-stream``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_FILES_PER_REPLY = 10
FORBIDDEN_EXTENSIONS = frozenset(
    {
        "exe", "com", "scr", "pif", "bat", "cmd", "msi", "msp", "dll", "cpl", "jar",
        "js", "jse", "vbs", "vbe", "wsf", "wsh", "ps1", "hta", "lnk", "reg", "sh",
    }
)  # fmt: skip
_EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF")
_CONTENT_TYPE = re.compile(
    r"^[a-zA-Z0-9][a-zA-Z0-9!#$&^_.+-]{0,126}/[a-zA-Z0-9][a-zA-Z0-9!#$&^_.+-]{0,126}$"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class UploadRefused(ValueError):
    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


@dataclass(frozen=True)
class CheckedFile:
    filename: str
    content_type: str


def safe_name(raw: str | None) -> str:
    name = _CONTROL.sub("", (raw or "").replace("/", "_").replace("\\", "_")).strip()
    return name[:255] or "file"


def check(filename: str | None, content_type: str | None, data: bytes, limit: int) -> CheckedFile:
    name = safe_name(filename)
    if len(data) > limit:
        raise UploadRefused(413, f"{name}: the file is larger than {limit} bytes")
    if not data:
        raise UploadRefused(422, f"{name}: the file is empty")
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension in FORBIDDEN_EXTENSIONS or data.startswith(_EXECUTABLE_MAGIC):
        raise UploadRefused(415, f"{name}: programs and scripts cannot be attached")
    declared = (content_type or "").split(";")[0].strip()
    kind = declared if _CONTENT_TYPE.match(declared) else "application/octet-stream"
    return CheckedFile(name, kind)
