"""The console's session pages: login, logout, and the static files (CSS, JS, htmx)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from starlette.responses import FileResponse, RedirectResponse, Response

from ..auth_api import clear_session_cookie, set_session_cookie, sign_in
from ..login_guard import LoginGuard
from .forms import PREFIX, ConsoleError, safe_next
from .kit import ConsoleKit
from .pages import STATIC
from .security import CSRF_FIELD, LOGIN_CSRF_COOKIE, new_login_token, same_token

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

    def login_page(
        request: Request, error: str | None = None, status_code: int = 200, login: str = ""
    ) -> Response:
        token = new_login_token()
        response = kit.page(
            request,
            "login.html",
            {
                "error": error,
                "login_csrf": token,
                "next": safe_next(request.query_params.get("next")),
                "login": login,
            },
            None,
            status_code,
        )
        response.set_cookie(
            LOGIN_CSRF_COOKIE,
            token,
            max_age=3600,
            httponly=True,
            samesite="strict",
            secure=kit.settings.session_cookie_secure,
            path=f"{PREFIX}/login",
        )
        return response

    @router.get("/login", include_in_schema=False)
    async def login_form(request: Request) -> Response:
        return login_page(request)

    @router.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        form = await request.form()
        if not same_token(
            request.cookies.get(LOGIN_CSRF_COOKIE, ""), str(form.get(CSRF_FIELD) or "")
        ):
            return login_page(request, "The form expired: please try again.", 403)
        name = str(form.get("login") or "")[:254]
        password = str(form.get("password") or "")[:1024]
        if not name.strip() or not password:
            return login_page(request, "Enter your login and password.", 422, name)
        try:
            token, _ = await sign_in(kit.sessions, kit.access.store, guard, name, password)
        except HTTPException as exc:
            return login_page(request, str(exc.detail).capitalize() + ".", exc.status_code, name)
        response = RedirectResponse(safe_next(str(form.get("next") or "")), status_code=303)
        set_session_cookie(response, token, kit.settings)
        response.delete_cookie(LOGIN_CSRF_COOKIE, path=f"{PREFIX}/login")
        return response

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
