"""Agents' phone extensions as telephony sees them (ticket-core owns them on the agent
profile, ``agents.phone_extension``; ``docs/telephony.md``).

ticket-core answers ``GET /internal/v1/agents/phone?extension=`` (the active agent on an
extension) and ``GET /internal/v1/agents/{id}/phone`` (an agent's extension) with this
shape, under the internal token.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

AGENT_PHONE_PATH = "/internal/v1/agents/phone"
AGENT_PHONE_OF_PATH = "/internal/v1/agents/{agent_id}/phone"


class AgentPhone(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    agent_id: int
    name: str = ""
    active: bool = True
    extension: str | None = None
