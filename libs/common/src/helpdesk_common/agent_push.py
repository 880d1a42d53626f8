"""The push envelope: what publishers put on the Redis pub/sub channel ``helpdesk:push``
and every gateway replica relays to the WebSocket of each agent it targets.

One JSON object per message. The event's own fields (``kind``, ``ticket_id``,
``call_id``, ...) are at the top level, beside the routing fields:

- ``agent_ids``: the agents it is for (the ticket's responsible agent, its responsible
  group's members, its observers; the agent whose extension rings);
- ``roles``: and every agent of these roles (supervisors follow all ticket work);
- both absent or ``null``: every agent (a call ringing on no agent's extension).

Publishers: the notifier (ticket events, ``event_id`` + ticket fields) and telephony
(``call.ringing`` with the caller card). Agents receive the same object.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

PUSH_CHANNEL = "helpdesk:push"
# ticket-core's internal lookup of the agents a ticket concerns (the notifier's targets).
AUDIENCE_PATH = "/internal/v1/tickets/audience"
# Roles that follow every ticket's pushes besides the agents it concerns.
SUPERVISOR_ROLES = ("administrator", "lead_specialist")


class AgentPush(BaseModel):
    model_config = ConfigDict(extra="allow")

    kind: str = Field(min_length=1, description="What happened, e.g. ticket.created.")
    agent_ids: list[int] | None = Field(default=None, description="The agents it is for.")
    roles: list[str] | None = Field(
        default=None, description="And every agent of these roles; both null: every agent."
    )

    def reaches(self, agent_id: int, role: str) -> bool:
        if self.agent_ids is None and self.roles is None:
            return True
        named = self.agent_ids is not None and agent_id in self.agent_ids
        return named or (self.roles is not None and role in self.roles)


def encode_push(
    kind: str,
    fields: Mapping[str, Any],
    *,
    agent_ids: Iterable[int] | None = None,
    roles: Iterable[str] | None = None,
) -> str:
    """The JSON text to publish: ``fields`` plus the routing fields."""
    body: dict[str, Any] = {**fields, "kind": kind}
    body["agent_ids"] = sorted(set(agent_ids)) if agent_ids is not None else None
    if roles is not None:
        body["roles"] = sorted(set(roles))
    return json.dumps(body)


def decode_push(raw: bytes | str) -> AgentPush | None:
    """The envelope, or None for a message that is not one (logged and dropped by readers)."""
    try:
        return AgentPush.model_validate_json(raw)
    except ValidationError:
        return None
