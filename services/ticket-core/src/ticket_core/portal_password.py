"""A contact changes their own portal password: the current one must be right, the new
one follows the agents' policy (``passwords.check_policy``: 8+ characters), is stored as
argon2id and ``password_changed_at`` moves. Ending the contact's other sessions is the
caller's job (it holds the session store)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from . import passwords
from . import portal_repo as repo


class PasswordRefused(ValueError):
    """The current password is wrong, or the new one is not acceptable (422)."""


class WrongPassword(PasswordRefused):
    """The current password is wrong (counts as a failed login for the lockout)."""


async def change_password(
    session: AsyncSession, contact_id: int, current: str, new: str, now: datetime
) -> None:
    account = await repo.account_of(session, contact_id)
    if account is None or not account["active"]:
        raise PasswordRefused("portal access has been withdrawn")
    if not await passwords.verify_password_async(account["password_hash"], current):
        raise WrongPassword("the current password is wrong")
    if new == current:
        raise PasswordRefused("the new password must differ from the current one")
    try:
        hashed = await passwords.hash_password_async(new)
    except passwords.WeakPassword as exc:
        raise PasswordRefused(str(exc)) from exc
    await repo.save_account(
        session,
        contact_id,
        str(account["login"]),
        {"password_hash": hashed, "password_changed_at": now},
        exists=True,
    )
