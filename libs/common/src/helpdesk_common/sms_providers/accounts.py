"""SMS channel accounts: which provider, the sender, the default country, credentials.

``config`` (not secret): ``provider`` (twilio | smsc | smsru | smsaero), ``sender`` (the
From number, alphanumeric sender or SMSAero sign), ``default_country`` (ISO alpha-2 for
national number formats, default RU), ``api_base_url`` (the provider's API, for a
regional mirror or a local fake), and per provider ``account_sid`` and optionally
``messaging_service_sid`` (Twilio), ``login`` (SMSC.ru), ``email`` (SMSAero).
``secrets``: ``auth_token`` (Twilio), ``password`` or ``api_key`` (SMSC.ru), ``api_id``
(SMS.ru), ``api_key`` (SMSAero), and ``callback_token`` for SMS.ru status pushes.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

Provider = Literal["twilio", "smsc", "smsru", "smsaero"]
AUTH_TOKEN = "auth_token"
PASSWORD = "password"
API_KEY = "api_key"
API_ID = "api_id"
CALLBACK_TOKEN = "callback_token"

DEFAULT_BASE_URLS: dict[str, str] = {
    "twilio": "https://api.twilio.com",
    "smsc": "https://smsc.ru",
    "smsru": "https://sms.ru",
    "smsaero": "https://gate.smsaero.ru",
}


class InvalidSmsAccount(ValueError):
    pass


class SmsAccountConfig(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    provider: Provider
    sender: str | None = Field(default=None, max_length=64)
    default_country: str = Field(default="RU", pattern=r"^[A-Za-z]{2}$")
    api_base_url: str | None = Field(default=None, pattern=r"^https?://")
    account_sid: str | None = None
    messaging_service_sid: str | None = None
    login: str | None = None
    email: str | None = None

    @model_validator(mode="after")
    def _provider_fields(self) -> SmsAccountConfig:
        if self.provider == "twilio" and not self.account_sid:
            raise ValueError("twilio accounts need config.account_sid")
        if self.provider == "twilio" and not (self.sender or self.messaging_service_sid):
            raise ValueError("twilio accounts need config.sender or config.messaging_service_sid")
        if self.provider == "smsc" and not self.login:
            raise ValueError("smsc accounts need config.login")
        if self.provider == "smsaero" and not self.email:
            raise ValueError("smsaero accounts need config.email")
        return self

    def base_url(self) -> str:
        return (self.api_base_url or DEFAULT_BASE_URLS[self.provider]).rstrip("/")


REQUIRED_SECRETS: dict[str, tuple[tuple[str, ...], ...]] = {
    # each inner tuple: one of these is needed
    "twilio": ((AUTH_TOKEN,),),
    "smsc": ((PASSWORD, API_KEY),),
    "smsru": ((API_ID,),),
    "smsaero": ((API_KEY,),),
}


def check_sms_account(config: dict[str, Any], secrets: dict[str, str]) -> SmsAccountConfig:
    """Validate an SMS account; messages name the setting that is wrong, never a value."""
    try:
        parsed = SmsAccountConfig.model_validate(config)
    except ValidationError as exc:
        problems = "; ".join(
            f"config.{'.'.join(str(p) for p in e['loc']) or 'provider'}: {e['msg']}"
            for e in exc.errors()
        )
        raise InvalidSmsAccount(problems) from None
    for options in REQUIRED_SECRETS[parsed.provider]:
        if not any(secrets.get(o) for o in options):
            raise InvalidSmsAccount(
                f"{parsed.provider} accounts need secrets: {' or '.join(options)}"
            )
    return parsed
