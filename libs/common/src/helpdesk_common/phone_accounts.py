"""Phone channel accounts: a Simple Calls server or a PBX that pushes webhooks.

``config``: ``kind`` (``simple_calls`` | ``pbx_webhook``), ``default_country`` (ISO
alpha-2, for national number formats; default RU), ``match_digits`` (callers are matched
to contacts by this many last digits; default 10), ``extensions`` (extension -> agent id:
a fallback only, for extensions no agent profile carries; the agent's own extension is
``agents.phone_extension`` in ticket-core, see docs/telephony.md), the call
rules ``answered`` / ``missed`` (see ticket-core's ``calls``), and for Simple Calls
``url`` (``ws://host:10150`` or ``wss://...``), ``client_type`` and ``group``; for PBX
webhooks ``blocked_numbers`` (a new call from one is answered ``{"action": "reject"}``).
``secrets``: ``password`` (Simple Calls) or ``webhook_token`` (the token in the PBX
webhook URL).
"""

from __future__ import annotations

import base64
from typing import Any, Literal
from urllib.parse import quote, urlencode

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .phone_numbers import DEFAULT_MATCH_DIGITS

PASSWORD = "password"
WEBHOOK_TOKEN = "webhook_token"
# Where the gateway takes a PBX's webhooks: ``<gateway>/webhooks/pbx/<account>/<token>``.
PBX_WEBHOOK_PREFIX = "/webhooks/pbx"
# Simple Calls close codes (4001-4007 are licence problems).
SIMPLE_CALLS_CLOSE_REASONS = {4008: "authentication failed", 4009: "extension connected elsewhere"}
AnsweredRule = Literal["open_or_new", "open_only", "new"]
MissedRule = Literal["call_back", "open_or_call_back", "open_only"]


class InvalidPhoneAccount(ValueError):
    pass


class PhoneAccountConfig(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    kind: Literal["simple_calls", "pbx_webhook"]
    default_country: str = Field(default="RU", pattern=r"^[A-Za-z]{2}$")
    match_digits: int = Field(default=DEFAULT_MATCH_DIGITS, ge=4, le=15)
    extensions: dict[str, int] = Field(default_factory=dict)
    answered: AnsweredRule = "open_or_new"
    missed: MissedRule = "call_back"
    url: str | None = Field(default=None, pattern=r"^wss?://")
    client_type: str = "helpdesk"
    blocked_numbers: list[str] = Field(default_factory=list)
    group: str = ""

    @model_validator(mode="after")
    def _kind_fields(self) -> PhoneAccountConfig:
        if self.kind == "simple_calls" and not self.url:
            raise ValueError("simple_calls accounts need config.url (ws://host:10150)")
        return self

    def extension_of(self, agent_id: int) -> str | None:
        return next((ext for ext, agent in self.extensions.items() if agent == agent_id), None)


def check_phone_account(config: dict[str, Any], secrets: dict[str, str]) -> PhoneAccountConfig:
    try:
        parsed = PhoneAccountConfig.model_validate(config)
    except ValidationError as exc:
        problems = "; ".join(
            f"config.{'.'.join(str(p) for p in e['loc']) or 'kind'}: {e['msg']}"
            for e in exc.errors()
        )
        raise InvalidPhoneAccount(problems) from None
    needed = PASSWORD if parsed.kind == "simple_calls" else WEBHOOK_TOKEN
    if not secrets.get(needed):
        raise InvalidPhoneAccount(f"{parsed.kind} accounts need secrets: {needed}")
    return parsed


def simple_calls_url(config: PhoneAccountConfig, password: str) -> str:
    """The URL a Simple Calls client opens: the password (base64) is its authentication."""
    query = {
        "CID": base64.b64encode(password.encode()).decode(),
        "CT": config.client_type,
        "GID": config.group,
        "PhoneNumber": "",
        "BroadcastEventsMask": "0",
        "BroadcastGroup": config.group,
        "PzProtocolVersion": "2",
    }
    return f"{str(config.url).rstrip('/')}/?{urlencode(query)}"


def simple_calls_close_reason(code: int | None) -> str:
    """What a Simple Calls server means by closing with ``code``."""
    if code in SIMPLE_CALLS_CLOSE_REASONS:
        return SIMPLE_CALLS_CLOSE_REASONS[code]
    return "licence problem" if code and 4001 <= code <= 4007 else "closed"


def pbx_webhook_path(account: str, token: str) -> str:
    """The gateway path a PBX posts its call events to (``gateway/pbx_routes.py``)."""
    return f"{PBX_WEBHOOK_PREFIX}/{quote(account, safe='')}/{quote(token, safe='')}"
