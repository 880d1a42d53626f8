"""The session cookie of agents (``helpdesk_session``) and of portal contacts
(``helpdesk_portal_session``): HttpOnly, SameSite=Lax, path ``/``, with the deployment's
``Secure`` flag and domain (``TICKET_CORE_SESSION_COOKIE_SECURE``/``_DOMAIN``)."""

from __future__ import annotations

from fastapi import Response

from .settings import TicketCoreSettings


def set_cookie(
    response: Response, name: str, token: str, max_age: int, settings: TicketCoreSettings
) -> None:
    response.set_cookie(
        name,
        token,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=settings.session_cookie_secure,
        domain=settings.session_cookie_domain,
        path="/",
    )


def clear_cookie(response: Response, name: str, settings: TicketCoreSettings) -> None:
    response.delete_cookie(
        name,
        path="/",
        domain=settings.session_cookie_domain,
        secure=settings.session_cookie_secure,
        httponly=True,
        samesite="lax",
    )
