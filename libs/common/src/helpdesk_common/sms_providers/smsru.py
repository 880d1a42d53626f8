"""SMS.ru (``/sms/send``, ``/sms/status``, ``/my/balance`` with ``json=1``).

Delivery statuses arrive as pushes (the gateway's ``/webhooks/sms/<account>/push/<token>``)
and can be asked for. Request errors: 220 (service unavailable) is transient; 200 (bad
api_id), 201 (no funds), 202 (bad number), 203 (no text), 204 (sender not approved),
230-233 (limits) and the rest are refusals with SMS.ru's text. Delivery codes: 100
queued, 101/102 on the way (sent), 103 delivered; 104-108 and 150 failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from ..channel_accounts import ChannelAccount
from ..consuming import TransientError
from ..records import DeliveryState
from .accounts import API_ID, SmsAccountConfig
from .base import Balance, ProviderRefused, SendResult, StatusReport, checked, json_of
from .base import network_error as _net
from .segments import segment_count

TRANSIENT_CODES = frozenset({220})
OK = 100


def delivery_state(code: int) -> DeliveryState | None:
    if code == 100:
        return None
    if code in (101, 102):
        return DeliveryState.SENT
    if code == 103:
        return DeliveryState.DELIVERED
    return DeliveryState.FAILED


def _refusal(answer: dict[str, Any]) -> Exception:
    code = int(str(answer.get("status_code", 0)) or 0)
    text = f"smsru {code}: {answer.get('status_text', '')}".strip()
    return TransientError(text) if code in TRANSIENT_CODES else ProviderRefused(text)


class SmsRuProvider:
    name = "smsru"
    polls_status = False  # status pushes
    supports_media = False

    def __init__(
        self, config: SmsAccountConfig, account: ChannelAccount, timeout_seconds: float
    ) -> None:
        self._config = config
        self._api_id = account.require_secret(API_ID)
        self._http = httpx.AsyncClient(base_url=config.base_url(), timeout=timeout_seconds)

    async def _call(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await self._http.post(
                path, data={"api_id": self._api_id, **params, "json": "1"}
            )
        except httpx.HTTPError as exc:
            raise _net("smsru", exc) from exc
        answer = json_of(checked(response, "smsru"), "smsru")
        if answer.get("status") != "OK":
            raise _refusal(answer)
        return answer

    async def send(
        self, to: str, text: str, status_callback: str | None, media_urls: Sequence[str] = ()
    ) -> SendResult:
        number = to.lstrip("+")
        params = {"to": number, "msg": text}
        if self._config.sender:
            params["from"] = self._config.sender
        answer = await self._call("/sms/send", params)
        per_number = (answer.get("sms") or {}).get(number) or {}
        if per_number.get("status") != "OK":
            raise _refusal(per_number or {"status_text": "no answer for the number"})
        return SendResult(str(per_number["sms_id"]), segment_count(text))

    async def status(self, provider_message_id: str, to: str) -> StatusReport:
        answer = await self._call("/sms/status", {"sms_id": provider_message_id})
        found = (answer.get("sms") or {}).get(provider_message_id) or {}
        code = int(str(found.get("status_code", 100)))
        state = delivery_state(code)
        reason = f"smsru {code}: {found.get('status_text', '')}".strip()
        return StatusReport(state, reason if state is DeliveryState.FAILED else None)

    async def balance(self) -> Balance:
        answer = await self._call("/my/balance", {})
        return Balance(str(answer.get("balance", "")), "RUB")

    async def aclose(self) -> None:
        await self._http.aclose()
