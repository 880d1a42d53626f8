"""Test connection for the messengers: Telegram ``getMe``, Viber ``get_account_info``,
VK ``groups.getById``, at the given API base URL (a local fake in tests)."""

from __future__ import annotations

from typing import Any

import httpx

from .probe_result import ProbeResult, network_failure

VK_API_VERSION = "5.199"


async def _post(
    url: str, where: str, timeout: float, **kwargs: Any
) -> tuple[dict[str, Any] | None, ProbeResult | None]:
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.post(url, **kwargs)
    except httpx.HTTPError as exc:
        return None, network_failure(exc, where, timeout)
    try:
        body = response.json()
    except ValueError:
        return None, ProbeResult(False, f"{where} answered HTTP {response.status_code}, not JSON")
    if not isinstance(body, dict):
        return None, ProbeResult(False, f"{where} answered HTTP {response.status_code}")
    return body, None


async def probe_telegram(base_url: str, token: str, timeout: float = 5.0) -> ProbeResult:
    body, failed = await _post(f"{base_url.rstrip('/')}/bot{token}/getMe", "Telegram", timeout)
    if failed or body is None:
        return failed or ProbeResult(False, "Telegram: no answer")
    if not body.get("ok"):
        return ProbeResult(False, f"Telegram: {body.get('description') or 'refused'}")
    bot = body.get("result") or {}
    return ProbeResult(True, f"Telegram bot @{bot.get('username', '?')} answered")


async def probe_viber(base_url: str, token: str, timeout: float = 5.0) -> ProbeResult:
    body, failed = await _post(
        f"{base_url.rstrip('/')}/get_account_info",
        "Viber",
        timeout,
        json={},
        headers={"X-Viber-Auth-Token": token},
    )
    if failed or body is None:
        return failed or ProbeResult(False, "Viber: no answer")
    if body.get("status") != 0:
        return ProbeResult(False, f"Viber: {body.get('status_message') or 'refused'}")
    return ProbeResult(True, f"Viber account {body.get('name', '?')!s} answered")


async def probe_vk(
    base_url: str, token: str, group_id: str | None = None, timeout: float = 5.0
) -> ProbeResult:
    form = {"access_token": token, "v": VK_API_VERSION}
    if group_id:
        form["group_id"] = group_id
    body, failed = await _post(
        f"{base_url.rstrip('/')}/method/groups.getById", "VK", timeout, data=form
    )
    if failed or body is None:
        return failed or ProbeResult(False, "VK: no answer")
    if "error" in body:
        error = body["error"] if isinstance(body["error"], dict) else {}
        return ProbeResult(False, f"VK: {error.get('error_msg') or 'refused'}")
    answer = body.get("response")
    found = answer.get("groups") if isinstance(answer, dict) else answer
    names = [str(g.get("name")) for g in found or [] if isinstance(g, dict)]
    return ProbeResult(True, f"VK community {', '.join(names) or '?'} answered")
