"""The portal's session pages: login, logout, password change, and the static files
(the portal's CSS, the brand colour, the console's vendored htmx)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from starlette.responses import FileResponse, RedirectResponse, Response

from ..console.login_page import MAX_PASSWORD, LoginPage
from ..console.pages import STATIC as CONSOLE_STATIC
from ..portal_auth import clear_portal_cookie, portal_sign_in, set_portal_cookie
from ..portal_password import PasswordRefused, WrongPassword, change_password
from .forms import PREFIX
from .kit import PortalKit, Visitor
from .pages import STATIC
from .security import LOGIN_CSRF_COOKIE

_STATIC = {
    "portal.css": (STATIC / "portal.css", "text/css"),
    "htmx.min.js": (CONSOLE_STATIC / "htmx.min.js", "text/javascript"),
}


def session_router(kit: PortalKit) -> APIRouter:
    router = kit.router()

    # --- static files ---------------------------------------------------------------

    @router.get("/static/{name}")
    async def static(name: str) -> Response:
        if name not in _STATIC:
            raise HTTPException(status_code=404, detail="no such file")
        path, media_type = _STATIC[name]
        return FileResponse(
            path, media_type=media_type, headers={"Cache-Control": "public, max-age=300"}
        )

    @router.get("/brand.css")
    async def brand_css() -> Response:
        """The desk's main colour as a CSS variable (no inline styles under the CSP); the
        colour is checked as ``#rrggbb`` when an administrator sets it."""
        colour = (await kit.branding()).main_colour
        return Response(
            f":root {{ --brand: {colour}; }}\n",
            media_type="text/css",
            headers={"Cache-Control": "public, max-age=60"},
        )

    # --- login / logout -------------------------------------------------------------

    async def render(request: Request, context: dict[str, Any], status_code: int) -> Response:
        return await kit.page(request, "login.html", context, None, status_code)

    async def contact_sign_in(name: str, password: str) -> str:
        token, _ = await portal_sign_in(kit.sessions, kit.store, kit.guard, name, password)
        return token

    login_page = LoginPage(
        prefix=PREFIX,
        csrf_cookie=LOGIN_CSRF_COOKIE,
        blank_message="Enter your email and password.",
        secure_cookie=kit.settings.session_cookie_secure,
        render=render,
        sign_in=contact_sign_in,
        set_session=lambda response, token: set_portal_cookie(
            response, token, kit.settings, kit.store
        ),
    )

    @router.get("/login")
    async def login_form(request: Request) -> Response:
        return await login_page.page(request)

    @router.post("/login")
    async def login(request: Request) -> Response:
        return await login_page.submit(request)

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        visitor = await kit.logged_in(request)
        await kit.checked_form(request, visitor)
        await kit.store.revoke(visitor.token)
        response = RedirectResponse(f"{PREFIX}/login", status_code=303)
        clear_portal_cookie(response, kit.settings)
        return response

    # --- password change ------------------------------------------------------------

    async def password_page(
        request: Request,
        visitor: Visitor,
        error: str | None = None,
        status_code: int = 200,
    ) -> Response:
        context = {"error": error, "done": request.query_params.get("done")}
        return await kit.page(request, "password.html", context, visitor, status_code)

    @router.get("/password")
    async def password_form(request: Request) -> Response:
        return await password_page(request, await kit.logged_in(request))

    @router.post("/password")
    async def password(request: Request) -> Response:
        visitor = await kit.logged_in(request)
        form = await kit.checked_form(request, visitor)
        current = str(form.get("current") or "")[:MAX_PASSWORD]
        new = str(form.get("new") or "")[:MAX_PASSWORD]
        if new != str(form.get("repeat") or "")[:MAX_PASSWORD]:
            return await password_page(request, visitor, "The new passwords differ.", 422)
        login = visitor.user.email
        locked = await kit.guard.locked_for(login)
        if locked:
            message = f"Too many failed attempts: try again in {max(1, locked // 60)} minute(s)."
            return await password_page(request, visitor, message, 429)
        try:
            async with kit.sessions() as db, db.begin():
                await change_password(db, visitor.user.contact_id, current, new, datetime.now(UTC))
        except PasswordRefused as exc:
            if isinstance(exc, WrongPassword):
                await kit.guard.failed(login)  # no guessing through this form either
            return await password_page(request, visitor, str(exc).capitalize() + ".", 422)
        # Every other session of the contact ends; this browser gets a fresh one.
        await kit.store.revoke_agent(visitor.user.contact_id)
        token, _ = await kit.store.create(visitor.user.contact_id, visitor.user.access)
        response = RedirectResponse(f"{PREFIX}/password?done=changed", status_code=303)
        set_portal_cookie(response, token, kit.settings, kit.store)
        return response

    return router
