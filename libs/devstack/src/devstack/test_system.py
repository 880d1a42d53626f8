"""The whole system as the end-to-end tests run it: six services, one configuration.

Every test package shares one set of service processes (one consumer group each), so no
two copies of a service ever race for the same records. The outside world is local:
fake Telegram/Viber/VK servers (``fake_providers``) and a real SMTP server (aiosmtpd).
Test credentials only; nothing here is used in production.
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from cryptography.fernet import Fernet

from .fake_pbx import FakeSimpleCalls
from .fake_providers import FakeServer, FakeTelegram, FakeViber, FakeVk
from .fake_sms import FakeSmsAero, FakeSmsc, FakeSmsRu, FakeTwilio
from .processes import free_port

INTERNAL_TOKEN = "internal-test-token-5c1e"
MEDIA_LINK_KEY = "media-link-test-key"
TELEGRAM_TOKEN = "700100:AAH-fake-telegram-token"
TELEGRAM_SECRET = "tg-webhook-secret_42"
VIBER_TOKEN = "4453b6ac12345678-fake-viber-token"
VK_TOKEN = "vk1.a.fake-community-token"
VK_SECRET = "vk-callback-secret"
VK_CONFIRMATION = "a1b2c3d4"
VK_GROUP = 77
# SMS and telephony (fake_sms, fake_pbx)
TWILIO_SID = "AC0123456789abcdef0123456789abcdef"
TWILIO_TOKEN = "twilio-fake-auth-token-77"
TWILIO_NUMBER = "+15005550006"
SMSC_LOGIN, SMSC_PASSWORD = "acme", "smsc-fake-password"
SMSRU_API_ID = "smsru-fake-api-id"
SMSRU_CALLBACK_TOKEN = "smsru-callback-token-9"
SMSAERO_EMAIL, SMSAERO_KEY = "ops@acme.test", "smsaero-fake-key"
PBX_TOKEN = "pbx-webhook-token-31"
BLOCKED_CALLER = "+79990000000"
SIMPLE_CALLS_PASSWORD = "simple-calls-password"
PUBLIC_GATEWAY_URL = "https://help.example.com"  # what Twilio signs: we are behind a proxy


@dataclass
class Fakes:
    telegram: FakeTelegram
    viber: FakeViber
    vk: FakeVk
    twilio: FakeTwilio = field(default_factory=FakeTwilio)
    smsc: FakeSmsc = field(default_factory=FakeSmsc)
    smsru: FakeSmsRu = field(default_factory=FakeSmsRu)
    smsaero: FakeSmsAero = field(default_factory=FakeSmsAero)
    simple_calls: FakeSimpleCalls = field(
        default_factory=lambda: FakeSimpleCalls(SIMPLE_CALLS_PASSWORD)
    )

    @classmethod
    def start(cls) -> Fakes:
        fakes = cls(FakeTelegram(), FakeViber(), FakeVk())
        fakes.telegram.tokens.add(TELEGRAM_TOKEN)
        fakes.viber.tokens.add(VIBER_TOKEN)
        fakes.vk.tokens.add(VK_TOKEN)
        fakes.twilio.credentials[TWILIO_SID] = TWILIO_TOKEN
        fakes.smsc.credentials[SMSC_LOGIN] = SMSC_PASSWORD
        fakes.smsru.api_ids.add(SMSRU_API_ID)
        fakes.smsaero.credentials[SMSAERO_EMAIL] = SMSAERO_KEY
        for server in fakes.servers:
            server.start()
        fakes.simple_calls.start()
        return fakes

    @property
    def servers(self) -> tuple[FakeServer, ...]:
        return (
            self.telegram,
            self.viber,
            self.vk,
            self.twilio,
            self.smsc,
            self.smsru,
            self.smsaero,
        )

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
        self.simple_calls.stop()


@dataclass
class MailSink:
    """aiosmtpd handler that keeps what it receives. ``answer_next[address]`` queues SMTP
    answers (e.g. ``"451 4.3.0 try later"``, ``"550 5.1.1 no such user"``) given to the
    next RCPT TO of that address instead of accepting it; ``refused`` logs them."""

    port: int = field(default_factory=free_port)
    received: list[EmailMessage] = field(default_factory=list)
    answer_next: dict[str, list[str]] = field(default_factory=dict)
    refused: list[tuple[str, str]] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        queued = self.answer_next.get(address.lower())
        if queued:
            answer = queued.pop(0)
            self.refused.append((address.lower(), answer))
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append(message)
        return "250 Message accepted"


class SmtpServer:
    """The test SMTP server around a ``MailSink``: stoppable and startable again on the
    same port with the same sink (an aiosmtpd ``Controller`` cannot start twice)."""

    def __init__(self, sink: MailSink) -> None:
        self.sink = sink
        self._controller: Controller | None = None

    def start(self) -> None:
        if self._controller is None:
            self._controller = Controller(self.sink, hostname="127.0.0.1", port=self.sink.port)
            self._controller.start()

    def stop(self) -> None:
        """Close the listening socket and every open session at once."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def service_env(fakes: Fakes, ports: dict[str, int], smtp_port: int) -> dict[str, dict[str, str]]:
    core = f"http://127.0.0.1:{ports['ticket-core']}"
    common = {"MEDIA_LINK_KEY": MEDIA_LINK_KEY}
    return {
        "ticket-core": {
            "TICKET_CORE_SECRETS_KEY": Fernet.generate_key().decode(),
            "TICKET_CORE_INTERNAL_TOKEN": INTERNAL_TOKEN,
            "TICKET_CORE_ALLOW_ANONYMOUS": "true",  # the tests call the API without a token
            "TICKET_CORE_MAX_UPLOAD_BYTES": str(1024 * 1024),
            "TICKET_CORE_TELEGRAM_API_BASE_URL": fakes.telegram.base_url,
            "TICKET_CORE_VIBER_API_BASE_URL": f"{fakes.viber.base_url}/pa",
            "TICKET_CORE_VK_API_BASE_URL": fakes.vk.base_url,
            # "Test connection" of a PBX webhook account shows this address
            "TICKET_CORE_GATEWAY_PUBLIC_URL": PUBLIC_GATEWAY_URL,
            # the console's pages open the gateway's agent WebSocket (docs/console.md)
            "TICKET_CORE_CONSOLE_PUSH_URL": f"ws://127.0.0.1:{ports['gateway']}/ws/agents",
        },
        "messenger-ingest": {
            "MESSENGER_INGEST_TICKET_CORE_URL": core,
            "MESSENGER_INGEST_INTERNAL_TOKEN": INTERNAL_TOKEN,
            "MESSENGER_INGEST_TELEGRAM_API_BASE_URL": fakes.telegram.base_url,
        },
        "notifier": {
            **common,
            "NOTIFIER_SMTP_HOST": "127.0.0.1",
            "NOTIFIER_SMTP_PORT": str(smtp_port),
            "NOTIFIER_TICKET_CORE_URL": core,
            "NOTIFIER_INTERNAL_TOKEN": INTERNAL_TOKEN,
            "NOTIFIER_TELEGRAM_API_BASE_URL": fakes.telegram.base_url,
            "NOTIFIER_VIBER_API_BASE_URL": f"{fakes.viber.base_url}/pa",
            "NOTIFIER_VK_API_BASE_URL": fakes.vk.base_url,
            "NOTIFIER_VK_RPS_DELAY": "0",
            "NOTIFIER_MAX_RETRY_WAIT_SECONDS": "1",
            "NOTIFIER_PUBLIC_MEDIA_BASE_URL": f"http://127.0.0.1:{ports['gateway']}",
            "NOTIFIER_PUBLIC_WEBHOOK_BASE_URL": PUBLIC_GATEWAY_URL,
            "NOTIFIER_SMS_DEFAULT_ACCOUNT": "sms_twilio",
            "NOTIFIER_SMS_POLL_INTERVAL_SECONDS": "0.5",
            "NOTIFIER_NOTIFICATION_CONFIG_TTL_SECONDS": "0.5",
            # The fakes do not limit: tests send streams to one chat (limits: test_rate_limits)
            "NOTIFIER_TELEGRAM_CHAT_RATE": "10000",
            "NOTIFIER_TELEGRAM_CHAT_BURST": "10000",
            "NOTIFIER_TELEGRAM_GLOBAL_RATE": "10000",
            "NOTIFIER_SMS_RATE": "10000",
        },
        "telephony": {
            "TELEPHONY_TICKET_CORE_URL": core,
            "TELEPHONY_INTERNAL_TOKEN": INTERNAL_TOKEN,
            "TELEPHONY_ALLOW_ANONYMOUS": "true",  # the tests call click-to-call without one
            "TELEPHONY_ACCOUNT_REFRESH_SECONDS": "0.5",
            "TELEPHONY_RECONNECT_INITIAL_SECONDS": "0.2",
            "TELEPHONY_RECONNECT_MAX_SECONDS": "1",
        },
        "email-ingest": {
            # Mailboxes created through ticket-core's API are polled within a second.
            "EMAIL_INGEST_TICKET_CORE_URL": core,
            "EMAIL_INGEST_INTERNAL_TOKEN": INTERNAL_TOKEN,
            "EMAIL_INGEST_MAILBOX_REFRESH_SECONDS": "0.5",
            "EMAIL_INGEST_BACKOFF_INITIAL_SECONDS": "0.2",
            "EMAIL_INGEST_BACKOFF_MAX_SECONDS": "2",
        },
        "gateway": {
            **common,
            "GATEWAY_TICKET_CORE_URL": core,
            "GATEWAY_INTERNAL_TOKEN": INTERNAL_TOKEN,
            "GATEWAY_ACCOUNT_NEGATIVE_TTL_SECONDS": "0.5",
            "GATEWAY_RATE_LIMIT_PER_MINUTE": "100000",
            "GATEWAY_PUBLIC_BASE_URL": PUBLIC_GATEWAY_URL,
            "GATEWAY_PUSH_SESSION_CHECK_SECONDS": "0.5",  # revoked sessions close quickly
        },
    }


