"""``/ws/agents``: the WebSocket a logged-in agent's console keeps open for live pushes.

Authentication at the handshake: the ``helpdesk_session`` cookie, a ``token`` query
parameter or ``Authorization: Bearer``, checked against the Redis session store that
ticket-core writes at login (``agent_sessions``). A missing or dead session is accepted
and closed at once with code 4401. Then:

- the server sends ``{"kind": "hello", "agent_id", "role"}``, then every push aimed at
  the agent (the envelope objects as published);
- heartbeat: the server sends ``{"kind": "ping"}`` every ``push_heartbeat_seconds``; the
  client answers ``{"kind": "pong"}`` (any message counts); a client silent for
  ``push_idle_timeout_seconds`` is closed. A client's ``{"kind": "ping"}`` gets a pong;
- every ``push_session_check_seconds`` the session is looked up again (without extending
  it): a revoked or expired session closes the socket with 4401; a changed role applies.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from helpdesk_common.agent_sessions import COOKIE_NAME, AgentSessions
from helpdesk_common.logs import get_logger
from redis.exceptions import RedisError

from .push_hub import CLOSE_UNAUTHORISED, AgentConnection, PushHub
from .settings import GatewaySettings

log = get_logger(__name__)
PATH = "/ws/agents"


def _token(websocket: WebSocket) -> str | None:
    query = websocket.query_params.get("token")
    if query:
        return query
    scheme, _, bearer = (websocket.headers.get("authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and bearer.strip():
        return bearer.strip()
    return websocket.cookies.get(COOKIE_NAME) or None


def push_router(settings: GatewaySettings, hub: PushHub, store: AgentSessions) -> APIRouter:
    router = APIRouter(tags=["push"])
    allowed_origins = {
        o.strip().rstrip("/") for o in (settings.push_allowed_origins or "").split(",") if o.strip()
    }

    @router.websocket(PATH)
    async def agent_socket(websocket: WebSocket) -> None:
        origin = websocket.headers.get("origin")
        await websocket.accept()
        if allowed_origins and origin is not None and origin.rstrip("/") not in allowed_origins:
            await websocket.close(code=4403, reason="origin not allowed")
            return
        token = _token(websocket)
        try:
            session = await store.lookup(token, touch=False) if token else None
        except RedisError:
            await websocket.close(code=1013, reason="session store unavailable")
            return
        if session is None:
            await websocket.close(code=CLOSE_UNAUTHORISED, reason="not logged in")
            return
        assert token is not None
        connection = AgentConnection(session.agent_id, session.role)
        hub.add(connection)
        log.info("push_socket_opened", agent_id=session.agent_id)
        await websocket.send_text(
            json.dumps({"kind": "hello", "agent_id": session.agent_id, "role": session.role})
        )
        last_heard = time.monotonic()

        async def reader() -> None:
            nonlocal last_heard
            while True:
                text = await websocket.receive_text()
                last_heard = time.monotonic()
                with contextlib.suppress(ValueError, AttributeError):
                    if json.loads(text).get("kind") == "ping":
                        connection.offer(json.dumps({"kind": "pong"}))

        async def writer() -> None:
            while True:
                await websocket.send_text(await connection.queue.get())

        async def heartbeat() -> None:
            next_check = time.monotonic() + settings.push_session_check_seconds
            next_ping = time.monotonic() + settings.push_heartbeat_seconds
            while not connection.closing.is_set():
                now = time.monotonic()
                if now - last_heard > settings.push_idle_timeout_seconds:
                    connection.close(1001, "no pong from the client")
                    return
                if now >= next_ping:
                    connection.offer(json.dumps({"kind": "ping"}))
                    next_ping = now + settings.push_heartbeat_seconds
                if now >= next_check:
                    next_check = now + settings.push_session_check_seconds
                    try:
                        current = await store.lookup(token, touch=False)
                    except RedisError:
                        current = session  # keep the socket while Redis is away
                    if current is None:
                        connection.close(CLOSE_UNAUTHORISED, "the session has ended")
                        return
                    connection.role = current.role
                wait = min(next_check, next_ping) - time.monotonic()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(connection.closing.wait(), max(0.05, wait))

        tasks = [
            asyncio.create_task(reader()),
            asyncio.create_task(writer()),
            asyncio.create_task(heartbeat()),
            asyncio.create_task(connection.closing.wait()),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                error = task.exception()
                if error is not None and not isinstance(error, WebSocketDisconnect):
                    log.info("push_socket_error", error=type(error).__name__)
        finally:
            hub.remove(connection)
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(BaseException):
                    await task
            if connection.closing.is_set():
                with contextlib.suppress(Exception):
                    await websocket.close(connection.close_code, connection.close_reason)
            log.info("push_socket_closed", agent_id=session.agent_id, code=connection.close_code)

    return router
