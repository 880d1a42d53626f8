"""Local fakes of Twilio Messaging, SMSC.ru, SMS.ru and SMSAero (HTTP, in a thread).

Each answers in the provider's documented shapes, errors included, and records every
call (``calls_of``). Behaviour switches: ``invalid_numbers`` (refused as an invalid
number), ``no_funds`` (refused for money), ``unapproved_senders`` (SMS.ru/SMSAero: sender
not approved), ``statuses`` (provider id -> delivery status the status call reports).
Test credentials only.
"""

from __future__ import annotations

import base64
import secrets
import time
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from helpdesk_common.sms_providers.segments import segment_count

from .fake_providers import Call, FakeServer, _form


def _basic(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    return user, password


def _digits_ok(number: str) -> bool:
    bare = number.lstrip("+")
    return bare.isdigit() and 10 <= len(bare) <= 15


class FakeTwilio(FakeServer):
    """``/2010-04-01/Accounts/<sid>/Messages.json`` (form, Basic auth), message fetch,
    ``Balance.json``, and MMS media at ``/media/<name>`` (Basic auth)."""

    def __init__(self) -> None:
        super().__init__()
        self.credentials: dict[str, str] = {}  # account sid -> auth token
        self.invalid_numbers: set[str] = set()
        self.no_funds = False
        self.media: dict[str, tuple[str, bytes]] = {}
        self.statuses: dict[str, str] = {}
        self.retry_after = "1"  # the Retry-After header of a queued 429 answer (seconds)
        base = "/2010-04-01/Accounts/{sid}"

        @self.app.post(base + "/Messages.json")
        async def create(sid: str, request: Request) -> JSONResponse:
            params, _ = await _form(request)
            self.record(Call("messages.create", params, headers={"account": sid}))
            if not self._authorised(request, sid):
                return _twilio_error(401, 20003, "Authenticate")
            failure = self.take_failure("messages.create")
            if failure is not None:
                retry = {"Retry-After": self.retry_after} if failure[0] == 429 else None
                return JSONResponse(failure[1], status_code=failure[0], headers=retry)
            to = str(params.get("To", ""))
            if to in self.invalid_numbers or not _digits_ok(to):
                return _twilio_error(
                    400, 21211, f"The 'To' number {to} is not a valid phone number."
                )
            if self.no_funds:
                return _twilio_error(400, 21606, "Account balance is insufficient")
            message_sid = "SM" + secrets.token_hex(16)
            self.statuses[message_sid] = "queued"
            return JSONResponse(self._message(sid, message_sid, params), status_code=201)

        @self.app.get(base + "/Messages/{message_sid}.json")
        async def fetch(sid: str, message_sid: str, request: Request) -> JSONResponse:
            self.record(Call("messages.fetch", {"sid": message_sid}))
            if not self._authorised(request, sid):
                return _twilio_error(401, 20003, "Authenticate")
            if message_sid not in self.statuses:
                return _twilio_error(404, 20404, "The requested resource was not found")
            return JSONResponse(
                {"sid": message_sid, "account_sid": sid, "status": self.statuses[message_sid]}
            )

        @self.app.get(base + "/Balance.json")
        async def balance(sid: str, request: Request) -> JSONResponse:
            self.record(Call("balance", {"account": sid}))
            if not self._authorised(request, sid):
                return _twilio_error(401, 20003, "Authenticate")
            return JSONResponse({"account_sid": sid, "balance": "42.17", "currency": "USD"})

        @self.app.get("/media/{name}")
        async def media(name: str, request: Request) -> Response:
            found = self.media.get(name)
            credentials = _basic(request)
            if credentials is None or self.credentials.get(credentials[0]) != credentials[1]:
                return Response(status_code=401)
            if found is None:
                return Response(status_code=404)
            return Response(found[1], media_type=found[0])

    def _authorised(self, request: Request, sid: str) -> bool:
        credentials = _basic(request)
        return (
            credentials is not None
            and credentials[0] == sid
            and (self.credentials.get(sid) == credentials[1])
        )

    @staticmethod
    def _message(sid: str, message_sid: str, params: dict[str, Any]) -> dict[str, Any]:
        body = str(params.get("Body", ""))
        return {
            "sid": message_sid,
            "account_sid": sid,
            "to": params.get("To"),
            "from": params.get("From"),
            "messaging_service_sid": params.get("MessagingServiceSid"),
            "body": body,
            "status": "queued",
            "num_segments": str(segment_count(body)),
            "num_media": "0",
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "date_created": time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()),
            "uri": f"/2010-04-01/Accounts/{sid}/Messages/{message_sid}.json",
        }


def _twilio_error(status: int, code: int, message: str) -> JSONResponse:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return JSONResponse(body, status_code=status)


