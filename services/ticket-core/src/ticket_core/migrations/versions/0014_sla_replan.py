"""sla re-planning: planned times set by hand are marked

``tickets.reaction_due_manual`` / ``tickets.resolution_due_manual``: true once an agent set
(or cleared) that planned time by hand. Re-planning after a change of priority, type or
company (``sla_replan.py``) keeps such a time. Existing hand-set times are found in the
audit trail: a ``reaction_due_at`` row by an agent (before this revision only a hand-set
time wrote one), a ``resolution_due_at`` row by an agent without a status row of the same
change (a resume after Pending writes it with the status change).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-26 22:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for column in ("reaction_due_manual", "resolution_due_manual"):
        op.add_column(
            "tickets",
            sa.Column(column, sa.Boolean(), server_default="false", nullable=False),
        )
    op.execute(
        """
        UPDATE tickets SET reaction_due_manual = true
        WHERE id IN (SELECT ticket_id FROM ticket_audit
                     WHERE field = 'reaction_due_at' AND actor = 'agent')
        """
    )
    op.execute(
        """
        UPDATE tickets SET resolution_due_manual = true
        WHERE id IN (
            SELECT a.ticket_id FROM ticket_audit a
            WHERE a.field = 'resolution_due_at' AND a.actor = 'agent'
              AND NOT EXISTS (
                  SELECT 1 FROM ticket_audit s
                  WHERE s.ticket_id = a.ticket_id AND s.field = 'status'
                    AND s.created_at = a.created_at))
        """
    )


def downgrade() -> None:
    op.drop_column("tickets", "resolution_due_manual")
    op.drop_column("tickets", "reaction_due_manual")