CHANNEL_ACCOUNTS: list[dict[str, Any]] = [
    {
        "channel": "telegram",
        "name": "support_bot",
        "display_name": "Support bot",
        "secrets": {"token": TELEGRAM_TOKEN, "webhook_secret": TELEGRAM_SECRET},
    },
    {
        "channel": "viber",
        "name": "viber_main",
        "config": {"sender_name": "Acme Support"},
        "secrets": {"token": VIBER_TOKEN},
    },
    {
        "channel": "vk",
        "name": "vk_club",
        "config": {"group_id": VK_GROUP},
        "secrets": {
            "token": VK_TOKEN,
            "webhook_secret": VK_SECRET,
            "confirmation": VK_CONFIRMATION,
        },
    },
]


def sms_and_phone_accounts(fakes: Fakes) -> list[dict[str, Any]]:
    return [
        {
            "channel": "sms",
            "name": "sms_twilio",
            "config": {
                "provider": "twilio",
                "account_sid": TWILIO_SID,
                "sender": TWILIO_NUMBER,
                "default_country": "RU",
                "api_base_url": fakes.twilio.base_url,
            },
            "secrets": {"auth_token": TWILIO_TOKEN},
        },
        {
            "channel": "sms",
            "name": "sms_smsc",
            "config": {
                "provider": "smsc",
                "login": SMSC_LOGIN,
                "sender": "ACME",
                "api_base_url": fakes.smsc.base_url,
            },
            "secrets": {"password": SMSC_PASSWORD},
        },
        {
            "channel": "sms",
            "name": "sms_smsru",
            "config": {"provider": "smsru", "sender": "ACME", "api_base_url": fakes.smsru.base_url},
            "secrets": {"api_id": SMSRU_API_ID, "callback_token": SMSRU_CALLBACK_TOKEN},
        },
        {
            "channel": "sms",
            "name": "sms_aero",
            "config": {
                "provider": "smsaero",
                "email": SMSAERO_EMAIL,
                "sender": "ACME",
                "api_base_url": fakes.smsaero.base_url,
            },
            "secrets": {"api_key": SMSAERO_KEY},
        },
        {
            "channel": "phone",
            "name": "pbx_main",
            "config": {
                "kind": "pbx_webhook",
                "default_country": "RU",
                "missed": "call_back",
                "blocked_numbers": [BLOCKED_CALLER],
            },
            "secrets": {"webhook_token": PBX_TOKEN},
        },
        {
            "channel": "phone",
            "name": "simple_calls",
            "config": {
                "kind": "simple_calls",
                "url": fakes.simple_calls.url,
                "default_country": "RU",
                "extensions": {"101": 1},
            },
            "secrets": {"password": SIMPLE_CALLS_PASSWORD},
        },
    ]


async def ensure_sms_and_phone_accounts(core_url: str, fakes: Fakes) -> None:
    """Create the SMS and phone accounts unless they exist (test packages share them)."""
    async with httpx.AsyncClient(base_url=core_url, timeout=10) as client:
        for account in sms_and_phone_accounts(fakes):
            response = await client.post("/api/v1/channel-accounts", json=account)
            if response.status_code != 409:
                response.raise_for_status()


async def create_channel_accounts(core_url: str) -> None:
    async with httpx.AsyncClient(base_url=core_url, timeout=10) as client:
        for account in CHANNEL_ACCOUNTS:
            response = await client.post("/api/v1/channel-accounts", json=account)
            response.raise_for_status()
