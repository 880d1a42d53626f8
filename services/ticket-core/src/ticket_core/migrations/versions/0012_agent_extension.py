"""agent phone extension: the PBX extension on the agent profile

``agents.phone_extension`` (digits, 2-16, unique where set): telephony pushes a call
ringing on that extension to the agent, and click-to-call rings it first.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26 20:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("agents", sa.Column("phone_extension", sa.Text(), nullable=True))
    op.create_unique_constraint("agents_phone_extension_key", "agents", ["phone_extension"])


def downgrade() -> None:
    op.drop_constraint("agents_phone_extension_key", "agents", type_="unique")
    op.drop_column("agents", "phone_extension")
