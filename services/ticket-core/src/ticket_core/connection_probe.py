""" "Test connection" for channel accounts: contact the provider, report its answer.

Pure async functions taking an account's config and secrets: nothing is stored, nothing
raised. Each answers a ``ProbeResult`` with the provider's own words on failure (wrong
password, invalid token, unreachable within the timeout). Messages never carry a secret.

- email: IMAP connect (TLS / STARTTLS / plain as configured), LOGIN, SELECT the folder;
  ``probe_smtp`` (EHLO, STARTTLS, AUTH) for an SMTP server;
- Telegram ``getMe``, Viber ``get_account_info``, VK ``groups.getById``;
- SMS: the provider's balance (``sms_api.check_connection``, the notifier's clients);
- phone: Simple Calls: open the connector's WebSocket (URL and CID authentication from
  ``helpdesk_common.phone_accounts``) and report the server's refusal (close code 4008,
  HTTP status) or its acceptance; a PBX webhook account has nothing to connect to: the
  answer is the gateway URL to configure at the PBX.
"""

from __future__ import annotations

import asyncio
import base64
import imaplib
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from helpdesk_common.channel_accounts import TOKEN, ChannelAccount
from helpdesk_common.email_accounts import PASSWORD, ImapSettings, InvalidEmailAccount
from helpdesk_common.email_accounts import check_email_account as imap_settings_of
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
from helpdesk_common.records import Channel
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

VK_API_VERSION = "5.199"


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    message: str


@dataclass(frozen=True)
class ProviderUrls:
    """Where the messenger APIs are (a local fake in tests)."""

    telegram: str = "https://api.telegram.org"
    viber: str = "https://chatapi.viber.com/pa"
    vk: str = "https://api.vk.ru"
    gateway: str | None = None  # the gateway's public URL, for the PBX webhook address


def _tls_context(verify: bool = True, ca_file: str | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca_file)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _network_failure(exc: BaseException, where: str, timeout: float) -> ProbeResult:
    if isinstance(exc, TimeoutError | socket.timeout | httpx.TimeoutException):
        return ProbeResult(False, f"{where} did not answer within {timeout:g} s")
    if isinstance(exc, ssl.SSLError):
        return ProbeResult(False, f"TLS with {where} failed: {exc.reason or exc}")
    if isinstance(exc, ConnectionRefusedError):
        return ProbeResult(False, f"{where} refused the connection")
    if isinstance(exc, socket.gaierror):
        return ProbeResult(False, f"{where}: unknown host")
    if isinstance(exc, OSError):
        return ProbeResult(False, f"cannot reach {where}: {exc.strerror or type(exc).__name__}")
    if isinstance(exc, httpx.HTTPError):
        return ProbeResult(False, f"cannot reach {where}: {type(exc).__name__}")
    return ProbeResult(False, f"{where}: {type(exc).__name__}")


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list | tuple):
        return " ".join(_text(v) for v in value if v is not None)
    return str(value)


async def _in_thread(work: Callable[[], ProbeResult], where: str, timeout: float) -> ProbeResult:
    """Blocking stdlib clients (their sockets carry the timeout) off the event loop."""
    try:
        return await asyncio.wait_for(asyncio.to_thread(work), timeout * 3 + 1)
    except (OSError, TimeoutError, ssl.SSLError) as exc:
        return _network_failure(exc, where, timeout)


# --- email ------------------------------------------------------------------------------


async def probe_imap(settings: ImapSettings, password: str, timeout: float = 5.0) -> ProbeResult:
    """Connect, LOGIN, SELECT the folder (read-only): the server's refusal, or the count."""
    port = settings.port or (993 if settings.security == "tls" else 143)
    where = f"IMAP {settings.host}:{port}"

    def work() -> ProbeResult:
        context = _tls_context(settings.tls_verify, settings.tls_ca_file)
        client: imaplib.IMAP4
        if settings.security == "tls":
            client = imaplib.IMAP4_SSL(settings.host, port, ssl_context=context, timeout=timeout)
        else:
            client = imaplib.IMAP4(settings.host, port, timeout=timeout)
        try:
            if settings.security == "starttls":
                client.starttls(ssl_context=context)
            try:
                client.login(settings.login, password)
            except imaplib.IMAP4.error as exc:
                said = _text(exc.args[0] if exc.args else exc)
                return ProbeResult(False, f"login refused: {said}")
            status, data = client.select(_quoted(settings.folder), readonly=True)
            if status != "OK":
                return ProbeResult(False, f"folder {settings.folder!r}: {_text(data)}")
            return ProbeResult(
                True, f"logged in; {settings.folder} holds {_text(data) or '0'} message(s)"
            )
        except imaplib.IMAP4.error as exc:
            return ProbeResult(False, f"{where}: {_text(exc.args[0] if exc.args else exc)}")
        finally:
            try:
                client.logout()
            except (OSError, imaplib.IMAP4.error):
                pass

    return await _in_thread(work, where, timeout)


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


