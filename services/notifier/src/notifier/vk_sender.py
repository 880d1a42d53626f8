"""Replies on VK: ``messages.send`` through ``vk_api`` (synchronous: run in a thread).

Every call carries a ``random_id`` derived from our outbound id and the part number, so
a retried send is dropped by VK instead of being delivered twice. Texts are split at
4096 characters; attachments are uploaded (photos with ``photos.getMessagesUploadServer``
/ ``saveMessagesPhoto``, other files as documents) with ``vk_api.VkUpload``
(``photo_messages``, ``document_message``) and sent as their own parts. ``vk_api`` has
its API host hard-coded: a ``requests.Session`` that
rebases ``https://api.vk.ru`` onto ``NOTIFIER_VK_API_BASE_URL`` points it elsewhere.
Errors: codes 6 (too many requests) and 10 (internal), HTTP 5xx and network errors are
transient; anything else (901 messages not allowed, 902 privacy, 7 no permission) is
permanent.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from typing import Any

import requests
import vk_api
from helpdesk_common.blobstore import BlobStore
from helpdesk_common.channel_accounts import TOKEN, ChannelAccountDirectory
from helpdesk_common.consuming import TransientError
from helpdesk_common.records import AttachmentRef, Channel, OutboundMessage
from helpdesk_common.sent_messages import SentMessage, SentMessageMap
from vk_api.exceptions import TOO_MANY_RPS_CODE, ApiError, ApiHttpError

from .messenger_parts import PartLog, split_text
from .settings import NotifierSettings
from .smtp_sender import PermanentSendError

VK_API_HOST = "https://api.vk.ru"
TEXT_LIMIT = 4096
TRANSIENT_CODES = frozenset({6, 10})
PHOTO_TYPES = ("image/jpeg", "image/png", "image/gif")


def random_id(outbound_id: str, part: int) -> int:
    """A stable positive int32 for (outbound id, part): the same on every retry."""
    digest = hashlib.sha256(f"{outbound_id}:{part}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF or 1


class RebasedSession(requests.Session):
    """Sends vk_api's ``https://api.vk.ru/...`` requests to another base URL."""

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__()
        self._base = base_url.rstrip("/")
        self._timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        text = url.decode() if isinstance(url, bytes) else url
        if text.startswith(VK_API_HOST):
            text = self._base + text[len(VK_API_HOST) :]
        kwargs.setdefault("timeout", self._timeout)
        verb = method.decode() if isinstance(method, bytes) else method
        return super().request(verb, text, *args, **kwargs)


class VkChannel:
    def __init__(
        self,
        settings: NotifierSettings,
        accounts: ChannelAccountDirectory,
        blobs: BlobStore,
        parts: PartLog,
        sent: SentMessageMap,
    ) -> None:
        self._settings = settings
        self._accounts = accounts
        self._blobs = blobs
        self._parts = parts
        self._sent = sent
        self._clients: dict[str, vk_api.VkApi] = {}

    def _client(self, token: str) -> vk_api.VkApi:
        client = self._clients.get(token)
        if client is None:
            s = self._settings
            session = RebasedSession(s.vk_api_base_url, s.provider_timeout_seconds)
            client = vk_api.VkApi(token=token, api_version=s.vk_api_version, session=session)
            client.RPS_DELAY = s.vk_rps_delay
            # vk_api would sleep and retry error 6 itself, without bound: we decide.
            client.error_handlers.pop(TOO_MANY_RPS_CODE, None)
            self._clients[token] = client
        return client

    def _upload(self, client: vk_api.VkApi, peer_id: int, item: AttachmentRef, data: bytes) -> str:
        upload = vk_api.VkUpload(client)
        buffer = io.BytesIO(data)
        buffer.name = item.filename or "file.bin"  # vk_api takes the extension from it
        if item.content_type in PHOTO_TYPES:
            photo = upload.photo_messages(photos=[buffer], peer_id=peer_id)[0]
            return f"photo{photo['owner_id']}_{photo['id']}"
        saved = upload.document_message(buffer, title=item.filename or "file", peer_id=peer_id)
        doc = saved.get("doc") or saved
        return f"doc{doc['owner_id']}_{doc['id']}"

    def _send_part(self, client: vk_api.VkApi, params: dict[str, Any]) -> str:
        try:
            return str(client.method("messages.send", params))
        except ApiError as exc:
            if exc.code in TRANSIENT_CODES:
                raise TransientError(f"vk: error {exc.code}") from exc
            message = exc.error.get("error_msg", "")
            raise PermanentSendError(f"vk: error {exc.code} {message}") from exc
        except ApiHttpError as exc:
            if exc.response.status_code >= 500 or exc.response.status_code == 429:
                raise TransientError(f"vk: HTTP {exc.response.status_code}") from exc
            raise PermanentSendError(f"vk: HTTP {exc.response.status_code}") from exc
        except requests.RequestException as exc:
            raise TransientError(f"vk: {type(exc).__name__}") from exc

    async def __call__(self, outbound: OutboundMessage) -> str | None:
        account = await self._accounts.get_enabled(Channel.VK, outbound.channel_account)
        if account is None or not account.secret(TOKEN):
            raise PermanentSendError(f"no enabled vk account {outbound.channel_account!r}")
        client = self._client(account.require_secret(TOKEN))
        peer_id = int(outbound.recipient)
        parts: list[str | AttachmentRef] = [
            *split_text(outbound.text, TEXT_LIMIT),
            *(a for a in outbound.attachments if a.blob is not None),
        ]
        done = await self._parts.sent(outbound.outbound_id)
        for index, part in enumerate(parts):
            if index in done:
                continue
            params: dict[str, Any] = {
                "peer_id": peer_id,
                "random_id": random_id(outbound.outbound_id, index),
            }
            if isinstance(part, str):
                params["message"] = part
            else:
                assert part.blob is not None
                data = await self._blobs.get(part.blob.sha256)
                params["attachment"] = await asyncio.to_thread(
                    self._upload_checked, client, peer_id, part, data
                )
            provider_id = await asyncio.to_thread(self._send_part, client, params)
            done[index] = provider_id
            await self._parts.record(outbound.outbound_id, index, provider_id)
            await self._sent.remember(
                Channel.VK,
                account.name,
                provider_id,
                SentMessage(outbound.outbound_id, outbound.message_id),
            )
        return done.get(0)

    def _upload_checked(
        self, client: vk_api.VkApi, peer_id: int, item: AttachmentRef, data: bytes
    ) -> str:
        try:
            return self._upload(client, peer_id, item, data)
        except ApiError as exc:
            if exc.code in TRANSIENT_CODES:
                raise TransientError(f"vk upload: error {exc.code}") from exc
            raise PermanentSendError(f"vk upload: error {exc.code}") from exc
        except (ApiHttpError, requests.RequestException, vk_api.VkApiError) as exc:
            raise TransientError(f"vk upload: {type(exc).__name__}") from exc
