"""Local fakes of the Telegram Bot API, the Viber REST API and the VK API.

Each is a real HTTP server (FastAPI under uvicorn, in a thread, on a free port) that
answers in the provider's documented shapes — errors and rate limits included — and
records every call. The production clients reach them through their configured base
URLs (python-telegram-bot ``base_url``, Viber's base URL, vk_api's rebased session).
``fail_next`` queues a canned error answer for a method.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from devstack.processes import free_port


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


class FakeServer:
    """A FastAPI app in a uvicorn thread, with a call log and queued failures."""

    def __init__(self) -> None:
        self.port = free_port()
        self.app = FastAPI()
        self.calls: list[Call] = []
        self.cdn: dict[str, bytes] = {}
        self._failures: dict[str, list[tuple[int, Any]]] = {}
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.ids = itertools.count(1000)

        @self.app.get("/cdn/{name}")
        async def cdn(name: str) -> Response:
            if name not in self.cdn:
                return Response(status_code=404)
            return Response(self.cdn[name], media_type="application/octet-stream")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail_next(self, method: str, status: int, body: Any) -> None:
        with self._lock:
            self._failures.setdefault(method, []).append((status, body))

    def take_failure(self, method: str) -> tuple[int, Any] | None:
        with self._lock:
            queued = self._failures.get(method)
            return queued.pop(0) if queued else None

    def record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def calls_of(self, method: str, **match: Any) -> list[Call]:
        with self._lock:
            return [
                c
                for c in self.calls
                if c.method == method
                and all(str(c.params.get(k)) == str(v) for k, v in match.items())
            ]

    def start(self) -> None:
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", timeout_keep_alive=75
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{type(self).__name__} did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)


async def _form(request: Request) -> tuple[dict[str, Any], dict[str, bytes]]:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        body = await request.body()
        return (json.loads(body) if body else {}), {}
    form = await request.form()
    params: dict[str, Any] = {}
    files: dict[str, bytes] = {}
    for key, value in form.multi_items():
        if hasattr(value, "read"):
            files[key] = await value.read()
        elif key in params:  # a repeated field (Twilio's MediaUrl): all values, in order
            previous = params[key]
            params[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            params[key] = value
    return params, files


class FakeTelegram(FakeServer):
    """``/bot<token>/<method>`` (form or multipart) and ``/file/bot<token>/<path>``."""

    def __init__(self) -> None:
        super().__init__()
        self.tokens: set[str] = set()
        self.blocked_chats: set[str] = set()  # 403: bot was blocked by the user
        self.files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, bytes)

        @self.app.post("/bot{token}/{method}")
        async def api(token: str, method: str, request: Request) -> JSONResponse:
            params, files = await _form(request)
            self.record(Call(method, params, files))
            if token not in self.tokens:
                return _tg_error(401, "Unauthorized")
            failure = self.take_failure(method)
            if failure is not None:
                return JSONResponse(failure[1], status_code=failure[0])
            return self._answer(method, params)

        @self.app.get("/file/bot{token}/{path:path}")
        async def file(token: str, path: str) -> Response:
            for file_path, data in self.files.values():
                if token in self.tokens and file_path == path:
                    return Response(data, media_type="application/octet-stream")
            return Response(status_code=404)

    def _answer(self, method: str, params: dict[str, Any]) -> JSONResponse:
        if method == "getMe":
            return _tg_ok({"id": 1, "is_bot": True, "first_name": "Fake", "username": "fake_bot"})
        if method in ("setWebhook", "deleteWebhook"):
            return _tg_ok(True)
        if method == "getFile":
            found = self.files.get(str(params.get("file_id")))
            if found is None:
                return _tg_error(400, "Bad Request: invalid file_id")
            return _tg_ok(
                {
                    "file_id": params["file_id"],
                    "file_unique_id": f"u{params['file_id']}",
                    "file_size": len(found[1]),
                    "file_path": found[0],
                }
            )
        if method in ("sendMessage", "sendPhoto", "sendDocument"):
            chat_id = str(params.get("chat_id"))
            if chat_id in self.blocked_chats:
                return _tg_error(403, "Forbidden: bot was blocked by the user")
            if not chat_id.lstrip("-").isdigit():
                return _tg_error(400, "Bad Request: chat not found")
            message: dict[str, Any] = {
                "message_id": next(self.ids),
                "date": int(time.time()),
                "chat": {"id": int(chat_id), "type": "private"},
            }
            if method == "sendMessage":
                message["text"] = params.get("text", "")
            return _tg_ok(message)
        return _tg_error(404, "Not Found")


def _tg_ok(result: Any) -> JSONResponse:
    return JSONResponse({"ok": True, "result": result})


def _tg_error(code: int, description: str, **parameters: Any) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return JSONResponse(body, status_code=code)


def telegram_flood(retry_after: int = 1) -> tuple[int, Any]:
    return 429, {
        "ok": False,
        "error_code": 429,
        "description": f"Too Many Requests: retry after {retry_after}",
        "parameters": {"retry_after": retry_after},
    }


class FakeViber(FakeServer):
    """``POST /pa/<method>`` with ``X-Viber-Auth-Token``; set_webhook calls the URL back."""

    def __init__(self) -> None:
        super().__init__()
        self.tokens: set[str] = set()
        self.unsubscribed: set[str] = set()

        @self.app.post("/pa/{method}")
        async def api(method: str, request: Request) -> JSONResponse:
            params, _ = await _form(request)
            token = request.headers.get("x-viber-auth-token", "")
            self.record(Call(method, params, headers={"x-viber-auth-token": token}))
            if token not in self.tokens:
                return JSONResponse({"status": 2, "status_message": "invalidAuthToken"})
            failure = self.take_failure(method)
            if failure is not None:
                return JSONResponse(failure[1], status_code=failure[0])
            if method == "set_webhook":
                return await self._set_webhook(token, params)
            if method == "get_account_info":
                return JSONResponse(
                    {"status": 0, "status_message": "ok", "id": "pa:fake", "name": "Fake Viber"}
                )
            if method == "send_message":
                if str(params.get("receiver")) in self.unsubscribed:
                    return JSONResponse({"status": 6, "status_message": "notSubscribed"})
                return JSONResponse(
                    {
                        "status": 0,
                        "status_message": "ok",
                        "message_token": 5_000_000_000_000_000_000 + next(self.ids),
                        "chat_hostname": "SN-FAKE_",
                        "billing_status": 0,
                    }
                )
            return JSONResponse({"status": 3, "status_message": "badData"})

    async def _set_webhook(self, token: str, params: dict[str, Any]) -> JSONResponse:
        from msgr_payloads import viber_signed

        body, headers = viber_signed(
            {"event": "webhook", "timestamp": int(time.time() * 1000), "message_token": 1}, token
        )
        async with httpx.AsyncClient(timeout=10) as client:
            answer = await client.post(str(params["url"]), content=body, headers=headers)
        if answer.status_code != 200:
            return JSONResponse({"status": 1, "status_message": "invalidUrl"})
        return JSONResponse(
            {"status": 0, "status_message": "ok", "event_types": params.get("event_types", [])}
        )


class FakeVk(FakeServer):
    """``POST /method/<name>`` (form), uploads at ``/upload/<kind>``; random_id dedupe."""

    def __init__(self) -> None:
        super().__init__()
        self.tokens: set[str] = set()
        self.denied_peers: set[str] = set()  # 901: messages not allowed
        self.delivered: dict[tuple[str, str], int] = {}  # (peer_id, random_id) -> message id

        @self.app.post("/method/{method}")
        async def api(method: str, request: Request) -> JSONResponse:
            params, _ = await _form(request)
            self.record(Call(method, params))
            if params.get("access_token") not in self.tokens:
                return _vk_error(5, "User authorization failed: invalid access_token")
            failure = self.take_failure(method)
            if failure is not None:
                return JSONResponse(failure[1], status_code=failure[0])
            return self._answer(method, params)

        @self.app.post("/upload/{kind}")
        async def upload(kind: str, request: Request) -> JSONResponse:
            _, files = await _form(request)
            self.record(Call(f"upload.{kind}", {}, files))
            if kind == "photo":
                return JSONResponse({"server": 1, "photo": '[{"photo":"x"}]', "hash": "h"})
            return JSONResponse({"file": "uploaded-doc"})

    def _answer(self, method: str, params: dict[str, Any]) -> JSONResponse:
        if method == "messages.send":
            peer = str(params.get("peer_id"))
            if peer in self.denied_peers:
                return _vk_error(901, "Can't send messages for users without permission")
            if not params.get("random_id"):
                return _vk_error(100, "One of the parameters specified was missing or invalid")
            key = (peer, str(params["random_id"]))
            if key not in self.delivered:
                self.delivered[key] = next(self.ids)
            return JSONResponse({"response": self.delivered[key]})
        if method == "groups.getById":
            return JSONResponse({"response": {"groups": [{"id": 77, "name": "Fake VK group"}]}})
        if method == "photos.getMessagesUploadServer":
            return JSONResponse({"response": {"upload_url": f"{self.base_url}/upload/photo"}})
        if method == "photos.saveMessagesPhoto":
            return JSONResponse({"response": [{"id": next(self.ids), "owner_id": -77}]})
        if method == "docs.getMessagesUploadServer":
            return JSONResponse({"response": {"upload_url": f"{self.base_url}/upload/doc"}})
        if method == "docs.save":
            return JSONResponse(
                {"response": {"type": "doc", "doc": {"id": next(self.ids), "owner_id": -77}}}
            )
        return _vk_error(3, "Unknown method passed")


def _vk_error(code: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"error_code": code, "error_msg": message}})


def vk_error(code: int, message: str) -> tuple[int, Any]:
    return 200, {"error": {"error_code": code, "error_msg": message}}
