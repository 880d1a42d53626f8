"""SMSAero v2 (``POST <base>/v2/<selector>``, JSON, Basic auth ``email:api_key``).

``sms/send`` -> ``{"success": true, "data": {"id", "status", ...}}``; delivery is asked
for with ``sms/status`` (the notifier polls); ``balance``. ``success: false`` is a
refusal with SMSAero's ``message`` (no money, bad number, sign not approved); HTTP
429/5xx and network errors are transient. Status codes: 0 queued, 1 delivered, 2 not
delivered, 3 handed to the operator, 4 awaiting status, 6 rejected, 8 moderation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from ..channel_accounts import ChannelAccount
from ..records import DeliveryState
from .accounts import API_KEY, SmsAccountConfig
from .base import Balance, ProviderRefused, SendResult, StatusReport, checked, json_of
from .base import network_error as _net
from .segments import segment_count

STATES: dict[int, DeliveryState | None] = {
    0: None,
    1: DeliveryState.DELIVERED,
    2: DeliveryState.FAILED,
    3: DeliveryState.SENT,
    4: DeliveryState.SENT,
    6: DeliveryState.FAILED,
    8: None,
}


class SmsAeroProvider:
    name = "smsaero"
    polls_status = True
    supports_media = False

    def __init__(
        self, config: SmsAccountConfig, account: ChannelAccount, timeout_seconds: float
    ) -> None:
        self._config = config
        self._http = httpx.AsyncClient(
            base_url=f"{config.base_url()}/v2",
            auth=(config.email or "", account.require_secret(API_KEY)),
            timeout=timeout_seconds,
        )

    async def _call(self, selector: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await self._http.post(f"/{selector}", json=body)
        except httpx.HTTPError as exc:
            raise _net("smsaero", exc) from exc
        answer = json_of(checked(response, "smsaero"), "smsaero")
        if answer.get("success") is not True:
            raise ProviderRefused(f"smsaero: {answer.get('message') or 'request refused'}")
        data = answer.get("data")
        return data if isinstance(data, dict) else {}

    async def send(
        self, to: str, text: str, status_callback: str | None, media_urls: Sequence[str] = ()
    ) -> SendResult:
        body: dict[str, Any] = {"number": to.lstrip("+"), "text": text}
        if self._config.sender:
            body["sign"] = self._config.sender
        data = await self._call("sms/send", body)
        return SendResult(str(data["id"]), segment_count(text))

    async def status(self, provider_message_id: str, to: str) -> StatusReport:
        data = await self._call("sms/status", {"id": int(provider_message_id)})
        code = int(str(data.get("status", 0)))
        state = STATES.get(code)
        reason = f"smsaero status {code}: {data.get('extendStatus', '')}".strip()
        return StatusReport(state, reason if state is DeliveryState.FAILED else None)

    async def balance(self) -> Balance:
        data = await self._call("balance", {})
        return Balance(str(data.get("balance", "")), "RUB")

    async def aclose(self) -> None:
        await self._http.aclose()
