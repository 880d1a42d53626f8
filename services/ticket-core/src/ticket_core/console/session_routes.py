"""The console's session pages: login, logout, and the static files (CSS, JS, htmx)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import FileResponse, RedirectResponse, Response

from ..auth_api import clear_session_cookie, set_session_cookie, sign_in
from ..login_guard import LoginGuard
from .forms import PREFIX, ConsoleError
from .kit import ConsoleKit
from .login_page import LoginPage
from .pages import STATIC
from .security import LOGIN_CSRF_COOKIE

_STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


def session_router(kit: ConsoleKit, guard: LoginGuard) -> APIRouter:
    router = kit.router()

    # --- static files ---------------------------------------------------------------

    names = {p.name for p in STATIC.iterdir() if p.suffix in _STATIC_TYPES}

    @router.get("/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        if name not in names:
            raise ConsoleError(status_code=404, detail="no such file")
        path = STATIC / name
        return FileResponse(
            path,
            media_type=_STATIC_TYPES[path.suffix],
            headers={"Cache-Control": "public, max-age=300"},
        )

    # --- login ----------------------------------------------------------------------

    async def render(request: Request, context: dict[str, Any], status_code: int) -> Response:
        return kit.page(request, "login.html", context, None, status_code)

    async def agent_sign_in(name: str, password: str) -> str:
        token, _ = await sign_in(kit.sessions, kit.access.store, guard, name, password)
        return token

    login_page = LoginPage(
        prefix=PREFIX,
        csrf_cookie=LOGIN_CSRF_COOKIE,
        blank_message="Enter your login and password.",
        secure_cookie=kit.settings.session_cookie_secure,
        render=render,
        sign_in=agent_sign_in,
        set_session=lambda response, token: set_session_cookie(response, token, kit.settings),
    )

    @router.get("/login", include_in_schema=False)
    async def login_form(request: Request) -> Response:
        return await login_page.page(request)

    @router.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        return await login_page.submit(request)

    @router.post("/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        agent = await kit.logged_in(request)
        await kit.checked_form(request, agent)
        assert agent.principal.session is not None
        await kit.access.store.revoke(request.cookies.get("helpdesk_session", ""))
        response = RedirectResponse(f"{PREFIX}/login", status_code=303)
        clear_session_cookie(response, kit.settings)
        return response

    return router
