"""Simple Calls events become ``CallEvent`` records (pure).

Types: 2 incoming call ringing, 32 the manager answered an incoming call, 16 the client
answered an outgoing call, 4 completed call (``start``, ``end``, ``duration``,
``direction`` 0 in / 1 out, ``record``, ``missed``); 8 (outgoing call started), 1
(transfer request), 128/256 (SMS) are not call records and are ignored. The external
number is normalised to E.164 with the account's default country; the extension stays
as it is. Keys: ``simplecalls:<account>:<callID>:<kind>``. Never raises: an exception
here would drop the WebSocket; a negative duration or an impossible end time is left out
(duration unknown, the time of receipt), an id over 128 characters is ignored.
"""

from __future__ import annotations

from datetime import UTC, datetime

from helpdesk_common.phone_accounts import PhoneAccountConfig
from helpdesk_common.phone_numbers import to_e164
from helpdesk_common.records import CallEvent, CallKind

RINGING, COMPLETED, ANSWERED_OUT, ANSWERED_IN = 2, 4, 16, 32
MAX_CALL_ID = 128  # longer ids are not Simple Calls ids: ignored (the record keys allow 512)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def _time(seconds: int | None, fallback: datetime) -> datetime:
    if not seconds:
        return fallback
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (ValueError, OverflowError, OSError):  # a time no calendar holds
        return fallback


def to_call_event(
    account: str, config: PhoneAccountConfig, event: dict[str, str], now: datetime
) -> CallEvent | None:
    kind_code = _int(event.get("type"))
    call_id = event.get("callID") or event.get("callId")
    if kind_code not in (RINGING, COMPLETED, ANSWERED_OUT, ANSWERED_IN) or not call_id:
        return None
    if len(call_id) > MAX_CALL_ID:
        return None
    if kind_code == COMPLETED:
        outbound = event.get("direction") == "1"
        kind = CallKind.COMPLETED
    else:
        outbound = kind_code == ANSWERED_OUT
        kind = CallKind.RINGING if kind_code == RINGING else CallKind.ANSWERED
    raw_from, raw_to = event.get("from", ""), event.get("to", "")
    external, extension = (raw_to, raw_from) if outbound else (raw_from, raw_to)
    number = to_e164(external, config.default_country) or external
    occurred = _time(_int(event.get("end")), now) if kind is CallKind.COMPLETED else now
    duration = _int(event.get("duration")) if kind is CallKind.COMPLETED else None
    return CallEvent(
        idempotency_key=f"simplecalls:{account}:{call_id}:{kind.value}",
        channel_account=account,
        call_id=call_id,
        kind=kind,
        direction="outbound" if outbound else "inbound",
        from_number=extension if outbound else number,
        to_number=number if outbound else extension,
        extension=extension or None,
        duration_seconds=duration if duration is None or duration >= 0 else None,
        missed=kind is CallKind.COMPLETED and event.get("missed") == "1",
        recording_url=event.get("record") or None,
        occurred_at=occurred,
    )
