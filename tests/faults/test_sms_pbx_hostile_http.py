"""Hostile bodies with valid signatures through the real gateway, per webhook family:
Twilio (inbound SMS/MMS and status callbacks, signed), SMS.ru pushes and PBX webhooks
(secret token in the URL). The parsers behind them are fuzzed in-process by
``test_sms_fuzz.py`` and ``test_pbx_webhook_fuzz.py``; here the whole path runs.

Each body gets a 2xx (published) or a clear 4xx, never a 5xx. What was published ends as
a stored record (NUL characters dropped, a damaged media link recorded as a skipped file)
or in the raw topic's dead-letter topic with its reason. A valid message sent after the
hostile ones, on the same raw partition (the key is the account), is stored: the
partition moved on.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from devstack.probes import eventually, read_topic
from devstack.stack import Stack
from devstack.test_system import (
    PBX_TOKEN,
    PUBLIC_GATEWAY_URL,
    SMSRU_CALLBACK_TOKEN,
    TWILIO_TOKEN,
    Fakes,
    ensure_sms_and_phone_accounts,
)
from helpdesk_common.correlation import ERROR_HEADER
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from twilio.request_validator import RequestValidator

pytestmark = pytest.mark.e2e
TIMEOUT = 60.0
TWILIO = "/webhooks/sms/sms_twilio"
SMSRU = f"/webhooks/sms/sms_smsru/push/{SMSRU_CALLBACK_TOKEN}"
PBX = f"/webhooks/pbx/pbx_main/{PBX_TOKEN}"


@pytest.fixture
async def accounts(running: Stack, fakes: Fakes) -> None:
    await ensure_sms_and_phone_accounts(
        f"http://127.0.0.1:{running.config.service_ports['ticket-core']}", fakes
    )


async def signed(gateway: httpx.AsyncClient, path: str, form: dict[str, str]) -> int:
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC_GATEWAY_URL + path, form)
    answer = await gateway.post(path, data=form, headers={"X-Twilio-Signature": signature})
    return answer.status_code


async def parked(kafka: str, topic: str, marker: str) -> list[tuple[str, str]]:
    """(body, reason) of the dead letters in ``<topic>.dlq`` whose raw body has ``marker``."""
    found = []
    for letter in await read_topic(kafka, f"{topic}.dlq", timeout=3.0):
        body = json.loads(letter.value or b"{}").get("body", "")
        if marker in body:
            reason = dict(letter.headers or ()).get(ERROR_HEADER, b"").decode()
            found.append((body, reason))
    return found


async def messages(engine: AsyncEngine, key_like: str) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT idempotency_key, text, attachments, fields FROM messages "
                "WHERE idempotency_key LIKE :k ORDER BY id"
            ),
            {"k": key_like},
        )
        return [dict(row._mapping) for row in rows]


async def test_twilio_and_smsru_webhooks_with_hostile_forms_get_no_5xx_and_lose_nothing(
    gateway: httpx.AsyncClient, kafka: str, engine: AsyncEngine, accounts: None
) -> None:
    run = uuid.uuid4().hex[:12]
    sender = f"+7916{int(run[:6], 16) % 10**7:07d}"
    kept = {  # sid -> what the stored message must show
        f"SM{run}nul": {"From": sender, "Body": f"{run} a\x00b"},
        f"SM{run}media": {
            "From": sender,
            "Body": f"{run} media",
            "NumMedia": "2",
            "MediaUrl0": "javascript:alert(1)",
            "MediaContentType0": "image/png",
            "MediaUrl1": "http://[::1",
        },
        f"SM{run}huge": {"From": sender, "Body": f"{run} " + "ж" * 20_000, "NumMedia": "9" * 5000},
    }
    refused = [  # dead-lettered by messenger-ingest
        {"MessageSid": "9" * 5000, "From": sender, "Body": f"{run} long sid"},
        {"MessageSid": f"SM{run}blank", "From": " \x00 ", "Body": f"{run} no sender"},
        {"Body": f"{run} nothing else"},
    ]
    answers = [await signed(gateway, TWILIO, {"MessageSid": s, **f}) for s, f in kept.items()]
    answers += [await signed(gateway, TWILIO, form) for form in refused]
    answers.append(await signed(gateway, f"{TWILIO}/status", {"MessageSid": f"{run}\x00"}))
    answers.append(
        await signed(gateway, f"{TWILIO}/status", {"SmsSid": run, "SmsStatus": "\u202e" * 9})
    )
    too_big = {"MessageSid": f"SM{run}big", "From": sender, "Body": "ж" * 50_000}  # 300 KB
    assert await signed(gateway, TWILIO, too_big) == 413  # over the body cap: refused
    smsru = [
        {"data[0]": f"sms_status\n{run}\n103\n99999999999999999999"},
        {"data[0]": f"sms_status\n{run}\nnot a code"},
        {"data[0]": f"{run}\x00", "data[1]": "sms_status"},
    ]
    for push in smsru:
        answers.append((await gateway.post(SMSRU, data=push)).status_code)
    not_utf8 = await gateway.post(
        SMSRU, content=b"data[0]=\xff\xfe", headers={"content-type": "application/x-www-form"}
    )
    assert not_utf8.status_code == 400
    assert all(code == 200 for code in answers), answers

    # A valid SMS behind them on the same raw partition is stored: the partition moved on.
    canary = f"SM{run}canary"
    assert await signed(gateway, TWILIO, {"MessageSid": canary, "From": sender, "Body": run}) == 200
    stored = await eventually(
        lambda: messages(engine, f"sms:sms_twilio:SM{run}%"),
        lambda m: any(row["idempotency_key"].endswith("canary") for row in m),
        TIMEOUT,
        "the SMS sent after the hostile ones",
    )
    by_key = {row["idempotency_key"].rsplit(":", 1)[1]: row for row in stored}
    assert set(by_key) == {*kept, canary}
    assert by_key[f"SM{run}nul"]["text"] == f"{run} ab"
    skipped = by_key[f"SM{run}media"]["attachments"]
    assert [a["skipped_reason"] for a in skipped] == [
        "media link is not an http(s) URL",
        "media link is not a URL",
    ]
    assert len(by_key[f"SM{run}huge"]["text"]) == len(kept[f"SM{run}huge"]["Body"])

    # Everything refused is parked with its reason (SMS.ru's three and the Twilio ones
    # whose sid carries the run; the status with a NUL in its sid is refused too).
    letters = await eventually(
        lambda: parked(kafka, "raw.sms.v1", run),
        lambda found: len(found) >= len(refused) + len(smsru) - 1,
        TIMEOUT,
        "dead letters",
    )
    reasons = " | ".join(reason for _, reason in letters)
    assert "is not an id" in reasons and "not a sender" in reasons, reasons
    assert "malformed status" in reasons, reasons
    assert all(reason for _, reason in letters)


async def test_pbx_webhooks_with_hostile_bodies_get_no_5xx_and_lose_nothing(
    gateway: httpx.AsyncClient, kafka: str, engine: AsyncEngine, accounts: None
) -> None:
    run = uuid.uuid4().hex[:12]
    number = f"8916{int(run[:6], 16) % 10**7:07d}"
    json_bodies: list[str] = [
        "[" * 100_000 + run,  # a nesting bomb
        json.dumps({"event": [["x"]], "callId": run}),
        json.dumps({"event": "newCall", "callId": run * 60, "from": number}),  # 720 chars
        json.dumps({"event": "newCall", "callId": f"{run}-n", "from": f"{number}\x00"}),
        json.dumps({"event": "hangup", "callId": f"{run}-n", "recordingUrl": None, "to": [5]}),
        json.dumps({"event": "newCall", "callId": f"{run}-s", "from": "\ud800", "user": {}}),
    ]
    answers = []
    for body in json_bodies:
        answer = await gateway.post(PBX, content=body, headers={"content-type": "application/json"})
        answers.append(answer.status_code)
    form = await gateway.post(PBX, data={"event": "hangup", "callId": f"{run}\x00f"})
    answers.append(form.status_code)
    not_utf8 = await gateway.post(
        PBX, content=b'{"event": "\xff"}', headers={"content-type": "application/json"}
    )
    assert not_utf8.status_code == 400
    assert all(code == 200 for code in answers), answers

    # A valid missed call behind them (same account, same raw partition) is recorded.
    canary = {"callId": f"{run}-canary", "from": number, "to": "4950000000", "direction": "in"}
    for event in ("newCall", "hangup"):
        assert (await gateway.post(PBX, data={"event": event, **canary})).status_code == 200
    calls = await eventually(
        lambda: messages(engine, f"pbx:pbx_main:{run}%"),
        lambda m: any("canary" in row["idempotency_key"] for row in m),
        TIMEOUT,
        "the call made after the hostile webhooks",
    )
    # The call with a NUL in its number was recorded without it (a missed call).
    nul_call = [row for row in calls if row["idempotency_key"].startswith(f"pbx:pbx_main:{run}-n")]
    assert nul_call and "\x00" not in json.dumps(nul_call[0]["fields"])
    assert nul_call[0]["fields"].get("recording_url") in (None, "")
    letters = await eventually(
        lambda: parked(kafka, "raw.telephony.v1", run),
        lambda found: len(found) >= 3,
        TIMEOUT,
        "dead letters",
    )
    assert all(reason.startswith("UnsupportedPbxEvent") for _, reason in letters), letters
