"""outbox rows announce themselves: ``NOTIFY helpdesk_outbox`` once per inserting statement

A relay in another process (``TICKET_CORE_RUN_INBOUND`` / ``TICKET_CORE_RUN_BACKGROUND``
split the work of ticket-core over processes) listens and publishes the rows as soon as
the transaction that wrote them commits (a notification is delivered at commit, never
for a rolled-back transaction). One notification per statement, not per row; PostgreSQL
folds identical notifications of one transaction into one.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-27 05:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('helpdesk_outbox', '');
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER outbox_notify AFTER INSERT ON outbox "
        "FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER outbox_notify ON outbox")
    op.execute("DROP FUNCTION outbox_notify()")
