"""ticket-core's internal notification API, as the notifier reads it.

``config()`` (types, templates, layout, options) is cached for
``NOTIFIER_NOTIFICATION_CONFIG_TTL_SECONDS``; ``contexts()`` is asked once per batch of
events, never cached (recipients follow the ticket as it is now). Any failure to get an
answer is a ``TransientError``: the batch is rewound and retried, nothing is lost.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx
from helpdesk_common.consuming import TransientError

PREFIX = "/internal/v1/notifications"
Json = dict[str, Any]


class NotificationSource:
    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        config_ttl_seconds: float = 5.0,
        timeout_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout_seconds
        )
        self._ttl = config_ttl_seconds
        self._clock = clock
        self._config: tuple[float, Json] | None = None

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self._client.request(method, PREFIX + path, **kwargs)
        except httpx.HTTPError as exc:
            raise TransientError(f"ticket-core unreachable: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise TransientError(f"ticket-core answered {response.status_code} on {path}")
        return response.json()

    async def config(self) -> Json:
        if self._config is not None and self._config[0] > self._clock():
            return self._config[1]
        config: Json = await self._call("GET", "/config")
        self._config = (self._clock() + self._ttl, config)
        return config

    async def contexts(self, items: Sequence[Json]) -> list[Json | None]:
        if not items:
            return []
        answer = await self._call("POST", "/contexts", json={"items": list(items)})
        return list(answer["items"])

    async def aclose(self) -> None:
        await self._client.aclose()
