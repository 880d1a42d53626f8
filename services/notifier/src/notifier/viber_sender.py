"""Replies on Viber: ``POST <base>/send_message`` with ``X-Viber-Auth-Token`` (httpx).

Text messages (split at 7000 characters on paragraph boundaries); attachments as
``picture`` (JPEG/PNG up to 1 MB) or ``file`` messages when a public link to the blob can
be made (Viber fetches media by URL: ``NOTIFIER_PUBLIC_MEDIA_BASE_URL`` and
``MEDIA_LINK_KEY``, served by the gateway), otherwise listed by name in the text.
Answers: ``status`` 0 is success (``message_token`` recorded for delivery receipts);
12 (too many requests), HTTP 429/5xx and network errors are transient; any other status
(not subscribed, blocked, bad data) is permanent.
"""

from __future__ import annotations

from typing import Any

import httpx
from helpdesk_common.channel_accounts import TOKEN, ChannelAccount, ChannelAccountDirectory
from helpdesk_common.consuming import TransientError
from helpdesk_common.media_links import MediaLinks
from helpdesk_common.records import AttachmentRef, Channel, OutboundMessage
from helpdesk_common.sent_messages import SentMessage, SentMessageMap

from .messenger_parts import PartLog, rate_limited, split_text
from .settings import NotifierSettings
from .smtp_sender import PermanentSendError

TEXT_LIMIT = 7000
TOO_MANY_REQUESTS = 12
PICTURE_TYPES = ("image/jpeg", "image/png")
PICTURE_MAX_BYTES = 1024 * 1024


class ViberChannel:
    def __init__(
        self,
        settings: NotifierSettings,
        accounts: ChannelAccountDirectory,
        parts: PartLog,
        sent: SentMessageMap,
        links: MediaLinks | None,
    ) -> None:
        self._settings = settings
        self._accounts = accounts
        self._parts = parts
        self._sent = sent
        self._links = links
        self._http = httpx.AsyncClient(
            base_url=settings.viber_api_base_url.rstrip("/"),
            timeout=settings.provider_timeout_seconds,
        )

    def _sender(self, account: ChannelAccount) -> dict[str, str]:
        sender = {"name": str(account.config.get("sender_name") or account.display_name)[:28]}
        if account.config.get("sender_avatar"):
            sender["avatar"] = str(account.config["sender_avatar"])
        return sender if sender["name"] else {"name": "Support"}

    def _body(self, part: str | AttachmentRef) -> dict[str, Any]:
        if isinstance(part, str):
            return {"type": "text", "text": part}
        assert part.blob is not None and self._links is not None
        url = self._links.url(part.blob.sha256, part.filename or "file")
        if part.content_type in PICTURE_TYPES and part.size <= PICTURE_MAX_BYTES:
            return {"type": "picture", "text": "", "media": url}
        return {"type": "file", "media": url, "size": part.size, "file_name": part.filename}

    async def _send(self, token: str, payload: dict[str, Any]) -> str:
        try:
            response = await self._http.post(
                "/send_message", json=payload, headers={"X-Viber-Auth-Token": token}
            )
        except httpx.HTTPError as exc:
            raise TransientError(f"viber: {type(exc).__name__}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientError(f"viber: HTTP {response.status_code}")
        if response.status_code != 200:
            raise PermanentSendError(f"viber: HTTP {response.status_code}")
        answer = response.json()
        status = answer.get("status")
        if status == 0 and answer.get("message_token") is not None:
            return str(answer["message_token"])
        reason = f"viber: status {status} {answer.get('status_message', '')}".strip()
        if status == TOO_MANY_REQUESTS:
            await rate_limited("viber", 1.0, self._settings.max_retry_wait_seconds)
        raise PermanentSendError(reason)

    def _parts_of(self, outbound: OutboundMessage) -> list[str | AttachmentRef]:
        files = [a for a in outbound.attachments if a.blob is not None]
        text = outbound.text
        if files and self._links is None:
            text += "\n\n" + "\n".join(f"[attachment not sent: {a.filename}]" for a in files)
            files = []
        return [*split_text(text, TEXT_LIMIT), *files]

    async def __call__(self, outbound: OutboundMessage) -> str | None:
        account = await self._accounts.get_enabled(Channel.VIBER, outbound.channel_account)
        if account is None or not account.secret(TOKEN):
            raise PermanentSendError(f"no enabled viber account {outbound.channel_account!r}")
        token = account.require_secret(TOKEN)
        done = await self._parts.sent(outbound.outbound_id)
        for index, part in enumerate(self._parts_of(outbound)):
            if index in done:
                continue
            payload = {
                "receiver": outbound.recipient,
                "sender": self._sender(account),
                "tracking_data": outbound.outbound_id,
                **self._body(part),
            }
            message_token = await self._send(token, payload)
            done[index] = message_token
            await self._parts.record(outbound.outbound_id, index, message_token)
            await self._sent.remember(
                Channel.VIBER,
                account.name,
                message_token,
                SentMessage(outbound.outbound_id, outbound.message_id),
            )
        return done.get(0)

    async def aclose(self) -> None:
        await self._http.aclose()
