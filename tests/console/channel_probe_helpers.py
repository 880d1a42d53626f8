"""Shared by the channel-account tests (test_channel_probes, test_phone_channel_probes,
test_settings_channels): the test Dovecot (module-scoped ``dovecot`` fixture, its password
``IMAP_PASSWORD``), servers that never answer (``silent_port``) or whose TLS certificate
nobody trusts (``untrusted_tls_port``), and the local provider fakes' URLs. Import a fixture
into the module that uses it.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from devstack.dovecot import Dovecot, dovecot_binary, running_dovecot
from devstack.test_system import Fakes
from ticket_core.connection_probe import ProviderUrls

IMAP_PASSWORD = "imap-settings-password-4d2c"


@pytest.fixture(scope="module", name="dovecot")
def dovecot_server() -> Iterator[Dovecot]:
    binary = dovecot_binary()
    if binary is None:
        pytest.skip("dovecot is not installed: run scripts/install-test-servers.sh")
    with running_dovecot(binary, IMAP_PASSWORD, "helpdesk-dovecot-settings-") as server:
        yield server


@pytest.fixture(name="silent_port")
async def silent_server() -> AsyncIterator[int]:
    """A port that accepts connections and never says a word."""
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = int(server.sockets[0].getsockname()[1])
    yield port
    server.close()


@pytest.fixture(name="untrusted_tls_port")
async def untrusted_tls_server(tmp_path: Path) -> AsyncIterator[int]:
    """A TLS server with a self-signed certificate (no client trusts it)."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    openssl = await asyncio.create_subprocess_exec(
        *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
        *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert await openssl.wait() == 0
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0, ssl=context)
    yield int(server.sockets[0].getsockname()[1])
    server.close()


def provider_urls(fakes: Fakes) -> ProviderUrls:
    return ProviderUrls(fakes.telegram.base_url, f"{fakes.viber.base_url}/pa", fakes.vk.base_url)
