"""The desk configuration every inbound batch reads, cached per process per version.

A batch needs the catalogue, the SLA rules, the options of the channel accounts, the
active agents' addresses and the company domains. They change seldom, and reading them
cost five statements per batch (about a sixth of a batch's wall time at 1,000 records/s
in the pipeline benchmark). Migration 0017 gives the configuration a version: a trigger
on each of those tables sets ``config_version`` to a new value in the writing
transaction. The batch reads the version in the statement it needs anyway (the
idempotency keys, ``repository.existing_keys_and_config_version``) and reloads the
configuration only when the version differs from the cached one.

A change is therefore seen by the first batch that starts after it commits, in every
process, whichever process or tool made it (an API call, a migration, a hand-written
UPDATE). A version value is never reused (a sequence), so a configuration read inside a
transaction that rolled back is never served to anyone else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from . import sla_repo
from .account_options import AccountKey, AccountOptions, OptionsBook, all_account_options
from .catalog import Catalog, load_catalog
from .models_org import agents, company_domains
from .sla_tickets import SlaConfig


@dataclass(frozen=True)
class IngestConfig:
    version: int
    default_window: timedelta
    catalog: Catalog
    sla: SlaConfig
    accounts: dict[AccountKey, AccountOptions]
    agents_by_email: dict[str, int]
    """lower-case address -> id, active agents only"""
    companies_by_domain: dict[str, int]

    @cached_property
    def book(self) -> OptionsBook:
        return OptionsBook(self.accounts, self.default_window)


async def load(session: AsyncSession, version: int, default_window: timedelta) -> IngestConfig:
    active = await session.execute(select(agents.c.email, agents.c.id).where(agents.c.active))
    domains = await session.execute(select(company_domains.c.domain, company_domains.c.company_id))
    return IngestConfig(
        version=version,
        default_window=default_window,
        catalog=await load_catalog(session),
        sla=await sla_repo.load_config(session),
        accounts=await all_account_options(session, default_window),
        agents_by_email={str(e).strip().lower(): int(i) for e, i in active if e},
        companies_by_domain={str(d): int(c) for d, c in domains},
    )


class IngestConfigCache:
    def __init__(self) -> None:
        self._current: IngestConfig | None = None

    @property
    def current(self) -> IngestConfig | None:
        return self._current

    async def get(
        self, session: AsyncSession, version: int, default_window: timedelta
    ) -> IngestConfig:
        current = self._current
        if current is None or (current.version, current.default_window) != (
            version,
            default_window,
        ):
            current = await load(session, version, default_window)
            self._current = current
        return current


INGEST_CONFIG = IngestConfigCache()