class FakeSmsc(FakeServer):
    """``/sys/send.php``, ``/sys/status.php``, ``/sys/balance.php`` with ``fmt=3``."""

    def __init__(self) -> None:
        super().__init__()
        self.credentials: dict[str, str] = {}  # login -> password
        self.invalid_numbers: set[str] = set()
        self.no_funds = False
        self.statuses: dict[str, int] = {}  # id -> status code (default 1: delivered)

        @self.app.api_route("/sys/{method}.php", methods=["GET", "POST"])
        async def api(method: str, request: Request) -> JSONResponse:
            params, _ = await _form(request)
            params = {**dict(request.query_params), **params}
            self.record(Call(method, params))
            if self.credentials.get(str(params.get("login"))) != params.get("psw"):
                return JSONResponse({"error": "authorise error", "error_code": 2})
            failure = self.take_failure(method)
            if failure is not None:
                return JSONResponse(failure[1], status_code=failure[0])
            if method == "send":
                return self._send(params)
            if method == "status":
                code = self.statuses.get(str(params.get("id")), 1)
                return JSONResponse({"status": code, "last_date": "01.01.2026 10:00:00", "err": 0})
            if method == "balance":
                return JSONResponse({"balance": "1234.50", "currency": "RUR"})
            return JSONResponse({"error": "parameters error", "error_code": 1})

    def _send(self, params: dict[str, Any]) -> JSONResponse:
        phone = str(params.get("phones", ""))
        if phone in self.invalid_numbers or not _digits_ok(phone):
            return JSONResponse({"error": "invalid number", "error_code": 7})
        if self.no_funds:
            return JSONResponse({"error": "no money", "error_code": 3})
        return JSONResponse({"id": next(self.ids), "cnt": segment_count(str(params.get("mes")))})


class FakeSmsRu(FakeServer):
    """``/sms/send``, ``/sms/status``, ``/my/balance`` with ``json=1``."""

    def __init__(self) -> None:
        super().__init__()
        self.api_ids: set[str] = set()
        self.invalid_numbers: set[str] = set()
        self.no_funds = False
        self.unapproved_senders: set[str] = set()
        self.statuses: dict[str, int] = {}

        @self.app.api_route("/{section}/{method}", methods=["GET", "POST"])
        async def api(section: str, method: str, request: Request) -> JSONResponse:
            params, _ = await _form(request)
            params = {**dict(request.query_params), **params}
            name = f"{section}/{method}"
            self.record(Call(name, params))
            if params.get("api_id") not in self.api_ids:
                return _smsru_error(200, "Неправильный api_id")
            failure = self.take_failure(name)
            if failure is not None:
                return JSONResponse(failure[1], status_code=failure[0])
            if name == "sms/send":
                return self._send(params)
            if name == "sms/status":
                sms_id = str(params.get("sms_id"))
                code = self.statuses.get(sms_id, 103)
                found = {"status": "OK", "status_code": code, "status_text": f"code {code}"}
                return JSONResponse({"status": "OK", "status_code": 100, "sms": {sms_id: found}})
            if name == "my/balance":
                return JSONResponse({"status": "OK", "status_code": 100, "balance": 4122.56})
            return _smsru_error(300, "Неправильный запрос")

    def _send(self, params: dict[str, Any]) -> JSONResponse:
        if self.no_funds:
            return _smsru_error(201, "Не хватает средств на лицевом счету")  # noqa: RUF001
        number = str(params.get("to", ""))
        if number in self.invalid_numbers or not _digits_ok(number):
            result: dict[str, Any] = {
                "status": "ERROR",
                "status_code": 202,
                "status_text": "Неправильно указан номер телефона получателя",
            }
        elif params.get("from") in self.unapproved_senders:
            result = {
                "status": "ERROR",
                "status_code": 204,
                "status_text": "Имя отправителя не согласовано",
            }
        else:
            result = {"status": "OK", "status_code": 100, "sms_id": f"000000-{next(self.ids)}"}
        return JSONResponse(
            {"status": "OK", "status_code": 100, "sms": {number: result}, "balance": 4122.56}
        )


def _smsru_error(code: int, text: str) -> JSONResponse:
    return JSONResponse({"status": "ERROR", "status_code": code, "status_text": text})


class FakeSmsAero(FakeServer):
    """``POST /v2/<selector>`` (JSON, Basic ``email:api_key``): sms/send, sms/status, balance."""

    def __init__(self) -> None:
        super().__init__()
        self.credentials: dict[str, str] = {}  # email -> api key
        self.invalid_numbers: set[str] = set()
        self.no_funds = False
        self.statuses: dict[str, int] = {}  # id -> status (default 1: delivered)

        @self.app.post("/v2/{selector:path}")
        async def api(selector: str, request: Request) -> JSONResponse:
            params, _ = await _form(request)
            self.record(Call(selector, params))
            credentials = _basic(request)
            if credentials is None or self.credentials.get(credentials[0]) != credentials[1]:
                return JSONResponse(
                    {
                        "success": False,
                        "message": "Your request was made with invalid credentials.",
                    },
                    status_code=401,
                )
            failure = self.take_failure(selector)
            if failure is not None:
                return JSONResponse(failure[1], status_code=failure[0])
            if selector == "sms/send":
                return self._send(params)
            if selector == "sms/status":
                code = self.statuses.get(str(params.get("id")), 1)
                data = {"id": params.get("id"), "status": code, "extendStatus": f"status {code}"}
                return JSONResponse({"success": True, "data": data, "message": None})
            if selector == "balance":
                return JSONResponse({"success": True, "data": {"balance": 337.03}, "message": None})
            return JSONResponse({"success": False, "data": None, "message": "Unknown selector"})

    def _send(self, params: dict[str, Any]) -> JSONResponse:
        number = str(params.get("number", ""))
        if number in self.invalid_numbers or not _digits_ok(number):
            return JSONResponse({"success": False, "data": None, "message": "Invalid number"})
        if self.no_funds:
            return JSONResponse({"success": False, "data": None, "message": "Not enough money"})
        data = {"id": next(self.ids), "number": number, "text": params.get("text"), "status": 8}
        return JSONResponse({"success": True, "data": data, "message": None})