async def probe_smtp(
    host: str,
    port: int,
    *,
    security: str = "starttls",
    login: str | None = None,
    password: str | None = None,
    timeout: float = 5.0,
    tls_verify: bool = True,
) -> ProbeResult:
    """EHLO (STARTTLS when asked), then AUTH when a login is given."""
    where = f"SMTP {host}:{port}"

    def work() -> ProbeResult:
        context = _tls_context(tls_verify)
        client: smtplib.SMTP
        if security == "tls":
            client = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        try:
            code, banner = client.ehlo()
            if code != 250:
                return ProbeResult(False, f"EHLO refused: {code} {_text(banner)}")
            if security == "starttls":
                client.starttls(context=context)
                client.ehlo()
            said = _text(banner).splitlines()[0] if banner else ""
            if login:
                try:
                    client.login(login, password or "")
                except smtplib.SMTPAuthenticationError as exc:
                    return ProbeResult(
                        False, f"login refused: {exc.smtp_code} {_text(exc.smtp_error)}"
                    )
                except smtplib.SMTPNotSupportedError:
                    return ProbeResult(False, "the server offers no AUTH")
                return ProbeResult(True, f"EHLO answered by {said}; logged in")
            return ProbeResult(True, f"EHLO answered by {said}")
        except smtplib.SMTPException as exc:
            return ProbeResult(False, f"{where}: {exc}")
        finally:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                pass

    return await _in_thread(work, where, timeout)


# --- messengers ---------------------------------------------------------------------------


async def _post(
    url: str, where: str, timeout: float, **kwargs: Any
) -> tuple[dict[str, Any] | None, ProbeResult | None]:
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.post(url, **kwargs)
    except httpx.HTTPError as exc:
        return None, _network_failure(exc, where, timeout)
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


# --- SMS and phone ------------------------------------------------------------------------


async def probe_sms(account: ChannelAccount, timeout: float = 5.0) -> ProbeResult:
    from .sms_api import check_connection  # the balance call the REST test uses

    result = await check_connection(account, timeout)
    if not result.ok:
        return ProbeResult(False, f"{result.provider or 'SMS'}: {result.error}")
    currency = f" {result.currency}" if result.currency else ""
    return ProbeResult(True, f"{result.provider}: balance {result.balance}{currency}")


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
                ssl=_tls_context() if secure else None,
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
        return _network_failure(exc, where, timeout)
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


# --- one account --------------------------------------------------------------------------


async def probe_account(
    account: ChannelAccount, urls: ProviderUrls, timeout: float = 5.0
) -> ProbeResult:
    """The test for this account's channel; never raises."""
    try:
        secrets = {k: v.get_secret_value() for k, v in account.secrets.items()}
        if account.channel is Channel.EMAIL:
            try:
                settings = imap_settings_of(account.name, account.config, secrets)
            except InvalidEmailAccount as exc:
                return ProbeResult(False, str(exc))
            return await probe_imap(settings, secrets.get(PASSWORD, ""), timeout)
        if account.channel is Channel.TELEGRAM:
            return await probe_telegram(urls.telegram, secrets.get(TOKEN, ""), timeout)
        if account.channel is Channel.VIBER:
            return await probe_viber(urls.viber, secrets.get(TOKEN, ""), timeout)
        if account.channel is Channel.VK:
            group = account.config.get("group_id")
            return await probe_vk(
                urls.vk, secrets.get(TOKEN, ""), str(group) if group else None, timeout
            )
        if account.channel is Channel.SMS:
            return await probe_sms(account, timeout)
        if account.channel is Channel.PHONE:
            return await probe_phone(account.name, account.config, secrets, urls.gateway, timeout)
    except Exception as exc:
        return ProbeResult(False, f"the test failed: {type(exc).__name__}")
    return ProbeResult(False, f"no connection test for {account.channel.value} accounts")
