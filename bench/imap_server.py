"""A real IMAP server for the email ingestion benchmark: Debian's Dovecot, as the tests run it.

The same setup as ``tests/email/conftest.py`` (which is a pytest module, so not imported
here): ``dovecot -F -c CONF`` as root with its own config, state and log in a folder,
plain IMAP on a free port of 127.0.0.1, one passwd-file user, maildir owned by uid
65534. ``scripts/install-test-servers.sh`` installs it. Also the benchmark's own
(stdlib ``imaplib``) client for appending mail, so the code under test is not used to
set up what it is measured on.
"""

from __future__ import annotations

import contextlib
import imaplib
import os
import shutil
import signal
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from devstack.processes import Child, free_port, port_open, wait_until

USER = "support"
PASSWORD = "bench-imap-password-51c9"
MAIL_UID = 65534


def dovecot_binary() -> Path:
    found = shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")
    if not found:
        raise SystemExit("dovecot is not installed: run scripts/install-test-servers.sh")
    if os.geteuid() != 0:
        raise SystemExit("the benchmark runs Dovecot as root (its mail belongs to uid 65534)")
    return Path(found)


@dataclass
class Dovecot:
    root: Path
    port: int = field(default_factory=free_port)
    child: Child | None = None

    def start(self) -> None:
        r = self.root
        for sub in ("run", "state", "home"):
            (r / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(r, 0o755)
        os.chown(r / "home", MAIL_UID, MAIL_UID)
        (r / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        (r / "dovecot.conf").write_text(
            f"""
protocols = imap
listen = 127.0.0.1
base_dir = {r}/run
state_dir = {r}/state
log_path = {r}/dovecot.log
info_log_path = {r}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {r}/passwd
}}
userdb {{
  driver = static
  args = uid={MAIL_UID} gid={MAIL_UID} home={r}/home/%n
}}
"""
        )
        argv = [str(dovecot_binary()), "-F", "-c", str(r / "dovecot.conf")]
        self.child = Child("dovecot", argv, r / "dovecot.out")
        self.child.start()

        def listening() -> bool:
            assert self.child is not None
            self.child.ensure_alive()
            return port_open(self.port)

        wait_until(listening, 20, "dovecot")

    @property
    def pid(self) -> int | None:
        process = self.child.process if self.child is not None else None
        return process.pid if process is not None else None

    def stop(self) -> None:
        """The master and every process it started (its own session and process group)."""
        if self.child is not None and self.child.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.child.process.pid, signal.SIGTERM)
            self.child.stop(timeout=10)
            self.child = None


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
