"""a version number for the desk configuration that every inbound batch reads

``config_version`` holds one row. A statement trigger on each table an inbound batch
reads its configuration from (the catalogue, the SLA rules and calendars, the channel
accounts and groups, the agents' addresses and states, the company domains) sets it to
a new value from a sequence, in the writing transaction: the new value is visible
exactly when the change is. A sequence, not ``version + 1``, so a rolled-back change's
value is never used again (``ingest_config.py`` caches the configuration per value).

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-27 07:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> the change that counts ("" = any insert, update, delete or truncate)
WATCHED = {
    "statuses": "",
    "priorities": "",
    "ticket_types": "",
    "sla_rules": "",
    "service_calendars": "",
    "channel_accounts": "",
    "agent_groups": "",
    "company_domains": "",
    # an agent's login bookkeeping is no configuration: only the address and the state
    "agents": "UPDATE OF email, active",
}


def upgrade() -> None:
    op.execute("CREATE SEQUENCE config_version_seq")
    op.execute(
        "CREATE TABLE config_version (id integer PRIMARY KEY, version bigint NOT NULL, "
        "CONSTRAINT ck_config_version_one_row CHECK (id = 1))"
    )
    op.execute("INSERT INTO config_version VALUES (1, nextval('config_version_seq'))")
    op.execute(
        """
        CREATE FUNCTION bump_config_version() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE config_version SET version = nextval('config_version_seq') WHERE id = 1;
            RETURN NULL;
        END
        $$
        """
    )
    for table, update in WATCHED.items():
        events = "INSERT OR DELETE OR TRUNCATE OR " + (update or "UPDATE")
        op.execute(
            f"CREATE TRIGGER {table}_config_version AFTER {events} ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION bump_config_version()"
        )


def downgrade() -> None:
    for table in WATCHED:
        op.execute(f"DROP TRIGGER {table}_config_version ON {table}")
    op.execute("DROP FUNCTION bump_config_version()")
    op.execute("DROP TABLE config_version")
    op.execute("DROP SEQUENCE config_version_seq")
