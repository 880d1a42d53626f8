"""SMSC.ru, SMS.ru and SMSAero through the running notifier and gateway: SMS notifications
sent on each account, delivery by polling (SMSC.ru, SMSAero) and by SMS.ru's status
push, the "test connection" API with each provider's balance or error."""

from __future__ import annotations

import time

import httpx
import pytest
from devstack.probes import produce_records
from devstack.test_system import SMSRU_CALLBACK_TOKEN, Fakes
from helpdesk_common.records import Channel, OutboundMessage
from sms_helpers import recorded_sms, wait_delivery

pytestmark = pytest.mark.e2e


def _outbound(account: str, to: str, text: str) -> OutboundMessage:
    return OutboundMessage(
        channel=Channel.SMS, channel_account=account, recipient=to, text=text, automatic=True
    )


async def test_polled_providers_report_delivery(
    core: httpx.AsyncClient, kafka: str, fakes: Fakes, redis_url: str
) -> None:
    smsc = _outbound("sms_smsc", "8 916 555-01-01", "Your ticket #1001 is resolved.")
    aero = _outbound("sms_aero", "+7 916 555 01 02", "Your ticket #1002 is resolved.")
    await produce_records(kafka, "outbound.messages.v1", [smsc, aero])
    for outbound in (smsc, aero):
        events = await wait_delivery(kafka, outbound.outbound_id, "delivered")
        assert {e["state"] for e in events} >= {"sent", "delivered"}
    assert fakes.smsc.calls_of("send", phones="79165550101", mes=smsc.text)
    assert fakes.smsaero.calls_of("sms/send", number="79165550102", text=aero.text)
    assert (await recorded_sms(redis_url, smsc.outbound_id))["segments"] == "1"


async def test_smsru_status_push_and_refusal(
    gateway: httpx.AsyncClient, kafka: str, fakes: Fakes, redis_url: str
) -> None:
    sent = _outbound("sms_smsru", "+79165550103", "The engineer is on the way.")
    fakes.smsru.invalid_numbers.add("79165550104")
    refused = _outbound("sms_smsru", "+79165550104", "Never delivered.")
    await produce_records(kafka, "outbound.messages.v1", [sent, refused])
    failed = await wait_delivery(kafka, refused.outbound_id, "failed")
    assert failed[-1]["reason"].startswith("smsru 202: ")
    await wait_delivery(kafka, sent.outbound_id, "sent")
    sms_id = (await recorded_sms(redis_url, sent.outbound_id))["provider_message_id"]
    path = f"/webhooks/sms/sms_smsru/push/{SMSRU_CALLBACK_TOKEN}"
    push = {"data[0]": f"sms_status\n{sms_id}\n103\n{int(time.time())}"}
    answer = await gateway.post(path, data=push)
    assert (answer.status_code, answer.text) == (200, "100")
    assert (await gateway.post("/webhooks/sms/sms_smsru/push/wrong", data=push)).status_code == 403
    await wait_delivery(kafka, sent.outbound_id, "delivered")


@pytest.mark.parametrize(
    ("name", "balance"),
    [
        ("sms_twilio", "42.17"),
        ("sms_smsc", "1234.50"),
        ("sms_smsru", "4122.56"),
        ("sms_aero", "337.03"),
    ],
)
async def test_test_connection_returns_the_balance(
    core: httpx.AsyncClient, name: str, balance: str
) -> None:
    answer = await core.post(f"/api/v1/channel-accounts/sms/{name}/test")
    assert answer.status_code == 200, answer.text
    assert answer.json()["ok"] is True and answer.json()["balance"] == balance


async def test_test_connection_shows_the_providers_error(core: httpx.AsyncClient) -> None:
    patch = await core.patch(
        "/api/v1/channel-accounts/sms/sms_broken", json={"secrets": {"api_id": "x"}}
    )
    if patch.status_code == 404:
        created = await core.post(
            "/api/v1/channel-accounts",
            json={
                "channel": "sms",
                "name": "sms_broken",
                "config": {"provider": "smsru", "api_base_url": "http://127.0.0.1:9"},
                "secrets": {"api_id": "x"},
            },
        )
        assert created.status_code == 201, created.text
    answer = (await core.post("/api/v1/channel-accounts/sms/sms_broken/test")).json()
    assert answer["ok"] is False and answer["error"].startswith("smsru: ")
    assert (await core.post("/api/v1/channel-accounts/sms/nobody/test")).status_code == 404
    bad = await core.post(
        "/api/v1/channel-accounts",
        json={"channel": "sms", "name": "sms_bad", "config": {"provider": "smsc"}, "secrets": {}},
    )
    assert bad.status_code == 422 and "config.login" in bad.text
