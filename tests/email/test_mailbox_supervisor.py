"""Which pollers run as the mailbox accounts change (fake pollers and source, no servers)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from email_ingest.mailbox_source import AccountMailboxes
from email_ingest.mailbox_supervisor import MailboxSupervisor
from email_ingest.mailboxes import MailboxConfig, mailbox_from_account
from email_ingest.runtime import PollerState
from email_ingest.settings import EmailIngestSettings
from helpdesk_common.channel_accounts import ChannelAccount
from helpdesk_common.consuming import TransientError
from helpdesk_common.email_accounts import InvalidEmailAccount
from helpdesk_common.records import Channel

CONFIG = {"host": "imap.example.com", "login": "s@example.com", "folder": "INBOX"}


def box(name: str, **overrides: Any) -> MailboxConfig:
    fields = {**CONFIG, "name": name, "password": "pw-1", **overrides}
    return MailboxConfig.model_validate(fields)


class FakePoller:
    def __init__(self, mailbox: MailboxConfig, log: list[tuple[str, str]]) -> None:
        self.mailbox = mailbox
        self.state = PollerState()
        self.log = log

    def start(self) -> asyncio.Task[None]:
        self.log.append(("start", self.mailbox.name))
        return asyncio.create_task(asyncio.sleep(0))

    async def stop(self, grace: float | None = None) -> None:
        self.log.append(("stop", self.mailbox.name))


class FakeSource:
    def __init__(self) -> None:
        self.wanted: dict[str, MailboxConfig] = {}
        self.fail = False

    async def load(self) -> dict[str, MailboxConfig]:
        if self.fail:
            raise TransientError("ticket-core answered 503")
        return dict(self.wanted)


@pytest.fixture
def events() -> list[tuple[str, str]]:
    return []


def supervisor(
    events: list[tuple[str, str]], source: FakeSource, static: list[MailboxConfig] | None = None
) -> MailboxSupervisor:
    return MailboxSupervisor(static or [], lambda m: FakePoller(m, events), source, 3600)


async def test_pollers_follow_the_accounts(events: list[tuple[str, str]]) -> None:
    source = FakeSource()
    source.wanted = {"a": box("a"), "b": box("b")}
    sup = supervisor(events, source, static=[box("env")])
    await sup.start()
    assert sorted(events) == [("start", "a"), ("start", "b"), ("start", "env")]
    assert {r.origin for r in sup.pollers()} == {"env", "account"}

    events.clear()
    source.wanted = {"a": box("a"), "b": box("b", password="pw-2"), "c": box("c")}
    assert await sup.refresh()
    assert events == [("stop", "b"), ("start", "b"), ("start", "c")]  # a password is a change
    assert sup.running["b"].poller.mailbox.password.get_secret_value() == "pw-2"

    events.clear()
    source.wanted = {"c": box("c")}
    await sup.refresh()
    assert sorted(events) == [("stop", "a"), ("stop", "b")]
    assert sorted(sup.running) == ["c", "env"]  # the environment's mailbox stays

    events.clear()
    await sup.stop()
    assert sorted(events) == [("stop", "c"), ("stop", "env")] and not sup.running


async def test_an_unreachable_source_keeps_what_runs(events: list[tuple[str, str]]) -> None:
    source = FakeSource()
    source.wanted = {"a": box("a")}
    sup = supervisor(events, source)
    await sup.start()
    source.fail = True
    assert not await sup.refresh()
    assert sup.last_refresh_error is not None and "503" in sup.last_refresh_error
    assert list(sup.running) == ["a"] and events == [("start", "a")]
    source.fail, source.wanted = False, {}
    assert await sup.refresh()
    assert sup.last_refresh_error is None and not sup.running
    await sup.stop()


async def test_a_failed_first_load_is_retried(events: list[tuple[str, str]]) -> None:
    source = FakeSource()
    source.fail = True
    source.wanted = {"a": box("a")}
    sup = MailboxSupervisor([], lambda m: FakePoller(m, events), source, 0.05)
    await sup.start()  # ticket-core not up yet: the service still starts
    assert not sup.running
    source.fail = False
    for _ in range(100):
        if sup.running:
            break
        await asyncio.sleep(0.02)
    assert list(sup.running) == ["a"]
    await sup.stop()


async def test_the_environment_wins_a_name_clash(events: list[tuple[str, str]]) -> None:
    source = FakeSource()
    source.wanted = {"support": box("support", host="other.example.com")}
    sup = supervisor(events, source, static=[box("support")])
    await sup.start()
    assert events == [("start", "support")]
    assert sup.running["support"].origin == "env"
    assert sup.running["support"].poller.mailbox.host == "imap.example.com"
    await sup.stop()


def account(name: str, enabled: bool = True, **config: Any) -> ChannelAccount:
    return ChannelAccount(
        channel=Channel.EMAIL,
        name=name,
        enabled=enabled,
        config={**CONFIG, **config},
        secrets={"password": "pw-secret-9"},
    )


class Lister:
    def __init__(self, accounts: list[ChannelAccount]) -> None:
        self.accounts = accounts

    async def list_accounts(self, channel: Channel) -> list[ChannelAccount]:
        assert channel is Channel.EMAIL
        return self.accounts


async def test_accounts_become_mailboxes() -> None:
    source = AccountMailboxes(
        Lister(
            [
                account("support", own_addresses=["Support@Example.com"], processed="move:Done"),
                account("off", enabled=False),
                account("broken", port=70000),
            ]
        )
    )
    found = await source.load()
    assert list(found) == ["support"]  # disabled and invalid ones are no mailboxes
    support = found["support"]
    assert (support.name, support.account, support.move_to) == ("support", "support", "Done")
    assert support.own_addresses == ("support@example.com",)
    assert support.password.get_secret_value() == "pw-secret-9"


def test_an_account_without_password_or_with_bad_config_is_refused() -> None:
    no_password = ChannelAccount(channel=Channel.EMAIL, name="x", config=CONFIG)
    with pytest.raises(InvalidEmailAccount, match="need secrets: password"):
        mailbox_from_account(no_password)
    with pytest.raises(InvalidEmailAccount) as caught:
        mailbox_from_account(account("x", port="pw-secret-9", hots="x"))
    message = str(caught.value)
    assert "config.port" in message and "config.hots: unknown setting" in message
    assert "pw-secret-9" not in message  # values are never echoed


def test_accounts_need_both_url_and_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMAIL_INGEST_TICKET_CORE_URL", "http://127.0.0.1:8081")
    assert not EmailIngestSettings().accounts_configured
    monkeypatch.setenv("EMAIL_INGEST_INTERNAL_TOKEN", "internal-token-4d2")
    settings = EmailIngestSettings()
    assert settings.accounts_configured and settings.mailbox_refresh_seconds == 30.0
    assert "internal-token-4d2" not in repr(settings)
