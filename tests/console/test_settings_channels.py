"""Channel accounts in the settings: the connection probes against the real Dovecot, the
SMTP sink and the local provider fakes; then the browser flow: a mailbox created on the
test Dovecot passes "Test connection", fails it with a wrong password (the server's
words shown), its password is never sent back to the browser, and enable/disable work."""

from __future__ import annotations

import asyncio
import base64
import shutil
import ssl
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from devstack.dovecot import USER, Dovecot, dovecot_binary
from devstack.processes import free_port
from devstack.test_system import (
    PBX_TOKEN,
    SIMPLE_CALLS_PASSWORD,
    TELEGRAM_TOKEN,
    TWILIO_NUMBER,
    TWILIO_SID,
    TWILIO_TOKEN,
    VIBER_TOKEN,
    VK_TOKEN,
    Fakes,
    SmtpServer,
    ensure_sms_and_phone_accounts,
)
from helpdesk_common.channel_accounts import ChannelAccount
from helpdesk_common.email_accounts import ImapSettings
from helpdesk_common.records import Channel
from ticket_core.connection_probe import ProviderUrls, probe_account
from ticket_core.probe_email import probe_imap, probe_smtp
from ticket_core.probe_messengers import probe_telegram, probe_viber, probe_vk
from ticket_core.probe_phone import probe_phone

from .console_helpers import Console, unique

