"""The login page of the console and of the portal: the form (with its double-submit
CSRF cookie, since there is no session yet) and its POST.

A site describes itself with a ``LoginPage`` (its path prefix, its CSRF cookie, how to
render ``login.html``, how to sign in and set the session cookie) and routes GET and
POST ``<prefix>/login`` to ``page`` and ``submit``. Refusals (stale form, blank fields,
the sign-in's 401/429/503) show the form again with the reason and that status; success
redirects to ``next`` when it is a path of the same site.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, Request
from starlette.responses import RedirectResponse, Response

from ..form_fields import safe_next
from .security import CSRF_FIELD, new_login_token, same_token

MAX_LOGIN = 254
MAX_PASSWORD = 1024

# (request, context of login.html, status code) -> the rendered page
RenderLogin = Callable[[Request, dict[str, Any], int], Awaitable[Response]]
# (login, password) -> session token; refusals are HTTPExceptions
SignIn = Callable[[str, str], Awaitable[str]]
# (response, session token): set the site's session cookie
SetSession = Callable[[Response, str], None]


@dataclass(frozen=True)
class LoginPage:
    prefix: str  # "/console" or "/portal"
    csrf_cookie: str
    blank_message: str  # shown when the login or the password is empty
    secure_cookie: bool
    render: RenderLogin
    sign_in: SignIn
    set_session: SetSession

    async def page(
        self, request: Request, error: str | None = None, status_code: int = 200, login: str = ""
    ) -> Response:
        token = new_login_token()
        context = {
            "error": error,
            "login_csrf": token,
            "next": safe_next(request.query_params.get("next"), self.prefix),
            "login": login,
        }
        response = await self.render(request, context, status_code)
        response.set_cookie(
            self.csrf_cookie,
            token,
            max_age=3600,
            httponly=True,
            samesite="strict",
            secure=self.secure_cookie,
            path=f"{self.prefix}/login",
        )
        return response

    async def submit(self, request: Request) -> Response:
        form = await request.form()
        if not same_token(
            request.cookies.get(self.csrf_cookie, ""), str(form.get(CSRF_FIELD) or "")
        ):
            return await self.page(request, "The form expired: please try again.", 403)
        name = str(form.get("login") or "")[:MAX_LOGIN]
        password = str(form.get("password") or "")[:MAX_PASSWORD]
        if not name.strip() or not password:
            return await self.page(request, self.blank_message, 422, name)
        try:
            token = await self.sign_in(name, password)
        except HTTPException as exc:
            message = str(exc.detail).capitalize() + "."
            return await self.page(request, message, exc.status_code, name)
        next_page = safe_next(str(form.get("next") or ""), self.prefix)
        response = RedirectResponse(next_page, status_code=303)
        self.set_session(response, token)
        response.delete_cookie(self.csrf_cookie, path=f"{self.prefix}/login")
        return response
