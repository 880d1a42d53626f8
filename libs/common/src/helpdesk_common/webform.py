"""The web-form submission: validated by the gateway, normalised by messenger-ingest."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_FIELD_LENGTH = 20_000
MAX_EXTRA_FIELDS = 50


class WebformSubmission(BaseModel):
    """Known fields plus any extra ones (kept as strings in ``extra``)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(default="", max_length=256)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=32)
    subject: str = Field(default="", max_length=998)
    text: str = Field(min_length=1, max_length=MAX_FIELD_LENGTH)
    extra: dict[str, str] = Field(default_factory=dict)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not _EMAIL.match(value):
            raise ValueError("not an email address")
        return value.lower()

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if not value:
            return None
        digits = re.sub(r"[\s()\-.]", "", value)
        if not re.fullmatch(r"\+?\d{5,20}", digits):
            raise ValueError("not a phone number")
        return digits

    @model_validator(mode="after")
    def _reachable(self) -> WebformSubmission:
        if not self.email and not self.phone:
            raise ValueError("an email or a phone number is required")
        return self

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> WebformSubmission:
        """Split posted fields into the known ones and the extra ones."""
        known = {k: fields[k] for k in ("name", "email", "phone", "subject", "text") if k in fields}
        extra = {
            str(k)[:128]: _as_text(v)
            for k, v in fields.items()
            if k not in known and v not in (None, "")
        }
        if len(extra) > MAX_EXTRA_FIELDS:
            raise ValueError(f"at most {MAX_EXTRA_FIELDS} extra fields")
        return cls.model_validate({**known, "extra": extra})


def _as_text(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    if len(text) > MAX_FIELD_LENGTH:
        raise ValueError("field too long")
    return text