IMAP_PASSWORD = "imap-settings-password-4d2c"


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    binary = dovecot_binary()
    if binary is None:
        pytest.skip("dovecot is not installed: run scripts/install-test-servers.sh")
    root = Path(tempfile.mkdtemp(prefix="helpdesk-dovecot-settings-"))
    server = Dovecot(root, binary, IMAP_PASSWORD)
    server.configure()
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A port that accepts connections and never says a word."""
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = int(server.sockets[0].getsockname()[1])
    yield port
    server.close()


@pytest.fixture
async def untrusted_tls_port(tmp_path: Path) -> AsyncIterator[int]:
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


def _imap(dovecot: Dovecot, **overrides: object) -> ImapSettings:
    values: dict[str, object] = {
        "host": "127.0.0.1",
        "port": dovecot.imap_port,
        "security": "none",
        "login": USER,
    }
    values.update(overrides)
    return ImapSettings.model_validate(values)


def _urls(fakes: Fakes) -> ProviderUrls:
    return ProviderUrls(fakes.telegram.base_url, f"{fakes.viber.base_url}/pa", fakes.vk.base_url)


# --- the probes -------------------------------------------------------------------------


async def test_imap_probe_logs_in_and_reports_the_servers_refusal(dovecot: Dovecot) -> None:
    good = await probe_imap(_imap(dovecot), IMAP_PASSWORD, timeout=15)
    assert good.ok, good.message
    assert "logged in" in good.message and "INBOX" in good.message

    wrong = await probe_imap(_imap(dovecot), "not-the-password", timeout=15)
    assert not wrong.ok
    assert wrong.message.startswith("login refused:")
    assert "auth" in wrong.message.lower()  # Dovecot's [AUTHENTICATIONFAILED] text
    assert "not-the-password" not in wrong.message

    folder = await probe_imap(_imap(dovecot, folder="NoSuchFolder"), IMAP_PASSWORD, timeout=15)
    assert not folder.ok and "NoSuchFolder" in folder.message

    # IMAPS with the test server's own certificate as the trusted CA.
    tls = _imap(dovecot, port=dovecot.imaps_port, security="tls", tls_ca_file=str(dovecot.cert))
    secure = await probe_imap(tls, IMAP_PASSWORD, timeout=15)
    assert secure.ok, secure.message
    # ... and refused when the certificate is not trusted.
    untrusted = _imap(dovecot, port=dovecot.imaps_port, security="tls")
    refused = await probe_imap(untrusted, IMAP_PASSWORD, timeout=15)
    assert not refused.ok and "TLS" in refused.message


async def test_probes_report_unreachable_and_silent_servers(silent_port: int) -> None:
    closed = free_port()
    nobody = ImapSettings(host="127.0.0.1", port=closed, security="none", login="x")
    answer = await probe_imap(nobody, "pw", timeout=2)
    assert not answer.ok and "refused the connection" in answer.message

    silent = ImapSettings(host="127.0.0.1", port=silent_port, security="none", login="x")
    answer = await probe_imap(silent, "pw", timeout=0.5)
    assert not answer.ok and "did not answer within 0.5 s" in answer.message

    smtp = await probe_smtp("127.0.0.1", closed, security="none", timeout=2)
    assert not smtp.ok and "refused the connection" in smtp.message
    telegram = await probe_telegram(f"http://127.0.0.1:{closed}", TELEGRAM_TOKEN, timeout=2)
    assert not telegram.ok and "Telegram" in telegram.message
    assert TELEGRAM_TOKEN not in telegram.message


async def test_smtp_probe_against_the_sink(smtp_server: SmtpServer) -> None:
    port = smtp_server.sink.port
    hello = await probe_smtp("127.0.0.1", port, security="none", timeout=15)
    assert hello.ok, hello.message
    assert hello.message.startswith("EHLO answered by")
    # The sink offers no AUTH: a login cannot succeed, and the probe says why.
    login = await probe_smtp(
        "127.0.0.1", port, security="none", login="u", password="p", timeout=15
    )
    assert not login.ok and "AUTH" in login.message


async def test_messenger_probes_against_the_fakes(fakes: Fakes) -> None:
    urls = _urls(fakes)
    assert (await probe_telegram(urls.telegram, TELEGRAM_TOKEN)).ok
    bad = await probe_telegram(urls.telegram, "123:wrong")
    assert not bad.ok and bad.message == "Telegram: Unauthorized"

    viber = await probe_viber(urls.viber, VIBER_TOKEN)
    assert viber.ok and "Fake Viber" in viber.message
    bad = await probe_viber(urls.viber, "wrong")
    assert not bad.ok and bad.message == "Viber: invalidAuthToken"

    vk = await probe_vk(urls.vk, VK_TOKEN, "77")
    assert vk.ok and "Fake VK group" in vk.message
    bad = await probe_vk(urls.vk, "wrong")
    assert not bad.ok and "invalid access_token" in bad.message


async def test_sms_probe(fakes: Fakes) -> None:
    urls = _urls(fakes)
    config = {
        "provider": "twilio",
        "account_sid": TWILIO_SID,
        "sender": TWILIO_NUMBER,
        "api_base_url": fakes.twilio.base_url,
    }
    good = ChannelAccount(
        channel=Channel.SMS, name="t", config=config, secrets={"auth_token": TWILIO_TOKEN}
    )  # type: ignore[arg-type]
    answer = await probe_account(good, urls)
    assert answer.ok and answer.message.startswith("twilio: balance")
    bad = ChannelAccount.model_validate(
        {**good.model_dump(exclude={"secrets"}), "secrets": {"auth_token": "wrong"}}
    )
    answer = await probe_account(bad, urls)
    assert not answer.ok and answer.message.startswith("twilio:")


# --- phone: Simple Calls (the WebSocket handshake) and PBX webhooks -------------------------


def _calls(url: str, password: str = SIMPLE_CALLS_PASSWORD) -> ChannelAccount:
    return ChannelAccount.model_validate(
        {
            "channel": Channel.PHONE,
            "name": "sc",
            "config": {"kind": "simple_calls", "url": url, "group": "101"},
            "secrets": {"password": password},
        }
    )


async def test_simple_calls_probe_authenticates_like_the_connector(fakes: Fakes) -> None:
    urls, server = _urls(fakes), fakes.simple_calls
    accepted, refused = len(server.connections), server.refused

    good = await probe_account(_calls(server.url), urls)
    assert good.ok, good.message
    assert "connected and authenticated" in good.message and "group '101'" in good.message
    # the fake saw the connector's query: CID = base64(password), protocol version 2
    query = server.connections[accepted]
    assert query["CID"] == base64.b64encode(SIMPLE_CALLS_PASSWORD.encode()).decode()
    assert query["GID"] == "101" and query["PzProtocolVersion"] == "2"

    wrong = await probe_account(_calls(server.url, "not-the-password"), urls)
    assert not wrong.ok
    assert "authentication failed (close code 4008: auth error)" in wrong.message
    assert "not-the-password" not in wrong.message
    assert server.refused == refused + 1 and len(server.connections) == accepted + 1


async def test_simple_calls_probe_reports_unreachable_silent_tls_and_http(
    fakes: Fakes, silent_port: int, untrusted_tls_port: int
) -> None:
    urls = _urls(fakes)
    closed = free_port()
    unreachable = await probe_account(_calls(f"ws://127.0.0.1:{closed}"), urls)
    assert not unreachable.ok
    assert unreachable.message == f"Simple Calls 127.0.0.1:{closed} refused the connection"

    silent = await probe_phone(
        "sc",
        {"kind": "simple_calls", "url": f"ws://127.0.0.1:{silent_port}"},
        {"password": "pw"},
        timeout=0.5,
    )
    assert not silent.ok and "did not answer within 0.5 s" in silent.message

    # wss:// to a server whose certificate nobody trusts: the TLS failure, and why
    tls = await probe_account(_calls(f"wss://127.0.0.1:{untrusted_tls_port}"), urls)
    assert not tls.ok, tls.message
    assert tls.message.startswith(f"TLS with Simple Calls 127.0.0.1:{untrusted_tls_port} failed")
    assert "CERTIFICATE_VERIFY_FAILED" in tls.message

    # an HTTP server that is no Simple Calls server: its status
    http = await probe_account(_calls(fakes.telegram.base_url.replace("http://", "ws://")), urls)
    assert not http.ok, http.message
    assert (
        http.message == f"Simple Calls 127.0.0.1:{fakes.telegram.port} answered HTTP 403 Forbidden"
    )

    missing = await probe_phone("sc", {"kind": "simple_calls", "url": "ws://x:1"}, {})
    assert not missing.ok and "need secrets: password" in missing.message


async def test_pbx_webhook_probe_shows_the_address_to_configure(fakes: Fakes) -> None:
    urls = ProviderUrls(gateway="https://help.example.com/")
    pbx = ChannelAccount.model_validate(
        {
            "channel": Channel.PHONE,
            "name": "pbx_main",
            "config": {"kind": "pbx_webhook"},
            "secrets": {"webhook_token": "pbx-secret-token"},
        }
    )
    answer = await probe_account(pbx, urls)
    assert answer.ok and "nothing to connect to" in answer.message
    assert "https://help.example.com/webhooks/pbx/pbx_main/<webhook_token>" in answer.message
    assert "pbx-secret-token" not in answer.message

    no_token = ChannelAccount.model_validate({**pbx.model_dump(exclude={"secrets"})})
    answer = await probe_account(no_token, ProviderUrls())
    assert not answer.ok and "secrets.webhook_token is not set" in answer.message
    assert "<gateway public URL>/webhooks/pbx/pbx_main/<webhook_token>" in answer.message


async def test_phone_accounts_test_connection_in_the_console(
    console: Console, fakes: Fakes
) -> None:
    from .test_settings_http import logged_in_client  # the session-cookie client

    await ensure_sms_and_phone_accounts(str(console.api.base_url), fakes)
    admin = await console.agent("administrator")
    async with logged_in_client(console.base, admin.login) as (client, csrf):
        calls = await client.post(
            "/console/settings/channels/phone/simple_calls/test",
            data={"csrf_token": csrf},
            headers={"HX-Request": "true"},
        )
        assert calls.status_code == 200
        assert 'data-ok="true"' in calls.text and "connected and authenticated" in calls.text
        assert SIMPLE_CALLS_PASSWORD not in calls.text

        pbx = await client.post(
            "/console/settings/channels/phone/pbx_main/test",
            data={"csrf_token": csrf},
            headers={"HX-Request": "true"},
        )
        assert pbx.status_code == 200 and "nothing to connect to" in pbx.text
        assert "https://help.example.com/webhooks/pbx/pbx_main/&lt;webhook_token&gt;" in pbx.text
        assert PBX_TOKEN not in pbx.text


async def test_probe_account_never_raises_on_a_bad_config(fakes: Fakes) -> None:
    broken = ChannelAccount(channel=Channel.EMAIL, name="m", config={"port": 1})
    answer = await probe_account(broken, _urls(fakes))
    assert not answer.ok and "host" in answer.message


# --- the browser flow ---------------------------------------------------------------------


async def test_mailbox_account_test_connection_in_the_browser(
    console: Console, dovecot: Dovecot
) -> None:
    admin = await console.agent("administrator")
    opened = await console.log_in(admin)
    page = opened.page
    name = unique("desk")
    try:
        await page.click("#nav-settings")
        await page.click("text=Channel accounts")
        await page.click("a[href='/console/settings/channels/new/email']")
        await page.fill("input[name=name]", name)
        await page.fill("input[name=display_name]", "Support mailbox")
        await page.uncheck("input[name=enabled]")  # email-ingest leaves it alone
        await page.fill("input[name=f_host]", "127.0.0.1")
        await page.fill("input[name=f_port]", str(dovecot.imap_port))
        await page.select_option("select[name=f_security]", "none")
        await page.fill("input[name=f_login]", USER)
        await page.fill("input[name=f_password]", IMAP_PASSWORD)
        await page.click("#account-form button[type=submit]")
        await page.wait_for_url(f"**/settings/channels/email/{name}?done=created")

        # The password is never sent back: an empty field that says "set".
        assert await page.input_value("input[name=f_password]") == ""
        assert await page.is_visible(".secret-set")
        assert IMAP_PASSWORD not in await page.content()

        await page.click("button.test-connection")
        result = page.locator("#test-result .probe")
        await result.wait_for()
        assert await result.get_attribute("data-ok") == "true", await result.inner_text()
        assert "logged in" in await result.inner_text()
        await console.shot(page, "settings-channel-test-ok")

        # A wrong password: saved, and the test shows the server's refusal.
        await page.fill("input[name=f_password]", "wrong-password")
        await page.click("#account-form button[type=submit]")
        await page.wait_for_url(f"**/settings/channels/email/{name}?done=saved")
        await page.click("button.test-connection")
        await result.wait_for()
        assert await result.get_attribute("data-ok") == "false"
        text = await result.inner_text()
        assert text.startswith("Failed: login refused:") and "wrong-password" not in text
        await console.shot(page, "settings-channel-test-failed")

        # An edit that leaves the password empty keeps it (the test still fails the same).
        await page.fill("input[name=display_name]", "Support (renamed)")
        await page.click("#account-form button[type=submit]")
        await page.wait_for_url(f"**/settings/channels/email/{name}?done=saved")
        account = (await console.api.get(f"/api/v1/channel-accounts/email/{name}")).json()
        assert account["display_name"] == "Support (renamed)"
        assert account["secret_names"] == ["password"] and account["enabled"] is False

        # The list: address, the last failure, enable from the row.
        await page.goto(console.url("/settings/channels"))
        row = page.locator(f"tr[data-account='email/{name}']")
        assert USER in await row.inner_text()
        assert "login refused" in await row.locator(".error-text").inner_text()
        await row.locator("button:has-text('enable')").click()
        await page.wait_for_url("**/settings/channels?done=saved")
        account = (await console.api.get(f"/api/v1/channel-accounts/email/{name}")).json()
        assert account["enabled"] is True

        # Telegram's row test (the running system's bot against the fake).
        telegram = page.locator("tr[data-account='telegram/support_bot']")
        await telegram.locator("button.test-connection").click()
        await telegram.locator(".probe").wait_for()
        assert "fake_bot" in await telegram.locator(".probe").inner_text()
        await console.shot(page, "settings-channels")
        assert not opened.errors
    finally:
        await console.api.patch(f"/api/v1/channel-accounts/email/{name}", json={"enabled": False})
        await opened.close()


async def test_account_form_refusals_are_422_with_the_reason(console: Console) -> None:
    from .test_settings_http import logged_in_client  # the session-cookie client

    admin = await console.agent("administrator")
    async with logged_in_client(console.base, admin.login) as (client, csrf):
        missing = await client.post(
            "/console/settings/channels/new/email",
            data={"csrf_token": csrf, "name": unique("m"), "f_host": "127.0.0.1"},
        )
        assert missing.status_code == 422
        assert "email accounts need secrets: password" in missing.text
        bad_port = await client.post(
            "/console/settings/channels/new/email",
            data={"csrf_token": csrf, "name": unique("m"), "f_port": "abc"},
        )
        assert bad_port.status_code == 422 and "IMAP port: a whole number" in bad_port.text
        unknown = await client.get("/console/settings/channels/new/fax")
        assert unknown.status_code == 404
        nothing = await client.get("/console/settings/channels/email/no-such-box")
        assert nothing.status_code == 404
        # the telegram bot's token is never in its edit page
        page = await client.get("/console/settings/channels/telegram/support_bot")
        assert page.status_code == 200
        assert TELEGRAM_TOKEN not in page.text and "secret-set" in page.text
