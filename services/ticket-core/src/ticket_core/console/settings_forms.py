"""What the settings forms mean (pure): the fields of each channel's account form, and
form values turned into the REST API's request bodies.

Secrets are never put back into a form: an edit form shows "set" and an empty field;
an empty secret field keeps the stored value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException
from helpdesk_common.records import Channel
from pydantic import ValidationError

from ..channel_accounts import MANAGED


@dataclass(frozen=True)
class AccountField:
    key: str
    label: str
    secret: bool = False
    kind: str = "text"  # text | number | select | bool | list
    options: tuple[str, ...] = ()
    hint: str = ""


_EMAIL = (
    AccountField("host", "IMAP host"),
    AccountField("port", "IMAP port", kind="number", hint="993 for TLS, 143 otherwise"),
    AccountField("security", "Security", kind="select", options=("tls", "starttls", "none")),
    AccountField("login", "IMAP login"),
    AccountField("password", "IMAP password", secret=True),
    AccountField("folder", "Folder", hint="INBOX when empty"),
    AccountField("own_addresses", "Our own addresses", kind="list", hint="comma-separated"),
    AccountField("tls_verify", "Verify the TLS certificate", kind="bool"),
)
_SMS_PROVIDERS = ("twilio", "smsc", "smsru", "smsaero")

ACCOUNT_FIELDS: dict[Channel, tuple[AccountField, ...]] = {
    Channel.EMAIL: _EMAIL,
    Channel.TELEGRAM: (
        AccountField("token", "Bot token", secret=True),
        AccountField("webhook_secret", "Webhook secret", secret=True, hint="generated if empty"),
    ),
    Channel.VIBER: (AccountField("token", "Auth token", secret=True),),
    Channel.VK: (
        AccountField("group_id", "Community id"),
        AccountField("token", "Community token", secret=True),
        AccountField("webhook_secret", "Callback API secret", secret=True),
        AccountField("confirmation", "Confirmation string", secret=True),
    ),
    Channel.SMS: (
        AccountField("provider", "Provider", kind="select", options=_SMS_PROVIDERS),
        AccountField("sender", "Sender"),
        AccountField("default_country", "Default country", hint="ISO code, RU when empty"),
        AccountField("api_base_url", "API base URL", hint="the provider's when empty"),
        AccountField("account_sid", "Account SID (Twilio)"),
        AccountField("messaging_service_sid", "Messaging service SID (Twilio)"),
        AccountField("login", "Login (SMSC.ru)"),
        AccountField("email", "Email (SMSAero)"),
        AccountField("auth_token", "Auth token (Twilio)", secret=True),
        AccountField("password", "Password (SMSC.ru)", secret=True),
        AccountField("api_key", "API key (SMSC.ru, SMSAero)", secret=True),
        AccountField("api_id", "API id (SMS.ru)", secret=True),
        AccountField("callback_token", "Callback token (SMS.ru)", secret=True),
    ),
    Channel.PHONE: (
        AccountField("kind", "Kind", kind="select", options=("simple_calls", "pbx_webhook")),
        AccountField("url", "Simple Calls URL", hint="ws://host:10150"),
        AccountField("default_country", "Default country", hint="ISO code, RU when empty"),
        AccountField("password", "Password (Simple Calls)", secret=True),
        AccountField("webhook_token", "Webhook token (PBX)", secret=True),
    ),
}

CHANNEL_TITLES: dict[Channel, str] = {
    Channel.EMAIL: "Mailbox (IMAP)",
    Channel.TELEGRAM: "Telegram bot",
    Channel.VIBER: "Viber bot",
    Channel.VK: "VK community",
    Channel.SMS: "SMS provider",
    Channel.PHONE: "Telephony",
}

# What identifies the account in the list (the first config key it has).
ADDRESS_KEYS = ("login", "host", "group_id", "sender", "url", "provider")


class FormRefused(ValueError):
    """A form value that cannot be used; the message names the field, never a secret."""


def managed_channel(raw: str) -> Channel:
    try:
        channel = Channel(raw)
    except ValueError as exc:
        raise FormRefused("unknown channel") from exc
    if channel not in MANAGED:
        raise FormRefused("unknown channel")
    return channel


def checkbox(form: Mapping[str, Any], name: str) -> bool:
    return str(form.get(name, "")).lower() in {"1", "on", "true", "yes"}


def text(form: Mapping[str, Any], name: str, limit: int = 1000) -> str:
    value = str(form.get(name) or "").strip()
    if len(value) > limit:
        raise FormRefused(f"{name} is too long")
    return value


def validation_text(exc: ValidationError) -> str:
    """A pydantic error as one line naming the fields, without the input values."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(p) for p in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


