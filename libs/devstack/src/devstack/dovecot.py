"""A real IMAP server for tests and benchmarks: Debian's Dovecot, started as root.

``scripts/install-test-servers.sh`` installs it (``make test`` runs that script).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .processes import Child, free_port, port_open, wait_until

USER = "support"
MAIL_UID = 65534


def dovecot_binary() -> Path | None:
    found = shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")
    return Path(found) if found else None


@contextlib.contextmanager
def running_dovecot(binary: Path, password: str, prefix: str) -> Iterator[Dovecot]:
    """A configured and started Dovecot in a new folder (not under pytest's tmp dir: that
    is 0700 root, and mail is owned by uid 65534), stopped and removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    server = Dovecot(root, binary, password)
    server.configure()
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Dovecot:
    """Dovecot as root with its own config, state and log under ``root``: plain IMAP on
    ``imap_port`` and IMAPS (a self-signed certificate for 127.0.0.1) on ``imaps_port``,
    one passwd-file user (``USER`` / ``password``), maildirs owned by uid 65534."""

    root: Path
    binary: Path
    password: str
    imap_port: int = field(default_factory=free_port)
    imaps_port: int = field(default_factory=free_port)
    child: Child | None = None

    @property
    def pid(self) -> int | None:
        process = self.child.process if self.child is not None else None
        return process.pid if process is not None else None

    @property
    def cert(self) -> Path:
        return self.root / "cert.pem"

    @property
    def log_path(self) -> Path:
        return self.root / "dovecot.log"

    def configure(self) -> None:
        for sub in ("run", "state", "home"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)
        os.chown(self.root / "home", MAIL_UID, MAIL_UID)
        (self.root / "passwd").write_text(f"{USER}:{{PLAIN}}{self.password}::::::\n")
        subprocess.run(
            [
                *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
                *("-keyout", str(self.root / "key.pem"), "-out", str(self.cert)),
                *("-subj", "/CN=localhost"),
                *("-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
            ],
            check=True,
            capture_output=True,
        )
        r = self.root
        (r / "dovecot.conf").write_text(
            f"""
protocols = imap
listen = 127.0.0.1
base_dir = {r}/run
state_dir = {r}/state
log_path = {self.log_path}
info_log_path = {self.log_path}
ssl = yes
ssl_cert = <{self.cert}
ssl_key = <{r}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.imaps_port}
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

    def start(self) -> None:
        argv = [str(self.binary), "-F", "-c", str(self.root / "dovecot.conf")]
        self.child = Child("dovecot", argv, self.root / "dovecot.out")
        self.child.start()

        def listening() -> bool:
            assert self.child is not None
            self.child.ensure_alive()
            return port_open(self.imap_port) and port_open(self.imaps_port)

        wait_until(listening, 20, "dovecot")
        # Dovecot delays logins from an IP with recent failures by up to 15 s (anvil's auth
        # penalty), which would slow every test after the wrong-password one. The auth
        # process disables the penalty when this socket does not exist when it starts.
        (self.root / "run" / "anvil-auth-penalty").unlink(missing_ok=True)

    def stop(self) -> None:
        """Stop the master and every process it started: client connections drop, as in a
        real restart (signalling only the master leaves running imap processes serving)."""
        if self.child is not None and self.child.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.child.process.pid, signal.SIGTERM)  # its own session/group
            self.child.stop(timeout=10)
            self.child = None
        # The master is gone; wait until nothing listens any more.
        wait_until(lambda: not port_open(self.imap_port), 10, "dovecot shutdown")

    def restart(self) -> None:
        self.stop()
        self.start()
