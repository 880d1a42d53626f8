"""Building the portal's pages: Jinja2 (autoescape on, its own templates) and the context
every page gets (the contact, the CSRF token, the desk's branding)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment
from starlette.responses import Response

from ..console.pages import page_environment
from .forms import CUSTOMER_STATUS

HERE = Path(__file__).parent
STATIC = HERE / "static"


def _environment() -> Environment:
    env = page_environment(HERE / "templates")
    env.filters["customer_status"] = lambda status: CUSTOMER_STATUS.get(str(status), str(status))
    env.globals["CUSTOMER_STATUS"] = CUSTOMER_STATUS
    return env


TEMPLATES = Jinja2Templates(env=_environment())


def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    return TEMPLATES.TemplateResponse(request, name, context, status_code=status_code)
