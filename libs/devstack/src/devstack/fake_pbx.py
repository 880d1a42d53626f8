"""A local fake of a Simple Calls ("Prostye Zvonki") server: a WebSocket server in a thread.

Clients connect to ``ws://127.0.0.1:<port>/?CID=<base64(password)>&CT=..&GID=<ext>&...``;
a wrong CID is closed with 4008 (auth error). Over ``ws://`` every frame is base64 of an
XML document (the fake adds the trailing NUL real servers send). ``push_event`` sends an
``<Event .../>`` to every connected client, ``requests`` keeps what clients sent
(``Call`` requests), ``drop_all`` closes every connection as a restarting server would.
"""

from __future__ import annotations

import asyncio
import base64
import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import quoteattr

from websockets.asyncio.server import Server, ServerConnection, serve

from .processes import free_port


def encode_frame(xml: str) -> str:
    return base64.b64encode((xml + "\0").encode("utf-8")).decode("ascii")


def decode_frame(frame: str | bytes) -> str:
    raw = frame.encode() if isinstance(frame, str) else frame
    return base64.b64decode(raw).decode("utf-8").rstrip("\0")


def event_xml(attrs: dict[str, Any]) -> str:
    return "<Event " + " ".join(f"{k}={quoteattr(str(v))}" for k, v in attrs.items()) + "/>"


class FakeSimpleCalls:
    def __init__(self, password: str) -> None:
        self.password = password
        self.port = free_port()
        self.connections: list[dict[str, str]] = []  # query of every accepted connection
        self.refused = 0
        self.requests: list[str] = []
        self._clients: set[ServerConnection] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def _handle(self, ws: ServerConnection) -> None:
        path = ws.request.path if ws.request is not None else "/"
        query = {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}
        expected = base64.b64encode(self.password.encode()).decode()
        if query.get("CID") != expected:
            with self._lock:
                self.refused += 1
            await ws.close(4008, "auth error")
            return
        with self._lock:
            self.connections.append(query)
            self._clients.add(ws)
        try:
            async for frame in ws:
                with self._lock:
                    self.requests.append(decode_frame(frame))
        finally:
            with self._lock:
                self._clients.discard(ws)

    def start(self) -> None:
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop

            async def main() -> None:
                # No server keepalive pings: websockets draws each ping's payload from the
                # global ``random`` in this thread, which races with Hypothesis generating
                # examples in the test thread ("Do not use the `random` module inside
                # strategies"). Clients still ping us (the service does, every 20 s) and get
                # pongs; a dropped client is seen when its socket closes.
                self._server = await serve(self._handle, "127.0.0.1", self.port, ping_interval=None)
                ready.set()
                await self._server.serve_forever()

            try:
                loop.run_until_complete(main())
            except asyncio.CancelledError:
                pass
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise TimeoutError("FakeSimpleCalls did not start")

    def _run(self, coro: Any, timeout: float = 10.0) -> Any:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    @property
    def clients(self) -> int:
        with self._lock:
            return len(self._clients)

    def wait_clients(self, count: int = 1, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while self.clients < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{count} Simple Calls client(s) not connected")
            time.sleep(0.05)

    def push_event(self, **attrs: Any) -> int:
        """Send ``<Event k="v" .../>`` to every client; returns how many got it."""
        frame = encode_frame(event_xml(attrs))

        async def send() -> int:
            with self._lock:
                clients = list(self._clients)
            for ws in clients:
                await ws.send(frame)
            return len(clients)

        sent: int = self._run(send())
        return sent

    def drop_all(self) -> None:
        async def close() -> None:
            with self._lock:
                clients = list(self._clients)
            for ws in clients:
                await ws.close(1012, "service restart")

        self._run(close())

    def stop(self) -> None:
        if self._server is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(self._server.close)
        if self._thread is not None:
            self._thread.join(10)
