"""The connection probes of channel accounts ("Test connection" in the settings) against
the real Dovecot, the SMTP sink and the local provider fakes: IMAP login, folder and TLS,
unreachable and silent servers, SMTP, Telegram/Viber/VK, SMS (Twilio), and a bad
configuration answered, never raised."""

from __future__ import annotations

from devstack.dovecot import USER, Dovecot
from devstack.processes import free_port
from devstack.test_system import (
    TELEGRAM_TOKEN,
    TWILIO_NUMBER,
    TWILIO_SID,
    TWILIO_TOKEN,
    VIBER_TOKEN,
    VK_TOKEN,
    Fakes,
    SmtpServer,
)
from helpdesk_common.channel_accounts import ChannelAccount
from helpdesk_common.email_accounts import ImapSettings
from helpdesk_common.records import Channel
from ticket_core.connection_probe import probe_account
from ticket_core.probe_email import probe_imap, probe_smtp
from ticket_core.probe_messengers import probe_telegram, probe_viber, probe_vk

from .channel_probe_helpers import (  # the dovecot and silent_port fixtures
    IMAP_PASSWORD,
    dovecot_server,  # noqa: F401
    provider_urls,
    silent_server,  # noqa: F401
)


def _imap(dovecot: Dovecot, **overrides: object) -> ImapSettings:
    values: dict[str, object] = {
        "host": "127.0.0.1",
        "port": dovecot.imap_port,
        "security": "none",
        "login": USER,
    }
    values.update(overrides)
    return ImapSettings.model_validate(values)


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
    urls = provider_urls(fakes)
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
    urls = provider_urls(fakes)
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


async def test_probe_account_never_raises_on_a_bad_config(fakes: Fakes) -> None:
    broken = ChannelAccount(channel=Channel.EMAIL, name="m", config={"port": 1})
    answer = await probe_account(broken, provider_urls(fakes))
    assert not answer.ok and "host" in answer.message
