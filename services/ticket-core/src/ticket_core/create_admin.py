"""``python -m ticket_core.create_admin EMAIL [NAME]``: the first administrator of a desk.

Creates the agent (or makes an existing one an active administrator) and sets the
password read from standard input (one line; never from the command line, where other
users of the machine could see it). Run once after the migrations; later agents are made
through the API by this administrator. Exit status 2 on a weak password or bad address.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime

from sqlalchemy.dialects.postgresql import insert

from .db import make_engine
from .models_org import agents
from .passwords import WeakPassword, check_policy, hash_password
from .settings import TicketCoreSettings


async def ensure_admin(settings: TicketCoreSettings, email: str, name: str, password: str) -> int:
    """The administrator's id; its password is (re)set."""
    values = {
        "email": email.strip().lower(),
        "name": name,
        "role": "administrator",
        "active": True,
        "password_hash": hash_password(password),
        "password_changed_at": datetime.now(UTC),
    }
    engine = make_engine(settings)
    try:
        async with engine.begin() as conn:
            statement = insert(agents).values(**values)
            statement = statement.on_conflict_do_update(
                constraint="uq_agents_email",
                set_={k: statement.excluded[k] for k in values if k not in ("email", "name")},
            )
            agent_id = await conn.scalar(statement.returning(agents.c.id))
    finally:
        await engine.dispose()
    return int(agent_id)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or "@" not in args[0]:
        print("usage: python -m ticket_core.create_admin EMAIL [NAME] < password", file=sys.stderr)
        return 2
    email, name = args[0], (args[1] if len(args) > 1 else "Administrator")
    password = sys.stdin.readline().rstrip("\n")
    try:
        check_policy(password)
    except WeakPassword as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    agent_id = asyncio.run(ensure_admin(TicketCoreSettings(), email, name, password))
    print(f"administrator {email.strip().lower()} (agent {agent_id}) can log in")
    return 0


if __name__ == "__main__":
    sys.exit(main())
