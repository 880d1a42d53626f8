"""The route class shared by the server-rendered pages (the agent console, the portal).

Every response gets the security headers; a request without a live session is sent to the
login page under ``prefix`` (HTMX requests get ``HX-Redirect``); a malformed request, an
``HTTPException`` and an unexpected error are rendered by the caller's ``error_page``,
never a bare 500.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from helpdesk_common.logs import get_logger
from starlette.responses import RedirectResponse, Response

log = get_logger(__name__)

ErrorPage = Callable[[Request, int, str], Awaitable[Response]]


def login_redirect(request: Request, prefix: str) -> Response:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    location = f"{prefix}/login?" + urlencode({"next": target})
    if request.headers.get("hx-request"):
        return Response(status_code=200, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


def page_route_class(
    *,
    prefix: str,
    headers: Mapping[str, str],
    not_logged_in: type[Exception],
    error_page: ErrorPage,
    before: Callable[[], Awaitable[None]] | None = None,
) -> type[APIRoute]:
    """A route class for the pages under ``prefix``; ``before`` runs ahead of each request
    (the console refreshes its cached branding there)."""

    class PageRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            original = super().get_route_handler()

            async def handler(request: Request) -> Response:
                try:
                    if before is not None:
                        await before()
                    response = await original(request)
                except not_logged_in:
                    response = login_redirect(request, prefix)
                except RequestValidationError:
                    response = await error_page(request, 422, "the request is malformed")
                except HTTPException as exc:
                    response = await error_page(request, exc.status_code, str(exc.detail))
                except Exception:
                    log.exception("page_failed", path=request.url.path)
                    response = await error_page(request, 500, "something went wrong on our side")
                for name, value in headers.items():
                    if name == "Cache-Control":
                        response.headers.setdefault(name, value)  # static files cache
                    else:
                        response.headers[name] = value
                return response

            return handler

    return PageRoute
