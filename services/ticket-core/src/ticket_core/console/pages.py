"""Building the console's pages: Jinja2 (autoescape on) and the context every page gets."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from starlette.responses import Response

from ..desk_settings import Branding
from . import views
from .branding_view import brand
from .console_auth import ConsoleAgent

HERE = Path(__file__).parent
STATIC = HERE / "static"


def page_environment(templates: Path) -> Environment:
    """Jinja2 as the console's and the portal's pages share it: ``templates`` then the
    shared templates, autoescape on (message HTML only through ``|safe_html``), the
    filters ``safe_html``, ``size`` and ``when``, the ``RATINGS`` global."""
    env = Environment(
        loader=FileSystemLoader([templates, HERE.parent / "shared_templates"]),
        autoescape=True,  # every {{ }} is escaped; customer HTML goes through |safe_html
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["safe_html"] = lambda html: Markup(views.safe_html(html or ""))
    env.filters["size"] = views.size_text
    env.filters["when"] = _when
    env.globals["RATINGS"] = views.RATINGS
    return env


def _environment() -> Environment:
    env = page_environment(HERE / "templates")
    env.filters["channel_label"] = views.channel_label
    env.filters["channel_icon"] = views.channel_icon
    env.filters["iso"] = lambda d: d.astimezone(UTC).isoformat() if d else ""
    env.globals["KINDS"] = views.KINDS
    return env


def _when(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


TEMPLATES = Jinja2Templates(env=_environment())


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    agent: ConsoleAgent | None,
    push_url: str | None,
    status_code: int = 200,
    branding: Branding | None = None,
) -> Response:
    base = {
        "agent": agent,
        "push_url": push_url or "",
        "now": datetime.now(UTC),
        "brand": brand(branding or Branding()),
    }
    return TEMPLATES.TemplateResponse(request, name, {**base, **context}, status_code=status_code)
