"""SMSC.ru (``/sys/send.php``, ``/sys/status.php``, ``/sys/balance.php``, ``fmt=3`` JSON).

Delivery is only known by asking (``status.php``): the notifier polls. Error codes of
``send.php``: 4 (IP temporarily blocked) and 9 (too many requests) are transient; 1
(bad parameters), 2 (bad login/password), 3 (no funds), 6 (message or sender
forbidden), 7 (bad number format), 8 (undeliverable) are refusals with SMSC's text.
Status codes: -1 waiting, 0 handed to the operator, 1 delivered, 2 read; 3 expired,
20 undeliverable, 22 bad number, 23 forbidden, 24 no funds, 25 unavailable are failures.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from ..channel_accounts import ChannelAccount
from ..consuming import TransientError
from ..records import DeliveryState
from .accounts import API_KEY, PASSWORD, SmsAccountConfig
from .base import Balance, ProviderRefused, SendResult, StatusReport, checked, json_of
from .base import network_error as _net
from .segments import segment_count

TRANSIENT_CODES = frozenset({4, 9})
STATES: dict[int, DeliveryState | None] = {
    -3: None,
    -1: None,
    0: DeliveryState.SENT,
    1: DeliveryState.DELIVERED,
    2: DeliveryState.READ,
    4: DeliveryState.READ,
}
FAILED_CODES = frozenset({3, 20, 22, 23, 24, 25})


class SmscProvider:
    name = "smsc"
    polls_status = True
    supports_media = False

    def __init__(
        self, config: SmsAccountConfig, account: ChannelAccount, timeout_seconds: float
    ) -> None:
        self._config = config
        self._auth: dict[str, str] = {"login": config.login or ""}
        api_key = account.secret(API_KEY)
        if api_key:
            self._auth = {"apikey": api_key}
        else:
            self._auth["psw"] = account.require_secret(PASSWORD)
        self._http = httpx.AsyncClient(base_url=config.base_url(), timeout=timeout_seconds)

    async def _call(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await self._http.post(path, data={**self._auth, **params, "fmt": "3"})
        except httpx.HTTPError as exc:
            raise _net("smsc", exc) from exc
        answer = json_of(checked(response, "smsc"), "smsc")
        if "error" in answer or "error_code" in answer:
            code = int(str(answer.get("error_code", 0)) or 0)
            text = f"smsc {code}: {answer.get('error', '')}".strip()
            if code in TRANSIENT_CODES:
                raise TransientError(text)
            raise ProviderRefused(text)
        return answer

    async def send(
        self, to: str, text: str, status_callback: str | None, media_urls: Sequence[str] = ()
    ) -> SendResult:
        params = {"phones": to.lstrip("+"), "mes": text, "charset": "utf-8"}
        if self._config.sender:
            params["sender"] = self._config.sender
        answer = await self._call("/sys/send.php", params)
        count = int(str(answer.get("cnt") or 0)) or segment_count(text)
        return SendResult(str(answer["id"]), count)

    async def status(self, provider_message_id: str, to: str) -> StatusReport:
        answer = await self._call(
            "/sys/status.php", {"phone": to.lstrip("+"), "id": provider_message_id}
        )
        code = int(str(answer.get("status", -1)))
        if code in FAILED_CODES:
            return StatusReport(
                DeliveryState.FAILED, f"smsc status {code} (error {answer.get('err', '')})"
            )
        return StatusReport(STATES.get(code))

    async def balance(self) -> Balance:
        answer = await self._call("/sys/balance.php", {})
        return Balance(str(answer.get("balance", "")), str(answer.get("currency") or "") or None)

    async def aclose(self) -> None:
        await self._http.aclose()