# What a settings form's write may raise; ``refusal`` says how to show each.
REFUSALS = (FormRefused, ValidationError, HTTPException)


def refusal(exc: FormRefused | ValidationError | HTTPException) -> tuple[str, int]:
    """The message and status of a refused write: 422 for a form value or a request
    body the REST API's model refuses, else the API's own status and reason."""
    if isinstance(exc, FormRefused):
        return str(exc), 422
    if isinstance(exc, ValidationError):
        return validation_text(exc), 422
    return str(exc.detail), exc.status_code


def account_values(
    channel: Channel, form: Mapping[str, Any], *, editing: bool
) -> tuple[dict[str, Any], dict[str, str]]:
    """(config, secrets) from the account form.

    Creating: empty fields are left out. Editing: an empty config field is ``None``
    (the API's merge deletes the key), an empty secret field is left out (kept).
    """
    config: dict[str, Any] = {}
    secrets: dict[str, str] = {}
    for spec in ACCOUNT_FIELDS[channel]:
        field_name = f"f_{spec.key}"
        if spec.kind == "bool":
            config[spec.key] = checkbox(form, field_name)
            continue
        raw = text(form, field_name, 4000)
        if spec.secret:
            if raw:
                secrets[spec.key] = raw
            continue
        if not raw:
            if editing:
                config[spec.key] = None
            continue
        if spec.kind == "number":
            try:
                config[spec.key] = int(raw)
            except ValueError as exc:
                raise FormRefused(f"{spec.label}: a whole number") from exc
        elif spec.kind == "list":
            config[spec.key] = [part.strip() for part in raw.split(",") if part.strip()]
        elif spec.kind == "select" and raw not in spec.options:
            raise FormRefused(f"{spec.label}: choose one of {', '.join(spec.options)}")
        else:
            config[spec.key] = raw
    return config, secrets


def form_value(spec: AccountField, config: Mapping[str, Any]) -> str:
    """A config value as the form shows it (never a secret)."""
    if spec.secret:
        return ""
    value = config.get(spec.key)
    if value is None:
        return ""
    if spec.kind == "list" and isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def bool_value(spec: AccountField, config: Mapping[str, Any]) -> bool:
    value = config.get(spec.key)
    return True if value is None and spec.key == "tls_verify" else bool(value)


def address_of(config: Mapping[str, Any]) -> str:
    for key in ADDRESS_KEYS:
        if config.get(key):
            return str(config[key])
    return ""


def ordered_ids(values: list[str]) -> list[int]:
    """The ids of a reorder form, in order."""
    ids: list[int] = []
    for raw in values[:1000]:
        try:
            ids.append(int(str(raw)))
        except ValueError as exc:
            raise FormRefused("the order must list priority ids") from exc
    return ids


def moved(ids: list[int], row_id: int, direction: str) -> list[int]:
    """``ids`` with ``row_id`` moved one place up (towards the start) or down."""
    if row_id not in ids or direction not in {"up", "down"}:
        raise FormRefused("no such priority or direction")
    index = ids.index(row_id)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(ids):
        return ids
    result = list(ids)
    result[index], result[other] = result[other], result[index]
    return result
