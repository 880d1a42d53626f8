"""Building the portal's pages: Jinja2 (autoescape on, its own templates) and the context
every page gets (the contact, the CSRF token, the desk's branding)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from starlette.responses import Response

from ..console import views
from .forms import CUSTOMER_STATUS

HERE = Path(__file__).parent
STATIC = HERE / "static"


def _when(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader([HERE / "templates", HERE.parent / "shared_templates"]),
        autoescape=True,  # every {{ }} is escaped; message HTML goes through |safe_html
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["safe_html"] = lambda html: Markup(views.safe_html(html or ""))
    env.filters["size"] = views.size_text
    env.filters["when"] = _when
    env.filters["customer_status"] = lambda status: CUSTOMER_STATUS.get(str(status), str(status))
    env.globals["RATINGS"] = views.RATINGS
    env.globals["CUSTOMER_STATUS"] = CUSTOMER_STATUS
    return env


TEMPLATES = Jinja2Templates(env=_environment())


def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    return TEMPLATES.TemplateResponse(request, name, context, status_code=status_code)
