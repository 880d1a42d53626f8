"""outbox payloads are stored without compression

An inbound batch writes its events as one outbox row (about 400 bytes per event, 2.2
events per record), and the relay deletes it moments later. Under the default storage
PostgreSQL compressed each such payload with pglz before moving it out of line: 0.4 ms
for a 25-record batch's 20 KB and 7 ms for a 500-record batch's 400 KB, in the inbound
transaction, to save space the row gives back a second later. ``EXTERNAL`` keeps it out
of line but uncompressed: 0.13 and 2.2 ms (docs/ingest-performance.md, seventh round).
Rows already stored keep their form; PostgreSQL reads both.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-27 13:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE outbox ALTER COLUMN payload SET STORAGE EXTERNAL")


def downgrade() -> None:
    op.execute("ALTER TABLE outbox ALTER COLUMN payload SET STORAGE EXTENDED")
