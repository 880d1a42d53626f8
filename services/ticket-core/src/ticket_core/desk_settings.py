"""Desk-wide settings, pure models: branding (colour, titles, logo, favicon), the desk's
timezone, and what portal users may choose. Stored as one JSON document per section in
``desk_settings`` (``desk_settings_repo``); a section never written reads as its defaults.
"""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

Section = Literal["branding", "desk", "portal"]


class ImageRef(BaseModel):
    """An image in the blob store."""

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    content_type: str


class Branding(BaseModel):
    model_config = ConfigDict(extra="forbid")

    main_colour: str = Field(default="#1f6feb", pattern=r"^#[0-9a-fA-F]{6}$")
    console_title: str = Field(default="Help desk", min_length=1, max_length=120)
    portal_title: str = Field(default="Support portal", min_length=1, max_length=120)
    logo: ImageRef | None = None
    favicon: ImageRef | None = None


class BrandingIn(BaseModel):
    """What an administrator edits as text (images are uploaded on their own)."""

    model_config = ConfigDict(extra="forbid")

    main_colour: str | None = Field(default=None, pattern=r"^#[0-9a-fA-F]{6}$")
    console_title: str | None = Field(default=None, min_length=1, max_length=120)
    portal_title: str | None = Field(default=None, min_length=1, max_length=120)


class DeskOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timezone: str = Field(default="UTC", description="IANA name: 'today' on the dashboard.")

    @field_validator("timezone")
    @classmethod
    def _known(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value


class PortalOptions(BaseModel):
    """Which ticket types and priorities a contact may pick when creating a ticket in the
    portal (empty: none, the defaults apply). Internal types are never allowed."""

    model_config = ConfigDict(extra="forbid")

    type_ids: list[int] = Field(default_factory=list, max_length=100)
    priority_ids: list[int] = Field(default_factory=list, max_length=100)


SECTIONS: dict[str, type[BaseModel]] = {
    "branding": Branding,
    "desk": DeskOptions,
    "portal": PortalOptions,
}

# Image uploads for branding: checked by their first bytes, not by the client's word.
IMAGE_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"\x00\x00\x01\x00", "image/x-icon"),
)
MAX_IMAGE_BYTES = 1024 * 1024


def sniff_image(data: bytes) -> str | None:
    """The image type of ``data`` (PNG, JPEG, GIF, ICO, WebP), or None."""
    for signature, content_type in IMAGE_SIGNATURES:
        if data.startswith(signature):
            return content_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


class ImageRefused(ValueError):
    """A branding image refused: 413 too large, 415 not one of the image types."""

    def __init__(self, status_code: int, detail: str) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail


def checked_image(data: bytes) -> str:
    """The content type of a branding image, taken from its bytes (never the client's
    word); SVG and everything else that is not PNG, JPEG, GIF, ICO or WebP is refused."""
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageRefused(413, f"the file is larger than {MAX_IMAGE_BYTES} bytes")
    content_type = sniff_image(data)
    if content_type is None:
        raise ImageRefused(415, "the image must be PNG, JPEG, GIF, ICO or WebP")
    return content_type
