"""Implicit TLS (IMAPS) and STARTTLS against Dovecot with a self-signed certificate."""

from __future__ import annotations

import pytest

from .conftest import Dovecot, Imap, InboundTap, mail, until


def tls_logins(dovecot: Dovecot) -> int:
    """Logins Dovecot recorded as made over TLS."""
    return sum(
        1
        for line in dovecot.log_path.read_text(errors="replace").splitlines()
        if "Login: user=<" in line and ", TLS," in line
    )


@pytest.mark.parametrize("security", ["tls", "starttls"])
async def test_mail_is_read_over_tls(
    security: str, dovecot: Dovecot, make_mailbox, make_poller, imap: Imap, tap: InboundTap
) -> None:
    port = dovecot.imaps_port if security == "tls" else dovecot.imap_port
    box = make_mailbox(security=security, port=port, tls_ca_file=str(dovecot.cert))
    imap.append(box.folder, mail(box.name, 1))
    before = tls_logins(dovecot)
    poller = make_poller(box)
    poller.start()
    await tap.wait_for(box.account, 1)
    await until(lambda: tls_logins(dovecot) > before, 5, "a TLS login in Dovecot's log")
    await poller.stop()


async def test_an_untrusted_certificate_is_refused_and_retried(
    dovecot: Dovecot, make_mailbox, make_poller
) -> None:
    box = make_mailbox(security="tls", port=dovecot.imaps_port)  # system CAs only
    poller = make_poller(box)
    task = poller.start()
    await until(lambda: poller.state.connect_failures >= 2, 10, "two refused handshakes")
    assert "CERTIFICATE_VERIFY_FAILED" in (poller.state.last_error or "")
    assert not task.done()
