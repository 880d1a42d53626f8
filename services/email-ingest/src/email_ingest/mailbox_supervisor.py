"""Which pollers run: the environment's mailboxes, plus those of a ``MailboxSource``.

The environment's mailboxes (``EMAIL_INGEST_MAILBOXES``) start once and run until the
service stops. With a source (ticket-core's email channel accounts), the wanted set is
loaded at start and re-read every ``refresh_seconds``; the running set follows it:

- a new mailbox gets a poller;
- a removed or disabled one is stopped gracefully (the mail in flight is finished and
  marked processed, the session logged out, the lease released);
- one whose settings changed (password included) is stopped the same way, then started
  again with the new settings (same name: same checkpoint, so nothing is read twice).

When the source cannot answer (ticket-core down), what runs keeps running and the next
refresh tries again. A source mailbox whose name is taken by an environment mailbox is
ignored (the environment wins), with a warning.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from helpdesk_common import logs

from .mailbox_source import MailboxSource
from .mailboxes import MailboxConfig
from .runtime import PollerState

log = logs.get_logger(__name__)
Origin = Literal["env", "account"]


class Poller(Protocol):
    mailbox: MailboxConfig
    state: PollerState

    def start(self) -> asyncio.Task[None]: ...

    async def stop(self, grace: float | None = None) -> None: ...


PollerFactory = Callable[[MailboxConfig], Poller]


@dataclass(frozen=True)
class Running:
    poller: Poller
    origin: Origin


class MailboxSupervisor:
    def __init__(
        self,
        static: Sequence[MailboxConfig],
        make_poller: PollerFactory,
        source: MailboxSource | None = None,
        refresh_seconds: float = 30.0,
    ) -> None:
        self.static = list(static)
        self.make_poller = make_poller
        self.source = source
        self.refresh_seconds = refresh_seconds
        self.running: dict[str, Running] = {}
        self.last_refresh_error: str | None = None
        self._lock = asyncio.Lock()
        self._loop: asyncio.Task[None] | None = None
        self._shadowed: set[str] = set()

    def pollers(self) -> list[Running]:
        return list(self.running.values())

    async def start(self) -> None:
        async with self._lock:
            for mailbox in self.static:
                self._start(mailbox, "env")
        if self.static:
            log.info("mailboxes_started", mailboxes=[m.name for m in self.static], origin="env")
        if self.source is not None:
            await self.refresh()
            self._loop = asyncio.create_task(self._refresh_loop(), name="email-mailbox-refresh")

    async def stop(self) -> None:
        """Stop refreshing, then every poller (each finishes its mail, releases its lease)."""
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
            self._loop = None
        async with self._lock:
            await asyncio.gather(*(r.poller.stop() for r in self.running.values()))
            self.running.clear()

    async def refresh(self) -> bool:
        """Load the wanted mailboxes and follow them; False when the source failed."""
        assert self.source is not None
        try:
            wanted = await self.source.load()
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
            if self.last_refresh_error is None:
                log.warning("mailbox_refresh_failed", error=error, keeping=sorted(self.running))
            self.last_refresh_error = error
            return False
        if self.last_refresh_error is not None:
            log.info("mailbox_refresh_recovered")
            self.last_refresh_error = None
        async with self._lock:
            await self._follow(wanted)
        return True

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_seconds)
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug must not end the refreshing
                log.error("mailbox_refresh_crashed", error=repr(exc)[:300])

    async def _follow(self, wanted: dict[str, MailboxConfig]) -> None:
        wanted = self._without_env_names(wanted)
        ours = {n: r for n, r in self.running.items() if r.origin == "account"}
        removed = [n for n in ours if n not in wanted]
        changed = [n for n in ours if n in wanted and wanted[n] != ours[n].poller.mailbox]
        if removed or changed:
            # Removed from ``running`` only once stopped: a cancelled refresh leaves them
            # for ``stop`` to finish.
            await asyncio.gather(*(ours[n].poller.stop() for n in (*removed, *changed)))
            for name in removed:
                del self.running[name]
                log.info("mailbox_stopped", mailbox=name, reason="removed or disabled")
            for name in changed:
                del self.running[name]
                log.info("mailbox_stopped", mailbox=name, reason="settings changed")
        started = [n for n in wanted if n not in self.running]
        for name in started:
            self._start(wanted[name], "account")
        if started:
            log.info("mailboxes_started", mailboxes=started, origin="account")

    def _without_env_names(self, wanted: dict[str, MailboxConfig]) -> dict[str, MailboxConfig]:
        env_names = {m.name for m in self.static}
        clashes = env_names & wanted.keys()
        for name in sorted(clashes - self._shadowed):
            log.warning("mailbox_account_shadowed_by_env", mailbox=name)
        self._shadowed = clashes
        return {n: m for n, m in wanted.items() if n not in env_names}

    def _start(self, mailbox: MailboxConfig, origin: Origin) -> None:
        poller = self.make_poller(mailbox)
        poller.start()
        self.running[mailbox.name] = Running(poller, origin)
