"""agent auth: logins and password hashes on agents, the agent author of a message

Agents get an optional login (lower-case, unique; they can also log in with their email),
an argon2id password hash and when it was last set. Messages written by an agent (replies
and internal notes) record that agent, so a specialist sees the tickets they wrote on.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 20:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("agents", sa.Column("login", sa.Text(), nullable=True))
    op.add_column("agents", sa.Column("password_hash", sa.Text(), nullable=True))
    op.add_column(
        "agents", sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_unique_constraint("agents_login_key", "agents", ["login"])
    op.add_column("messages", sa.Column("author_agent_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        "fk_messages_author_agent_id", "messages", "agents", ["author_agent_id"], ["id"]
    )
    op.create_index("ix_messages_author_agent_id", "messages", ["author_agent_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_messages_author_agent_id", table_name="messages")
    op.drop_constraint("fk_messages_author_agent_id", "messages", type_="foreignkey")
    op.drop_column("messages", "author_agent_id")
    op.drop_constraint("agents_login_key", "agents", type_="unique")
    op.drop_column("agents", "password_changed_at")
    op.drop_column("agents", "password_hash")
    op.drop_column("agents", "login")
