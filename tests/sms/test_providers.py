"""Each SMS provider client against its fake: sends, reports balance and status, and
sorts the provider's errors into transient (retry) and refused (failed delivery)."""

from __future__ import annotations

from typing import Any

import pytest
from devstack.test_system import Fakes, sms_and_phone_accounts
from helpdesk_common.channel_accounts import ChannelAccount
from helpdesk_common.consuming import TransientError
from helpdesk_common.records import Channel, DeliveryState
from helpdesk_common.sms_providers import ProviderRefused, SmsProvider, make_provider
from helpdesk_common.sms_providers.segments import segment_count

CYRILLIC = "Здравствуйте! Мастер придёт завтра с 9 до 11, пожалуйста, будьте дома. Спасибо!"  # noqa: RUF001


def _account(fakes: Fakes, name: str, **secrets: str) -> ChannelAccount:
    spec: dict[str, Any] = next(a for a in sms_and_phone_accounts(fakes) if a["name"] == name)
    return ChannelAccount.model_validate(
        {**spec, "channel": Channel.SMS, "secrets": {**spec["secrets"], **secrets}}
    )


def test_segment_counts() -> None:
    assert [segment_count("a" * n) for n in (1, 160, 161, 306, 307)] == [1, 1, 2, 2, 3]
    assert [segment_count("я" * n) for n in (70, 71, 134, 135)] == [1, 2, 2, 3]
    assert segment_count("{" * 80) == 1 and segment_count("{" * 81) == 2  # two septets each
    assert segment_count(CYRILLIC) == 2


@pytest.mark.parametrize(
    ("name", "balance", "currency", "last_call"),
    [
        ("sms_smsc", "1234.50", "RUR", "send"),
        ("sms_smsru", "4122.56", "RUB", "sms/send"),
        ("sms_aero", "337.03", "RUB", "sms/send"),
        ("sms_twilio", "42.17", "USD", "messages.create"),
    ],
)
async def test_send_status_and_balance(
    fakes: Fakes, name: str, balance: str, currency: str, last_call: str
) -> None:
    provider: SmsProvider = make_provider(_account(fakes, name))
    try:
        result = await provider.send("+79161234567", CYRILLIC, None)
        assert result.segments == 2 and result.provider_message_id
        found = await provider.balance()
        assert (found.amount, found.currency) == (balance, currency)
        if name != "sms_twilio":
            report = await provider.status(result.provider_message_id, "+79161234567")
            assert report.state is DeliveryState.DELIVERED
    finally:
        await provider.aclose()
    server = {"sms_smsc": fakes.smsc, "sms_smsru": fakes.smsru, "sms_aero": fakes.smsaero}.get(
        name, fakes.twilio
    )
    sent = [c for c in server.calls_of(last_call) if CYRILLIC in c.params.values()]
    assert sent, f"{name}: the fake got no send call"
    params = sent[-1].params
    expected = {
        "sms_smsc": {
            "phones": "79161234567",
            "mes": CYRILLIC,
            "sender": "ACME",
            "charset": "utf-8",
        },
        "sms_smsru": {"to": "79161234567", "msg": CYRILLIC, "from": "ACME", "json": "1"},
        "sms_aero": {"number": "79161234567", "text": CYRILLIC, "sign": "ACME"},
        "sms_twilio": {"To": "+79161234567", "Body": CYRILLIC, "From": "+15005550006"},
    }[name]
    assert {k: params.get(k) for k in expected} == expected


@pytest.mark.parametrize("name", ["sms_smsc", "sms_smsru", "sms_aero", "sms_twilio"])
async def test_invalid_number_and_no_funds_are_refusals(fakes: Fakes, name: str) -> None:
    server: Any = {
        "sms_smsc": fakes.smsc,
        "sms_smsru": fakes.smsru,
        "sms_aero": fakes.smsaero,
        "sms_twilio": fakes.twilio,
    }[name]
    provider = make_provider(_account(fakes, name))
    try:
        with pytest.raises(ProviderRefused) as invalid:
            await provider.send("+7916", "hello", None)
        server.no_funds = True
        try:
            with pytest.raises(ProviderRefused) as broke:
                await provider.send("+79161234567", "hello", None)
        finally:
            server.no_funds = False
    finally:
        await provider.aclose()
    texts = {
        "sms_smsc": ("smsc 7: invalid number", "smsc 3: no money"),
        "sms_smsru": ("smsru 202: ", "smsru 201: "),
        "sms_aero": ("smsaero: Invalid number", "smsaero: Not enough money"),
        "sms_twilio": ("twilio 21211: ", "twilio 21606: "),
    }[name]
    assert str(invalid.value).startswith(texts[0]) and str(broke.value).startswith(texts[1])


async def test_transient_errors_and_unapproved_sender(fakes: Fakes) -> None:
    smsc = make_provider(_account(fakes, "sms_smsc"))
    smsru = make_provider(_account(fakes, "sms_smsru"))
    aero = make_provider(_account(fakes, "sms_aero"))
    twilio = make_provider(_account(fakes, "sms_twilio"))
    try:
        fakes.smsc.fail_next("send", 200, {"error": "too many requests", "error_code": 9})
        fakes.smsru.fail_next("sms/send", 200, {"status": "ERROR", "status_code": 220})
        fakes.smsaero.fail_next("sms/send", 503, {"success": False})
        fakes.twilio.fail_next("messages.create", 429, {"code": 20429, "message": "Too Many"})
        for provider in (smsc, smsru, aero, twilio):
            with pytest.raises(TransientError):
                await provider.send("+79161234567", "hello", None)
        fakes.smsru.unapproved_senders.add("ACME")
        try:
            with pytest.raises(ProviderRefused, match="smsru 204"):
                await smsru.send("+79161234567", "hello", None)
        finally:
            fakes.smsru.unapproved_senders.discard("ACME")
    finally:
        for provider in (smsc, smsru, aero, twilio):
            await provider.aclose()


async def test_wrong_credentials_are_refusals(fakes: Fakes) -> None:
    for name, secrets in (
        ("sms_smsc", {"password": "wrong"}),
        ("sms_smsru", {"api_id": "wrong"}),
        ("sms_aero", {"api_key": "wrong"}),
        ("sms_twilio", {"auth_token": "wrong"}),
    ):
        provider = make_provider(_account(fakes, name, **secrets))
        try:
            with pytest.raises(ProviderRefused):
                await provider.balance()
        finally:
            await provider.aclose()
