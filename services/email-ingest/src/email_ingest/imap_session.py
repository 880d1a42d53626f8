"""One aioimaplib connection to one folder: connect (TLS / STARTTLS), LOGIN, SELECT, then
UID SEARCH / FETCH / STORE / MOVE and waiting for news (IDLE ... DONE, or a poll interval).

Every command races the connection-lost signal, so a dropped connection surfaces at once as
``ImapConnectionLost`` instead of after a command timeout. A session is not reused after
any error: the caller closes it and opens a new one.

aioimaplib has no STARTTLS helper; ``_starttls`` sends the command through the client's
protocol object and upgrades the transport with ``loop.start_tls``.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import aioimaplib

from .imap_names import mailbox_arg
from .mailboxes import MailboxConfig

T = TypeVar("T")
WaitResult = Literal["push", "warning", "timeout", "stopped"]

_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]")
_UIDNEXT = re.compile(rb"\[UIDNEXT (\d+)\]")
_PERMANENTFLAGS = re.compile(rb"\[PERMANENTFLAGS \(([^)]*)\)\]")


class ImapError(Exception):
    """The server refused a command or answered something we cannot use."""


class ImapAuthError(ImapError):
    """LOGIN was refused (wrong login or password, or the account is disabled)."""


class ImapConnectionLost(ImapError):
    """The connection dropped (server restart, network, idle timeout)."""


@dataclass(frozen=True)
class FolderState:
    uidvalidity: int
    uidnext: int | None
    keywords_allowed: bool


def tls_context(mailbox: MailboxConfig) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=mailbox.tls_ca_file)
    if not mailbox.tls_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _text(response: Any) -> str:
    lines = [bytes(x) for x in response.lines if isinstance(x, bytes | bytearray)]
    return (lines[-1] if lines else b"").decode("utf-8", "replace")[:200]


def _ok(response: Any, what: str) -> Any:
    if response.result != "OK":
        raise ImapError(f"{what}: {response.result} {_text(response)}")
    return response


class ImapSession:
    def __init__(self, mailbox: MailboxConfig, timeout: float) -> None:
        self.mailbox = mailbox
        self.timeout = timeout
        self._lost = asyncio.Event()
        ctx = tls_context(mailbox) if mailbox.security != "none" else None
        self._ctx = ctx
        self.client = aioimaplib.IMAP4(
            host=mailbox.host,
            port=mailbox.effective_port,
            timeout=timeout,
            conn_lost_cb=lambda _exc: self._lost.set(),
            ssl_context=ctx if mailbox.security == "tls" else None,
        )
        self.folder: FolderState | None = None

    @classmethod
    async def open(cls, mailbox: MailboxConfig, timeout: float) -> ImapSession:
        """Connected, logged in and with the folder selected; raises on any failure."""
        session = cls(mailbox, timeout)
        try:
            await session._setup()
        except BaseException:
            await session.close()
            raise
        return session

    @property
    def idle_supported(self) -> bool:
        return bool(self.client.has_capability("IDLE"))

    @property
    def lost(self) -> bool:
        return self._lost.is_set()

    async def _call(self, aw: Awaitable[T], timeout: float | None = None) -> T:
        """Await a client call, failing fast if the connection drops meanwhile."""
        if self._lost.is_set():
            raise ImapConnectionLost("connection lost")
        task = asyncio.ensure_future(aw)
        lost = asyncio.ensure_future(self._lost.wait())
        try:
            done, _ = await asyncio.wait(
                {task, lost}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            lost.cancel()
            if not task.done():
                task.cancel()
        if task in done:
            return task.result()
        if self._lost.is_set():
            raise ImapConnectionLost("connection lost")
        raise TimeoutError(f"no answer from the IMAP server within {timeout}s")

    async def _setup(self) -> None:
        mailbox = self.mailbox
        await self._call(self.client.wait_hello_from_server())
        if mailbox.security == "starttls":
            await self._starttls()
        response = await self._call(
            self.client.login(mailbox.login, mailbox.password.get_secret_value())
        )
        if response.result != "OK":
            raise ImapAuthError(f"login refused for {mailbox.login}: {_text(response)}")
        if mailbox.move_to is not None:
            # NO [ALREADYEXISTS] is fine; any other refusal shows up when moving.
            await self._call(self.client.create(mailbox_arg(mailbox.move_to)))
        response = _ok(
            await self._call(self.client.select(mailbox_arg(mailbox.folder))),
            f"SELECT {mailbox.folder}",
        )
        self.folder = _folder_state(response.lines, mailbox.processed_keyword)

    async def _starttls(self) -> None:
        assert self._ctx is not None
        protocol = self.client.protocol
        if "STARTTLS" not in protocol.capabilities:
            raise ImapError("the server does not offer STARTTLS")
        command = aioimaplib.Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)
        _ok(await self._call(protocol.execute(command), self.timeout), "STARTTLS")
        loop = asyncio.get_running_loop()
        transport = await asyncio.wait_for(
            loop.start_tls(
                protocol.transport, protocol, self._ctx, server_hostname=self.mailbox.host
            ),
            self.timeout,
        )
        protocol.transport = transport
        # Capabilities learned before TLS must be forgotten (RFC 3501 6.2.1).
        await self._call(protocol.capability(), self.timeout)

    async def search_new(self, after_uid: int, without_keyword: str | None) -> list[int]:
        """UIDs above ``after_uid`` (ascending), optionally only those without a keyword."""
        criteria = ["UID", f"{after_uid + 1}:*"]
        if without_keyword:
            criteria += ["UNKEYWORD", without_keyword]
        response = _ok(
            await self._call(self.client.uid_search(*criteria, charset=None)), "UID SEARCH"
        )
        uids: set[int] = set()
        for line in response.lines[:-1]:
            if isinstance(line, bytes | bytearray):
                uids.update(int(tok) for tok in bytes(line).split() if tok.isdigit())
        # "n:*" always matches the highest UID, even when it is below n.
        return sorted(uid for uid in uids if uid > after_uid)

    async def fetch_raw(self, uid: int) -> bytes | None:
        """The full RFC 822 source, without setting \\Seen; ``None`` if it is gone."""
        response = _ok(
            await self._call(self.client.uid("fetch", str(uid), "(BODY.PEEK[])")), "UID FETCH"
        )
        for line in response.lines:
            if isinstance(line, bytearray):
                return bytes(line)
        return None

    async def add_flags(self, uid: int, flags: Sequence[str]) -> None:
        args = (str(uid), "+FLAGS.SILENT", "(" + " ".join(flags) + ")")
        _ok(await self._call(self.client.uid("store", *args)), "UID STORE")

    async def move(self, uid: int, folder: str) -> None:
        """MOVE, or COPY + \\Deleted + (UID) EXPUNGE where the server has no MOVE."""
        target = mailbox_arg(folder)
        if self.client.has_capability("MOVE"):
            _ok(await self._call(self.client.uid("move", str(uid), target)), "UID MOVE")
            return
        _ok(await self._call(self.client.uid("copy", str(uid), target)), "UID COPY")
        await self.add_flags(uid, ["\\Deleted"])
        if self.client.has_capability("UIDPLUS"):
            _ok(await self._call(self.client.uid("expunge", str(uid))), "UID EXPUNGE")
        else:
            _ok(await self._call(self.client.expunge()), "EXPUNGE")

    async def folder_replaced(self) -> bool:
        """Re-SELECT the folder: was it deleted or recreated (new UIDVALIDITY) meanwhile?

        Servers should say so unprompted, but Dovecot keeps a session on a deleted folder
        quietly alive (no IDLE pushes, STATUS answers from the stale view), so the poller
        re-selects after every quiet IDLE period or poll interval.
        """
        assert self.folder is not None
        response = await self._call(self.client.select(mailbox_arg(self.mailbox.folder)))
        if response.result != "OK":
            return True
        state = _folder_state(response.lines, self.mailbox.processed_keyword)
        replaced = state.uidvalidity != self.folder.uidvalidity
        self.folder = state
        return replaced

    async def wait_for_change(self, timeout: float, stop: asyncio.Event) -> WaitResult:
        """IDLE until the server reports something, ``timeout`` passes or ``stop`` is set.

        ``warning``: the server pushed an untagged NO/BAD (Dovecot does, endlessly, once the
        selected folder was deleted), so the caller should check the folder. Without IDLE
        (or with ``use_idle`` off) this simply waits ``timeout`` seconds.
        """
        if not (self.mailbox.use_idle and self.idle_supported):
            return await self._sleep(timeout, stop)
        queue = self.client.protocol.idle_queue
        while not queue.empty():  # pushes from the previous IDLE; a search followed them
            queue.get_nowait()
        idle = await self._call(self.client.idle_start(timeout=timeout), self.timeout)
        result: WaitResult = "timeout"
        push = asyncio.ensure_future(queue.get())
        stopping = asyncio.ensure_future(stop.wait())
        try:
            done, _ = await self._call(
                asyncio.wait({push, stopping}, return_when=asyncio.FIRST_COMPLETED),
                timeout + self.timeout,
            )
        finally:
            push.cancel()
            stopping.cancel()
        if stopping in done:
            result = "stopped"
        elif push in done and push.result() != aioimaplib.STOP_WAIT_SERVER_PUSH:
            lines = [bytes(x) for x in push.result() if isinstance(x, bytes | bytearray)]
            if any(x.startswith(b"BYE") for x in lines):
                raise ImapConnectionLost("the server said BYE")
            warned = any(x.startswith((b"NO", b"BAD")) for x in lines)
            result = "warning" if warned else "push"
        self.client.idle_done()
        _ok(await self._call(idle, self.timeout), "IDLE")
        return result

    async def _sleep(self, timeout: float, stop: asyncio.Event) -> WaitResult:
        try:
            await self._call(stop.wait(), timeout)
        except TimeoutError:
            return "timeout"
        return "stopped"

    async def close(self) -> None:
        """LOGOUT if connected and idle, then drop the connection."""
        protocol = self.client.protocol
        if (
            not self._lost.is_set()
            and protocol.state in (aioimaplib.AUTH, aioimaplib.SELECTED)
            and protocol.pending_sync_command is None  # e.g. an IDLE we were cancelled in
        ):
            with contextlib.suppress(Exception):  # best effort: we drop the connection anyway
                await self._call(self.client.logout(), min(self.timeout, 2.0))
        if protocol.transport is not None:
            protocol.transport.close()
        elif not self.client._client_task.done():
            self.client._client_task.cancel()
        # An IDLE left pending by a lost connection would otherwise wait forever.
        for task in [*self.client.tasks, *protocol.tasks]:
            task.cancel()
        if self.client._idle_waiter is not None:
            self.client._idle_waiter.cancel()


def _folder_state(lines: Sequence[Any], keyword: str) -> FolderState:
    uidvalidity = uidnext = None
    keywords_allowed = True  # RFC 3501: no PERMANENTFLAGS means every flag is permanent
    for line in lines:
        if not isinstance(line, bytes | bytearray):
            continue
        if match := _UIDVALIDITY.search(line):
            uidvalidity = int(match.group(1))
        if match := _UIDNEXT.search(line):
            uidnext = int(match.group(1))
        if match := _PERMANENTFLAGS.search(line):
            flags = match.group(1).split()
            keywords_allowed = b"\\*" in flags or keyword.encode() in flags
    if uidvalidity is None:
        raise ImapError("SELECT answered without UIDVALIDITY")
    return FolderState(uidvalidity, uidnext, keywords_allowed)
