"""The email ingestion benchmark's IMAP server (Dovecot, started as the tests start it,
by ``devstack.dovecot``) and its own stdlib ``imaplib`` client for appending mail, so the
code under test is not used to set up what it is measured on.
"""

from __future__ import annotations

import contextlib
import imaplib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from devstack.dovecot import USER, Dovecot, dovecot_binary

PASSWORD = "bench-imap-password-51c9"


def start_dovecot(root: Path) -> Dovecot:
    """Dovecot as the tests run it (``devstack.dovecot``), in ``root``."""
    binary = dovecot_binary()
    if binary is None:
        raise SystemExit("dovecot is not installed: run scripts/install-test-servers.sh")
    if os.geteuid() != 0:
        raise SystemExit("the benchmark runs Dovecot as root (its mail belongs to uid 65534)")
    server = Dovecot(root, binary, PASSWORD)
    server.configure()
    server.start()
    return server


class Appender:
    """stdlib ``imaplib`` on one connection: create folders and append mail."""

    def __init__(self, port: int) -> None:
        self.port = port

    @contextlib.contextmanager
    def _conn(self) -> Iterator[imaplib.IMAP4]:
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=30)
        try:
            conn.login(USER, PASSWORD)
            yield conn
        finally:
            with contextlib.suppress(Exception):
                conn.logout()

    def create(self, folder: str) -> None:
        with self._conn() as conn:
            typ, data = conn.create(folder)
            if typ != "OK":
                raise RuntimeError(f"CREATE {folder}: {data!r}")

    def append(self, folder: str, mails: Sequence[bytes]) -> None:
        with self._conn() as conn:
            for raw in mails:
                typ, data = conn.append(folder, None, None, raw)
                if typ != "OK":
                    raise RuntimeError(f"APPEND {folder}: {data!r}")
