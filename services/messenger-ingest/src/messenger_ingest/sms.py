"""SMS raw records: Twilio inbound SMS/MMS and status callbacks, SMS.ru status pushes.

Pure: ``parse`` turns a raw record (its ``x-helpdesk-sms-event`` header says which kind
the gateway verified) into outcomes, with numbers in E.164 read in the account's default
country. Keys: idempotency ``sms:<account>:<MessageSid>`` (a retried webhook is stored
once); the contact identity is the sender's E.164 number (``sms`` and ``phone``).
"""

from __future__ import annotations

import mimetypes
import re
from datetime import UTC, datetime
from urllib.parse import parse_qsl

import httpx
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
SID = re.compile(r"[A-Za-z0-9]{1,64}")
MAX_SENDER = 64
EVENT_HEADER = "x-helpdesk-sms-event"
KEPT_FIELDS = ("To", "NumSegments", "NumMedia", "FromCountry", "FromCity", "MessagingServiceSid")


def _form(raw: RawWebhook) -> dict[str, str]:
    return dict(parse_qsl(raw.body, keep_blank_values=True))


def _sid(form: dict[str, str], *names: str) -> str | None:
    """Twilio's message id (``SM`` + 32 hex digits); anything else is not one of its ids."""
    sid = next((form[name] for name in names if form.get(name)), None)
    if sid is not None and not SID.fullmatch(sid):
        raise UnsupportedPayload(f"twilio message id {sid[:80]!r} is not an id")
    return sid


def _sender(value: str, country: str) -> tuple[str, str | None]:
    """(the sender's id on the channel, its E.164 number when it is a phone number):
    a number, or an alphanumeric sender id or short code as carriers pass them."""
    text = value.replace("\x00", "").strip()
    if not text or len(text) > MAX_SENDER:
        raise UnsupportedPayload(f"twilio inbound SMS from {value[:80]!r}: not a sender")
    number = to_e164(text, country)
    return (number, number) if number else (text, None)


def unusable_media_url(url: str) -> str | None:
    """Why an MMS media link cannot be fetched (None when it can): only http(s) links with
    a host are, so a damaged link is recorded as a skipped file instead of retried."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        return "media link is not a URL"
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return "media link is not an http(s) URL"
    return None


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
    sid = _sid(form, "MessageSid", "SmsMessageSid", "SmsSid")
    sender = form.get("From")
    if not sid or not sender:
        raise UnsupportedPayload("twilio inbound SMS without MessageSid or From")
    number, phone = _sender(sender, country)
    account = raw.channel_account
    key = f"sms:{account}:{sid}"
    fields = {"provider": "twilio", "message_sid": sid}
    fields.update({k.lower(): form[k] for k in KEPT_FIELDS if form.get(k)})
    message = InboundMessage(
        idempotency_key=key,
        correlation_id=raw.correlation_id,
        channel=CHANNEL,
        channel_account=account,
        sender=SenderIdentity(channel_user_id=number, phone=phone),
        thread=ThreadHints(conversation_id=number, message_id=key),
        recipients=(),
        text=form.get("Body", ""),
        fields=fields,
        received_at=raw.received_at,
    )
    return Inbound(message, _media(form, sid))


def _twilio_status(raw: RawWebhook, form: dict[str, str]) -> Outcome:
    sid = _sid(form, "MessageSid", "SmsSid")
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
        except (ValueError, OverflowError, OSError) as exc:  # OSError: a time out of range
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
    """The record's outcomes, or ``UnsupportedPayload`` (dead-lettered with the reason).

    Whatever else a bug would raise on a hostile form is turned into ``UnsupportedPayload``
    too (as ``outcomes.strict`` does for the messengers): an ``OSError`` would look
    transient and rewind the batch forever."""
    try:
        return _parse(raw, default_country)
    except UnsupportedPayload:
        raise
    except Exception as exc:
        raise UnsupportedPayload(
            f"sms payload not understood: {type(exc).__name__}: {exc}"
        ) from exc


def _parse(raw: RawWebhook, default_country: str) -> list[Outcome]:
    kind = raw.headers.get(EVENT_HEADER)
    form = _form(raw)
    if kind == "inbound":
        return [_inbound(raw, form, default_country)]
    if kind == "status":
        return [_twilio_status(raw, form)]
    if kind == "push":
        return _smsru_push(raw, form)
    raise UnsupportedPayload(f"sms raw record of unknown kind {kind!r}")
