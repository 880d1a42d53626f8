"""SMS raw records: Twilio inbound SMS/MMS and status callbacks, SMS.ru status pushes.

Pure: ``parse`` turns a raw record (its ``x-helpdesk-sms-event`` header says which kind
the gateway verified) into outcomes, with numbers in E.164 read in the account's default
country. Keys: idempotency ``sms:<account>:<MessageSid>`` (a retried webhook is stored
once); the contact identity is the sender's E.164 number (``sms`` and ``phone``).
"""

from __future__ import annotations

import mimetypes
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from helpdesk_common.phone_numbers import to_e164
from helpdesk_common.records import (
    Channel,
    DeliveryState,
    InboundMessage,
    RawWebhook,
    SenderIdentity,
    ThreadHints,
)
from helpdesk_common.sms_providers.smsru import delivery_state as smsru_state
from helpdesk_common.sms_providers.twilio_provider import STATES as TWILIO_STATES

from .outcomes import Ignored, Inbound, MediaRef, MediaSource, Outcome, Receipt, UnsupportedPayload

CHANNEL = Channel.SMS
EVENT_HEADER = "x-helpdesk-sms-event"
KEPT_FIELDS = ("To", "NumSegments", "NumMedia", "FromCountry", "FromCity", "MessagingServiceSid")


def _form(raw: RawWebhook) -> dict[str, str]:
    return dict(parse_qsl(raw.body, keep_blank_values=True))


def _number(value: str, country: str) -> str:
    return to_e164(value, country) or value.strip()


def _media(form: dict[str, str], sid: str) -> tuple[MediaRef, ...]:
    try:
        count = int(form.get("NumMedia") or 0)
    except ValueError:
        count = 0
    refs = []
    for index in range(min(count, 10)):  # Twilio allows 10 media per MMS
        url = form.get(f"MediaUrl{index}")
        if not url:
            continue
        content_type = form.get(f"MediaContentType{index}") or "application/octet-stream"
        ext = mimetypes.guess_extension(content_type) or ""
        refs.append(MediaRef(MediaSource.URL, url, f"mms_{sid}_{index}{ext}", content_type))
    return tuple(refs)


def _inbound(raw: RawWebhook, form: dict[str, str], country: str) -> Inbound:
    sid = form.get("MessageSid") or form.get("SmsMessageSid") or form.get("SmsSid")
    sender = form.get("From")
    if not sid or not sender:
        raise UnsupportedPayload("twilio inbound SMS without MessageSid or From")
    number = _number(sender, country)
    account = raw.channel_account
    key = f"sms:{account}:{sid}"
    fields = {"provider": "twilio", "message_sid": sid}
    fields.update({k.lower(): form[k] for k in KEPT_FIELDS if form.get(k)})
    message = InboundMessage(
        idempotency_key=key,
        correlation_id=raw.correlation_id,
        channel=CHANNEL,
        channel_account=account,
        sender=SenderIdentity(channel_user_id=number, phone=number if number[:1] == "+" else None),
        thread=ThreadHints(conversation_id=number, message_id=key),
        recipients=(),
        text=form.get("Body", ""),
        fields=fields,
        received_at=raw.received_at,
    )
    return Inbound(message, _media(form, sid))


def _twilio_status(raw: RawWebhook, form: dict[str, str]) -> Outcome:
    sid = form.get("MessageSid") or form.get("SmsSid")
    status = (form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
    if not sid or not status:
        raise UnsupportedPayload("twilio status callback without MessageSid or MessageStatus")
    state = TWILIO_STATES.get(status)
    if state is None:
        return Ignored(f"twilio status {status!r}")
    reason = None
    if state is DeliveryState.FAILED:
        reason = f"twilio {status}: error {form.get('ErrorCode') or 'unknown'}"
        if form.get("ErrorMessage"):
            reason += f" {form['ErrorMessage']}"
    return Receipt(CHANNEL, raw.channel_account, sid, state, raw.received_at, reason)


def _smsru_push(raw: RawWebhook, form: dict[str, str]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for name, value in sorted(form.items()):
        if not name.startswith("data["):
            continue
        lines = value.replace("\r", "").split("\n")
        if lines[0] != "sms_status" or len(lines) < 3:
            outcomes.append(Ignored(f"smsru push {lines[0]!r}"))
            continue
        try:
            code = int(lines[2])
            when = datetime.fromtimestamp(int(lines[3]), UTC) if len(lines) > 3 else raw.received_at
        except ValueError as exc:
            raise UnsupportedPayload(f"smsru push with a malformed status: {exc}") from exc
        state = smsru_state(code)
        if state is None:
            outcomes.append(Ignored(f"smsru status {code}"))
            continue
        reason = f"smsru status {code}" if state is DeliveryState.FAILED else None
        outcomes.append(Receipt(CHANNEL, raw.channel_account, lines[1], state, when, reason))
    if not outcomes:
        raise UnsupportedPayload("smsru push without data[N] fields")
    return outcomes


def parse(raw: RawWebhook, default_country: str = "RU") -> list[Outcome]:
    kind = raw.headers.get(EVENT_HEADER)
    form = _form(raw)
    if kind == "inbound":
        return [_inbound(raw, form, default_country)]
    if kind == "status":
        return [_twilio_status(raw, form)]
    if kind == "push":
        return _smsru_push(raw, form)
    raise UnsupportedPayload(f"sms raw record of unknown kind {kind!r}")
