"""A login name and password checked under the lockout (``LoginGuard``): the part of
signing in that agents (``auth_api.sign_in``) and portal contacts
(``portal_auth.portal_sign_in``) share; each then opens its own kind of session.

The name is stripped and lower-cased. Refusals are ``HTTPException``s: 503 when Redis
is down, 429 while the name is locked (with ``Retry-After``, even for the right
password), 401 for an unknown name, a wrong password or an inactive account (each
counts as a failure toward the lockout). The password is hashed even for an unknown
name, so timing says nothing about which names exist.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from fastapi import HTTPException
from redis.exceptions import RedisError

from . import passwords
from .login_guard import LoginGuard

T = TypeVar("T")


@dataclass(frozen=True)
class Account(Generic[T]):
    """What a sign-in found for a name: its row, password hash and whether it is active."""

    row: T
    password_hash: str | None
    active: bool


async def checked_login(
    guard: LoginGuard,
    login: str,
    password: str,
    find: Callable[[str], Awaitable[Account[T] | None]],
    *,
    log: Any,
    failed_event: str,
) -> T:
    """The row of the account ``find`` gives for the normalised ``login`` once the
    password matches; a failure is logged as ``failed_event`` on ``log`` (the caller's
    logger) and refused (module docstring)."""
    name = login.strip().lower()
    try:
        locked = await guard.locked_for(name)
    except RedisError as exc:
        raise HTTPException(503, "the session store is unavailable") from exc
    if locked:
        raise HTTPException(
            status_code=429,
            detail=f"too many failed logins: try again in {max(1, locked // 60)} minute(s)",
            headers={"Retry-After": str(locked)},
        )
    account = await find(name)
    stored = account.password_hash if account is not None else None
    ok = await passwords.verify_password_async(stored, password)
    if not ok or account is None or not account.active:
        locked_now = await guard.failed(name)
        log.info(failed_event, locked=locked_now)
        raise HTTPException(status_code=401, detail="wrong login or password")
    await guard.succeeded(name)
    return account.row
