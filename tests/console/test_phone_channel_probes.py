"""The connection probes of phone accounts: Simple Calls (the WebSocket handshake the
connector makes, against the local fake; unreachable, silent, untrusted TLS and plain HTTP
servers) and PBX webhooks (the address to configure, never the token); both through the
console's "Test connection" as an administrator."""

from __future__ import annotations

import base64

from devstack.processes import free_port
from devstack.test_system import (
    PBX_TOKEN,
    SIMPLE_CALLS_PASSWORD,
    Fakes,
    ensure_sms_and_phone_accounts,
)
from helpdesk_common.channel_accounts import ChannelAccount
from helpdesk_common.records import Channel
from ticket_core.connection_probe import ProviderUrls, probe_account
from ticket_core.probe_phone import probe_phone

from .channel_probe_helpers import (  # the silent_port and untrusted_tls_port fixtures
    provider_urls,
    silent_server,  # noqa: F401
    untrusted_tls_server,  # noqa: F401
)
from .console_helpers import Console


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
    urls, server = provider_urls(fakes), fakes.simple_calls
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
    urls = provider_urls(fakes)
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
