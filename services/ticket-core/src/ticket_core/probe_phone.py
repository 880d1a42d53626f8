"""Test connection for phone accounts: Simple Calls (open the connector's WebSocket with
the URL and CID authentication of ``helpdesk_common.phone_accounts`` and report the
server's refusal, close code 4008 or an HTTP status, or its acceptance); a PBX webhook
account has nothing to connect to: the answer is the gateway URL to configure at the PBX."""

from __future__ import annotations

import asyncio
import base64
from typing import Any
from urllib.parse import urlsplit

from helpdesk_common.phone_accounts import PASSWORD as PHONE_PASSWORD
from helpdesk_common.phone_accounts import (
    WEBHOOK_TOKEN,
    InvalidPhoneAccount,
    PhoneAccountConfig,
    check_phone_account,
    pbx_webhook_path,
    simple_calls_close_reason,
    simple_calls_url,
)
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from .probe_result import ProbeResult, network_failure, tls_context


def _said(frame: str | bytes, base64_framed: bool) -> str:
    """A Simple Calls frame as text (base64 over ws://, plain over wss://), shortened."""
    raw = frame.encode() if isinstance(frame, str) else frame
    if base64_framed:
        try:
            raw = base64.b64decode(raw, validate=True)
        except ValueError:
            pass
    text = raw.decode("utf-8", "replace").rstrip("\0").strip()
    return text if len(text) <= 160 else text[:160] + "..."


async def probe_simple_calls(
    config: PhoneAccountConfig, password: str, timeout: float = 5.0, settle: float = 1.0
) -> ProbeResult:
    """Open the connector's WebSocket (same URL and CID authentication as telephony's
    ``simple_calls_client``) and wait ``settle`` seconds for a refusal: a Simple Calls
    server accepts the upgrade and then closes a wrong password with 4008."""
    parts = urlsplit(str(config.url))
    port = parts.port or (443 if parts.scheme == "wss" else 80)
    where = f"Simple Calls {parts.hostname}:{port}"
    if not parts.hostname:
        return ProbeResult(False, "config.url has no host")
    secure = parts.scheme == "wss"
    try:
        async with asyncio.timeout(timeout + settle + 2):
            async with connect(
                simple_calls_url(config, password),
                open_timeout=timeout,
                close_timeout=1,
                ping_interval=None,
                max_size=2**16,
                ssl=tls_context() if secure else None,
            ) as ws:
                server = ws.response.headers.get("Server") if ws.response else None
                try:
                    first = await asyncio.wait_for(ws.recv(), settle)
                except TimeoutError:
                    first = None
    except ConnectionClosed as exc:
        code = exc.rcvd.code if exc.rcvd else None
        words = f": {exc.rcvd.reason}" if exc.rcvd and exc.rcvd.reason else ""
        meaning = simple_calls_close_reason(code)
        if code is None:
            return ProbeResult(False, f"{where} dropped the connection without a close code")
        return ProbeResult(False, f"{where} refused: {meaning} (close code {code}{words})")
    except InvalidStatus as exc:
        answer = exc.response
        body = bytes(answer.body).decode("utf-8", "replace").strip()[:160]
        said = f": {body}" if body else ""
        return ProbeResult(
            False, f"{where} answered HTTP {answer.status_code} {answer.reason_phrase}{said}"
        )
    except InvalidURI:
        return ProbeResult(False, "config.url is not a WebSocket URL (ws://host:10150)")
    except InvalidHandshake as exc:
        return ProbeResult(False, f"{where} does not speak WebSocket: {exc}")
    except (OSError, TimeoutError) as exc:
        return network_failure(exc, where, timeout)
    details = [
        f"group {config.group!r}" if config.group else "",
        f"server {server}" if server else "",
    ]
    if first is not None:
        details.append(f"said {_said(first, base64_framed=not secure)!r}")
    extra = "; ".join(d for d in details if d)
    return ProbeResult(
        True,
        f"{where}: connected and authenticated (no refusal within {settle:g} s)"
        + (f"; {extra}" if extra else ""),
    )


def pbx_webhook_answer(account: str, gateway_url: str | None, has_token: bool) -> ProbeResult:
    """Nothing to connect to: the PBX calls us. The URL to give it, token left out."""
    path = pbx_webhook_path(account, "TOKEN").removesuffix("TOKEN") + "<webhook_token>"
    base = gateway_url.rstrip("/") if gateway_url else "<gateway public URL>"
    told = (
        f"PBX webhook account: nothing to connect to (the PBX calls the help desk). "
        f"Configure the PBX to POST its call events to {base}{path}, "
        f"with the account's secrets.webhook_token in place of <webhook_token>"
    )
    if not has_token:
        return ProbeResult(
            False, told + "; secrets.webhook_token is not set: every call is refused"
        )
    return ProbeResult(True, told)


async def probe_phone(
    account: str,
    config: dict[str, Any],
    secrets: dict[str, str],
    gateway_url: str | None = None,
    timeout: float = 5.0,
) -> ProbeResult:
    if config.get("kind") == "pbx_webhook":
        return pbx_webhook_answer(account, gateway_url, bool(secrets.get(WEBHOOK_TOKEN)))
    try:
        parsed = check_phone_account(config, secrets)
    except InvalidPhoneAccount as exc:
        return ProbeResult(False, str(exc))
    return await probe_simple_calls(parsed, secrets[PHONE_PASSWORD], timeout)
