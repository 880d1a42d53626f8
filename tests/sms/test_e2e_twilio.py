"""Twilio end to end: signed SMS/MMS in -> ticket, agent reply -> the exact API call,
status callbacks -> delivery state, duplicates stored once, forgeries refused."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from devstack.probes import end_offsets, eventually
from devstack.test_system import PUBLIC_GATEWAY_URL, TWILIO_NUMBER, Fakes
from sms_helpers import (
    INBOUND,
    TIMEOUT,
    message_state,
    new_number,
    new_sid,
    post_signed,
    recorded_sms,
    signature_for,
    ticket,
    ticket_by_subject,
    twilio_form,
)

pytestmark = pytest.mark.e2e
RAW = "raw.sms.v1"
STATUS = "/webhooks/sms/sms_twilio/status"
SIG = "X-Twilio-Signature"


async def _value(value: object) -> object:
    return value


async def test_signed_sms_opens_a_ticket_once_and_the_reply_goes_out_by_twilio(
    gateway: httpx.AsyncClient,
    core: httpx.AsyncClient,
    fakes: Fakes,
    redis_url: str,
) -> None:
    national, e164 = new_number()
    subject = f"No hot water {uuid.uuid4().hex[:8]}"
    form = twilio_form(national, subject)
    for _ in range(2):  # Twilio retried: the same MessageSid is stored once
        answer = await post_signed(gateway, INBOUND, form)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("text/xml")
        assert answer.text.endswith("<Response/>")
    found = await ticket_by_subject(core, subject)
    assert found["channel"] == "sms" and found["channel_account"] == "sms_twilio"
    await asyncio.sleep(1.0)
    messages = (await ticket(core, found["id"]))["messages"]
    assert [m["text"] for m in messages] == [subject]
    assert messages[0]["fields"]["message_sid"] == form["MessageSid"]

    text = "A technician comes tomorrow between 9 and 11. " * 4  # 184 GSM-7 chars: 2 parts
    sent = await core.post(f"/api/v1/tickets/{found['id']}/replies", json={"text": text})
    assert sent.status_code == 201, sent.text
    reply = sent.json()
    calls = await eventually(
        lambda: _value(fakes.twilio.calls_of("messages.create", To=e164)),
        lambda c: len(c) == 1,  # type: ignore[arg-type]
        TIMEOUT,
        "twilio Messages.json",
    )
    assert calls[0].params == {  # type: ignore[index]
        "To": e164,
        "From": TWILIO_NUMBER,
        "Body": text.strip(),
        "StatusCallback": f"{PUBLIC_GATEWAY_URL}/webhooks/sms/sms_twilio/status",
    }
    await message_state(core, found["id"], reply["id"], "sent")
    recorded = await recorded_sms(redis_url, reply["outbound_id"])
    assert recorded["segments"] == "2" and recorded["encoding"] == "GSM-7"
    # ... and on the message itself, for the console.
    (shown,) = [m for m in (await ticket(core, found["id"]))["messages"] if m["id"] == reply["id"]]
    assert shown["fields"] == {"sms_segments": "2", "sms_encoding": "GSM-7"}
    assert recorded["provider"] == "twilio" and recorded["to"] == e164

    sid = recorded["provider_message_id"]
    for status in ("sent", "delivered"):
        callback = {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC", "To": e164}
        assert (await post_signed(gateway, STATUS, callback)).status_code == 200
    await message_state(core, found["id"], reply["id"], "delivered")


async def test_forged_or_misaddressed_signatures_are_refused_and_nothing_is_published(
    gateway: httpx.AsyncClient, core: httpx.AsyncClient, kafka: str
) -> None:
    before = await end_offsets(kafka, RAW)
    _, e164 = new_number()
    form = twilio_form(e164, "forged")
    good = signature_for(PUBLIC_GATEWAY_URL + INBOUND, form)
    # signed over the address the gateway itself sees, not the public one Twilio used
    inner = signature_for(str(gateway.base_url).rstrip("/") + INBOUND, form)
    answers = [
        await post_signed(gateway, INBOUND, form, token="not-the-auth-token"),
        await gateway.post(INBOUND, data=form),
        await gateway.post(INBOUND, data={**form, "Body": "changed"}, headers={SIG: good}),
        await gateway.post(INBOUND, data=form, headers={SIG: inner}),
        await post_signed(gateway, STATUS, {"MessageSid": new_sid()}, token="x"),
    ]
    assert [a.status_code for a in answers] == [403, 403, 403, 403, 403]
    assert await end_offsets(kafka, RAW) == before


async def test_mms_media_is_fetched_with_the_account_credentials(
    gateway: httpx.AsyncClient, core: httpx.AsyncClient, fakes: Fakes
) -> None:
    name = f"photo{uuid.uuid4().hex[:6]}"
    fakes.twilio.media[name] = ("image/jpeg", b"\xff\xd8jpeg-bytes")
    _, e164 = new_number()
    subject = f"Photo of the meter {uuid.uuid4().hex[:8]}"
    form = twilio_form(
        e164,
        subject,
        NumMedia="1",
        MediaUrl0=f"{fakes.twilio.base_url}/media/{name}",
        MediaContentType0="image/jpeg",
    )
    assert (await post_signed(gateway, INBOUND, form)).status_code == 200
    found = await ticket_by_subject(core, subject)
    attachments = (await ticket(core, found["id"]))["messages"][0]["attachments"]
    assert len(attachments) == 1
    assert attachments[0]["content_type"] == "image/jpeg"
    assert attachments[0]["size"] == len(b"\xff\xd8jpeg-bytes")
    assert attachments[0]["blob"] is not None


async def test_refusals_and_failed_callbacks_are_failed_deliveries_with_the_text(
    gateway: httpx.AsyncClient, core: httpx.AsyncClient, fakes: Fakes, redis_url: str
) -> None:
    refused_number, landline = new_number()[1], new_number()[1]
    fakes.twilio.invalid_numbers.add(refused_number)
    tag = uuid.uuid4().hex[:8]
    for number, subject in ((refused_number, f"Refused {tag}"), (landline, f"Landline {tag}")):
        form = twilio_form(number, subject)
        assert (await post_signed(gateway, INBOUND, form)).status_code == 200
    refused = await ticket_by_subject(core, f"Refused {tag}")
    answer = await core.post(f"/api/v1/tickets/{refused['id']}/replies", json={"text": "Hello"})
    failed = await message_state(core, refused["id"], answer.json()["id"], "failed")
    assert failed["delivery_reason"].startswith("twilio 21211: ")
    assert (
        f"The 'To' number {refused_number} is not a valid phone number"
        in (failed["delivery_reason"])
    )

    later = await ticket_by_subject(core, f"Landline {tag}")
    sent = (await core.post(f"/api/v1/tickets/{later['id']}/replies", json={"text": "Hi"})).json()
    await message_state(core, later["id"], sent["id"], "sent")
    sid = (await recorded_sms(redis_url, sent["outbound_id"]))["provider_message_id"]
    callback = {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "30006"}
    assert (await post_signed(gateway, STATUS, callback)).status_code == 200
    undelivered = await message_state(core, later["id"], sent["id"], "failed")
    assert undelivered["delivery_reason"] == "twilio undelivered: error 30006"
